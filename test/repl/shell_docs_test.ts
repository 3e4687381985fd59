/**
 * The shell's help cannot drift from what the shell has: every name `h()`
 * documents exists in the scope, and every function of every namespace the
 * scope has is documented (the tables live in repl/, one per namespace).
 */
import assert from "node:assert/strict";
import { Runtime } from "../../src/process/runtime.ts";
import { createShellScope, SHELL_PROVIDERS } from "../../repl/scope.ts";

function lookup(scope: Record<string, unknown>, name: string): unknown {
  return name.split(".").reduce<unknown>(
    (
      o,
      k,
    ) => (o !== null && (typeof o === "object" || typeof o === "function")
      ? (o as Record<string, unknown>)[k]
      : undefined),
    scope,
  );
}

Deno.test("every name h() documents is in the shell's scope, and every namespace function is documented", async () => {
  const runtime = new Runtime();
  try {
    const scope = createShellScope({ runtime });
    const documented = new Set(SHELL_PROVIDERS.flatMap((p) => Object.keys(p.docs)));
    const ghosts = [...documented].filter((name) => lookup(scope, name) === undefined);
    assert.deepEqual(ghosts, [], "documented but not in the shell");
    const undocumented: string[] = [];
    for (const provider of SHELL_PROVIDERS) {
      for (const [name, doc] of Object.entries(provider.docs)) {
        if (name.includes(".") || doc.signature.includes("(")) continue;
        const namespace = lookup(scope, name) as Record<string, unknown>;
        for (const member of Object.keys(namespace)) {
          if (typeof namespace[member] === "function" && !documented.has(`${name}.${member}`)) {
            undocumented.push(`${name}.${member}`);
          }
        }
      }
    }
    assert.deepEqual(undocumented, [], "in a namespace but not documented");
  } finally {
    await runtime.shutdown();
  }
});
