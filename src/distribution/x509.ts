/**
 * Just enough X.509 to check a client certificate where Deno's TLS server
 * cannot: that a certificate was issued by the cluster CA (its signature,
 * issuer and validity) and that the peer holds its private key (a signature
 * over a fresh nonce). Used by the TLS transport's client authentication.
 *
 * Parsing is minimal DER: the three parts of `Certificate` (RFC 5280 4.1),
 * the signature algorithm's OID, and the signature bits. Everything else
 * (subject, issuer, validity, public key) comes from `node:crypto`'s
 * `X509Certificate`, which Deno implements apart from `verify`.
 *
 * Supported signature algorithms: ECDSA and RSA PKCS #1 v1.5 with SHA-256,
 * SHA-384 or SHA-512, and Ed25519. Certificates must be issued by the CA
 * directly (no intermediates).
 *
 * @example
 * ```ts ignore
 * import { checkIssuedBy } from "./x509.ts";
 * checkIssuedBy(clientPem, caPem); // throws a TypeError saying why when it is not
 * ```
 *
 * @module
 */

import { createPrivateKey, createPublicKey, sign, verify, X509Certificate } from "node:crypto";

const SIGNATURE_HASH: Record<string, string | null> = {
  "1.2.840.10045.4.3.2": "sha256", // ecdsa-with-SHA256
  "1.2.840.10045.4.3.3": "sha384",
  "1.2.840.10045.4.3.4": "sha512",
  "1.2.840.113549.1.1.11": "sha256", // sha256WithRSAEncryption
  "1.2.840.113549.1.1.12": "sha384",
  "1.2.840.113549.1.1.13": "sha512",
  "1.3.101.112": null, // Ed25519
};

interface Der {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the content. */
  body: number;
  /** Offset just past the content. */
  end: number;
}

function readDer(bytes: Uint8Array, at: number, limit: number): Der {
  if (at + 2 > limit) throw new TypeError("Invalid certificate: truncated DER");
  const tag = bytes[at]!;
  let len = bytes[at + 1]!;
  let body = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || body + n > limit) {
      throw new TypeError("Invalid certificate: bad DER length");
    }
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + bytes[body + i]!;
    body += n;
  }
  if (body + len > limit) throw new TypeError("Invalid certificate: DER past its end");
  return { tag, start: at, body, end: body + len };
}

function oid(bytes: Uint8Array): string {
  if (bytes.length === 0) throw new TypeError("Invalid certificate: empty OID");
  const parts = [Math.floor(bytes[0]! / 40), bytes[0]! % 40];
  let v = 0;
  for (let i = 1; i < bytes.length; i++) {
    v = v * 128 + (bytes[i]! & 0x7f);
    if (!(bytes[i]! & 0x80)) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join(".");
}

/** The first certificate of a PEM text, as DER. */
function pemToDer(pem: string): Uint8Array {
  const m = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(pem);
  if (!m) throw new TypeError("Invalid certificate: no PEM certificate found");
  const b64 = m[1]!.replace(/\s+/g, "");
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

/** The parts of a certificate needed to check its signature. */
interface CertParts {
  tbs: Uint8Array;
  algorithm: string;
  signature: Uint8Array;
}

function splitCertificate(der: Uint8Array): CertParts {
  const cert = readDer(der, 0, der.length);
  if (cert.tag !== 0x30) throw new TypeError("Invalid certificate: not a SEQUENCE");
  const tbs = readDer(der, cert.body, cert.end);
  const alg = readDer(der, tbs.end, cert.end);
  const sig = readDer(der, alg.end, cert.end);
  if (tbs.tag !== 0x30 || alg.tag !== 0x30 || sig.tag !== 0x03) {
    throw new TypeError("Invalid certificate: unexpected structure");
  }
  const algOid = readDer(der, alg.body, alg.end);
  if (algOid.tag !== 0x06) throw new TypeError("Invalid certificate: no signature algorithm");
  if (der[sig.body] !== 0) throw new TypeError("Invalid certificate: signature has unused bits");
  return {
    tbs: der.subarray(tbs.start, tbs.end),
    algorithm: oid(der.subarray(algOid.body, algOid.end)),
    signature: der.subarray(sig.body + 1, sig.end),
  };
}

/**
 * Checks that the first certificate in `pem` was issued by the CA in
 * `caPem` and is valid now.
 *
 * @param pem the certificate (chain) presented by a peer
 * @param caPem the trusted CA certificate
 * @param now the time to check validity at
 * @returns the certificate's subject
 * @throws {TypeError} saying what is wrong: unparsable, another issuer, a bad
 *   signature, an unsupported algorithm, not yet or no longer valid
 *
 * @example
 * ```ts ignore
 * import { checkIssuedBy } from "./x509.ts";
 * const subject = checkIssuedBy(peerPem, caPem);
 * ```
 */
export function checkIssuedBy(pem: string, caPem: string, now: Date = new Date()): string {
  let cert: X509Certificate;
  let ca: X509Certificate;
  try {
    cert = new X509Certificate(pem);
    ca = new X509Certificate(caPem);
  } catch (e) {
    throw new TypeError(`Invalid certificate: ${e instanceof Error ? e.message : e}`);
  }
  if (cert.issuer !== ca.subject) {
    throw new TypeError(`Certificate not issued by the CA: issuer is "${cert.issuer}"`);
  }
  const parts = splitCertificate(pemToDer(pem));
  if (!(parts.algorithm in SIGNATURE_HASH)) {
    throw new TypeError(`Certificate signature algorithm not supported: ${parts.algorithm}`);
  }
  let ok = false;
  try {
    ok = verify(SIGNATURE_HASH[parts.algorithm]!, parts.tbs, ca.publicKey, parts.signature);
  } catch {
    ok = false;
  }
  if (!ok) throw new TypeError("Certificate not issued by the CA: bad signature");
  if (now < new Date(cert.validFrom) || now > new Date(cert.validTo)) {
    throw new TypeError(
      `Certificate not valid now: valid from ${cert.validFrom} to ${cert.validTo}`,
    );
  }
  return cert.subject;
}

/**
 * Signs `data` with a PEM private key (SHA-256, or Ed25519's own hash).
 *
 * @param keyPem the private key
 * @param data what to sign
 * @returns the signature
 * @throws {TypeError} when the key cannot be read
 *
 * @example
 * ```ts ignore
 * import { signWithKey } from "./x509.ts";
 * const sig = signWithKey(keyPem, new Uint8Array([1, 2, 3]));
 * ```
 */
export function signWithKey(keyPem: string, data: Uint8Array): Uint8Array {
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch (e) {
    throw new TypeError(`Invalid private key: ${e instanceof Error ? e.message : e}`);
  }
  const hash = key.asymmetricKeyType === "ed25519" ? null : "sha256";
  return new Uint8Array(sign(hash, data, key));
}

/**
 * Checks a signature made by {@linkcode signWithKey} against the public
 * key of the first certificate in `pem`.
 *
 * @param pem the signer's certificate
 * @param data what was signed
 * @param signature the signature
 * @returns whether it is valid
 *
 * @example
 * ```ts ignore
 * import { signWithKey, verifyWithCert } from "./x509.ts";
 * console.assert(verifyWithCert(certPem, data, signWithKey(keyPem, data)));
 * ```
 */
export function verifyWithCert(pem: string, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    const key = new X509Certificate(pem).publicKey;
    const hash = key.asymmetricKeyType === "ed25519" ? null : "sha256";
    return verify(hash, data, key, signature);
  } catch {
    return false;
  }
}

/**
 * Whether `keyPem` is the private key of the first certificate in `certPem`.
 *
 * @param keyPem a PEM private key
 * @param certPem a PEM certificate
 * @returns `false` also when either cannot be read
 *
 * @example
 * ```ts ignore
 * import { keyMatchesCert } from "./x509.ts";
 * console.assert(keyMatchesCert(keyPem, certPem));
 * ```
 */
export function keyMatchesCert(keyPem: string, certPem: string): boolean {
  try {
    const fromKey = createPublicKey(createPrivateKey(keyPem)).export({
      format: "der",
      type: "spki",
    });
    const fromCert = new X509Certificate(certPem).publicKey.export({ format: "der", type: "spki" });
    return fromKey.length === fromCert.length && fromKey.every((b, i) => b === fromCert[i]);
  } catch {
    return false;
  }
}
