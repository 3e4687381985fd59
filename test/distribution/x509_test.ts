import assert from "node:assert/strict";
import {
  checkIssuedBy,
  keyMatchesCert,
  signWithKey,
  verifyWithCert,
} from "../../src/distribution/x509.ts";
import { makePki } from "../helpers/pki.ts";

const pki = await makePki();

Deno.test("checkIssuedBy() accepts a certificate the CA issued, EC or RSA", () => {
  assert.equal(checkIssuedBy(pki.cert, pki.ca), "CN=node");
  assert.equal(checkIssuedBy(pki.rsaCert, pki.rsaCa), "CN=rsa-node");
});

Deno.test("checkIssuedBy() refuses another issuer, a forged issuer name, and an expired certificate", () => {
  assert.throws(() => checkIssuedBy(pki.otherCert, pki.ca), /issuer is "CN=other-ca"/);
  assert.throws(() => checkIssuedBy(pki.forgedCert, pki.ca), /bad signature/);
  assert.throws(
    () => checkIssuedBy(pki.cert, pki.ca, new Date(Date.now() + 10 * 86_400_000)),
    /not valid now/,
  );
  assert.throws(() => checkIssuedBy("garbage", pki.ca), TypeError);
});

Deno.test("signWithKey() and verifyWithCert() prove possession of a certificate's key", () => {
  const data = crypto.getRandomValues(new Uint8Array(40));
  const sig = signWithKey(pki.key, data);
  assert.ok(verifyWithCert(pki.cert, data, sig));
  assert.ok(!verifyWithCert(pki.otherCert, data, sig));
  assert.ok(!verifyWithCert(pki.cert, data.map((b) => b ^ 1), sig));
});

Deno.test("keyMatchesCert() tells a certificate's own key from another", () => {
  assert.ok(keyMatchesCert(pki.key, pki.cert));
  assert.ok(!keyMatchesCert(pki.otherKey, pki.cert));
  assert.ok(!keyMatchesCert("nonsense", pki.cert));
});
