/**
 * Throwaway certificates for TLS tests, made with `openssl` in a temporary
 * directory: a cluster CA with a node certificate for 127.0.0.1, an
 * unrelated CA with its own node certificate, a forger's CA that copies the
 * cluster CA's name but not its key, and an RSA CA.
 *
 * @example
 * ```ts ignore
 * import { makePki } from "./pki.ts";
 * const pki = await makePki();
 * console.assert(pki.cert.includes("BEGIN CERTIFICATE"));
 * ```
 *
 * @module
 */

/** PEM texts of the throwaway certificates and keys. */
export interface Pki {
  /** The cluster CA. */
  ca: string;
  /** A node certificate the cluster CA issued, and its key. */
  cert: string;
  key: string;
  /** An unrelated CA, a node certificate it issued, and its key. */
  otherCa: string;
  otherCert: string;
  otherKey: string;
  /** A node certificate issued by a CA named like the cluster CA, with another key. */
  forgedCert: string;
  /** An RSA CA, and a node certificate it issued. */
  rsaCa: string;
  rsaCert: string;
}

/** Makes the certificates; needs `openssl` on PATH. */
export async function makePki(): Promise<Pki> {
  const dir = await Deno.makeTempDir({ prefix: "weft-pki-" });
  const run = async (...args: string[]) => {
    const out = await new Deno.Command("openssl", {
      args,
      cwd: dir,
      stdout: "null",
      stderr: "piped",
    })
      .output();
    if (!out.success) {
      throw new Error(`openssl ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
    }
  };
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
  const issue = (ca: string, caKey: string, name: string) =>
    run(
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      ca,
      "-CAkey",
      caKey,
      "-CAcreateserial",
      "-out",
      `${name}.crt`,
      "-days",
      "2",
      "-extfile",
      "node.ext",
    );
  try {
    await Deno.writeTextFile(
      `${dir}/node.ext`,
      "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n" +
        "extendedKeyUsage=serverAuth,clientAuth\n",
    );
    await run(
      "req",
      "-x509",
      ...ec,
      "-nodes",
      "-keyout",
      "ca.key",
      "-out",
      "ca.crt",
      "-days",
      "2",
      "-subj",
      "/CN=weft-test-ca",
    );
    await run(
      "req",
      "-x509",
      ...ec,
      "-nodes",
      "-keyout",
      "other.key",
      "-out",
      "other.crt",
      "-days",
      "2",
      "-subj",
      "/CN=other-ca",
    );
    await run(
      "req",
      "-x509",
      ...ec,
      "-nodes",
      "-keyout",
      "forger.key",
      "-out",
      "forger.crt",
      "-days",
      "2",
      "-subj",
      "/CN=weft-test-ca",
    );
    await run(
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "rsa.key",
      "-out",
      "rsa.crt",
      "-days",
      "2",
      "-subj",
      "/CN=rsa-ca",
    );
    for (const name of ["node", "other-node", "forged-node", "rsa-node"]) {
      await run(
        "req",
        ...ec,
        "-nodes",
        "-keyout",
        `${name}.key`,
        "-out",
        `${name}.csr`,
        "-subj",
        `/CN=${name}`,
      );
    }
    await issue("ca.crt", "ca.key", "node");
    await issue("other.crt", "other.key", "other-node");
    await issue("forger.crt", "forger.key", "forged-node");
    await issue("rsa.crt", "rsa.key", "rsa-node");
    const read = (f: string) => Deno.readTextFile(`${dir}/${f}`);
    return {
      ca: await read("ca.crt"),
      cert: await read("node.crt"),
      key: await read("node.key"),
      otherCa: await read("other.crt"),
      otherCert: await read("other-node.crt"),
      otherKey: await read("other-node.key"),
      forgedCert: await read("forged-node.crt"),
      rsaCa: await read("rsa.crt"),
      rsaCert: await read("rsa-node.crt"),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
