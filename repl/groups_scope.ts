/**
 * The shell's cluster-wide names, groups and topics: `global`, `pg`,
 * `pubsub` and `presence`. Each acts for the node of the process running
 * the code, so they work at the prompt, in spawned processes, in `--eval`,
 * `--script` and remote shells alike. (Deno defines a global `global`;
 * the shell's binding shadows it, as Erlang users expect.)
 *
 * @example
 * ```ts
 * import { GROUPS_PROVIDERS } from "./groups_scope.ts";
 * console.assert(GROUPS_PROVIDERS.some((p) => "global.register" in p.docs));
 * ```
 *
 * @module
 */

import { global, GLOBAL_SHELL_DOCS } from "../src/global/mod.ts";
import { pg, PG_SHELL_DOCS } from "../src/pg/mod.ts";
import { presence, PRESENCE_SHELL_DOCS, pubsub, PUBSUB_SHELL_DOCS } from "../src/pubsub/mod.ts";
import type { ScopeProvider } from "./scope.ts";

/** `global`, `pg`, `pubsub` and `presence`, each with its `h()` docs. */
export const GROUPS_PROVIDERS: readonly ScopeProvider[] = [
  {
    title: "global (names unique across the cluster)",
    docs: GLOBAL_SHELL_DOCS,
    names: () => ({ global }),
  },
  {
    title: "pg (process groups across nodes)",
    docs: PG_SHELL_DOCS,
    names: () => ({ pg }),
  },
  {
    title: "pubsub and presence (topics across nodes)",
    docs: { ...PUBSUB_SHELL_DOCS, ...PRESENCE_SHELL_DOCS },
    names: () => ({ pubsub, presence }),
  },
];
