import assert from "node:assert/strict";
import { checkAllowPattern, RpcPolicy } from "../../src/rpc/policy.ts";

Deno.test("RpcPolicy allows everything and function source by default", () => {
  const policy = new RpcPolicy();
  assert.equal(policy.allow, undefined);
  assert.equal(policy.allows("any", "thing"), true);
  assert.equal(policy.remoteEval, true);
});

Deno.test("RpcPolicy.allows() matches module.function patterns with * wildcards", () => {
  const policy = new RpcPolicy({ allow: ["math.*", "node.uptime", "*.status", "kv"] });
  const yes = [["math", "add"], ["math", "x.y"], ["node", "uptime"], ["db", "status"], [
    "kv",
    "get",
  ]];
  const no = [["node", "memory"], ["mathx", "add"], ["node", "uptime2"], ["db", "statusx"], [
    "kvx",
    "get",
  ]];
  for (const [m, f] of yes) assert.equal(policy.allows(m!, f!), true, `${m}.${f}`);
  for (const [m, f] of no) assert.equal(policy.allows(m!, f!), false, `${m}.${f}`);
  // Asked twice (the decision is cached): the same answer.
  assert.equal(policy.allows("node", "memory"), false);
});

Deno.test("RpcPolicy with allow patterns runs no function source unless told to", () => {
  assert.equal(new RpcPolicy({ allow: ["math.*"] }).remoteEval, false);
  assert.equal(new RpcPolicy({ allow: ["math.*"], remoteEval: true }).remoteEval, true);
  assert.equal(new RpcPolicy({ remoteEval: false }).remoteEval, false);
  assert.equal(new RpcPolicy({ remoteEval: false }).allows("math", "add"), true);
});

Deno.test("checkAllowPattern() refuses malformed patterns", () => {
  for (const bad of ["", "a b", "a.b.c", ".x", "x.", "m(f)", 3]) {
    assert.throws(() => checkAllowPattern(bad), TypeError, String(bad));
  }
  assert.throws(() => new RpcPolicy({ allow: ["ok.*", "not ok"] }), /Invalid rpc allow pattern/);
  for (const good of ["*", "m", "m.*", "*.f", "my-mod.get_x", "a*b.c*"]) checkAllowPattern(good);
});
