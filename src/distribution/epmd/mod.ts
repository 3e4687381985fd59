/**
 * The port mapper: maps node names to distribution ports over Erlang's EPMD
 * wire protocol (ALIVE2, PORT_PLEASE2, NAMES, plus DUMP, KILL and STOP), so
 * Weft nodes and Erlang nodes can share one port mapper, Weft's or `epmd`.
 *
 * - {@linkcode startEpmdServer}: a port mapper server.
 * - {@linkcode registerNode}, {@linkcode lookupNode}, {@linkcode listNames},
 *   {@linkcode killEpmd}: the client side.
 * - {@linkcode ensureEpmd}: start a detached daemon when none answers;
 *   {@linkcode runEpmdCommand}: the body of `weft epmd [--daemon]`.
 *
 * @example
 * ```ts
 * import { listNames, registerNode, startEpmdServer } from "./mod.ts";
 * const server = startEpmdServer({ hostname: "127.0.0.1", port: 0 });
 * const reg = await registerNode({ epmdPort: server.port, name: "a", port: 5000 });
 * console.assert((await listNames({ epmdPort: server.port }))[0]?.name === "a");
 * await reg.close();
 * await server.close();
 * ```
 *
 * @module
 */

export {
  ALIVE2_REQ,
  ALIVE2_RESP,
  ALIVE2_X_RESP,
  DUMP_REQ,
  EPMD_DEFAULT_PORT,
  type EpmdFoundEntry,
  type EpmdName,
  type EpmdNodeEntry,
  type EpmdRegistration,
  isWeftEntry,
  KILL_REQ,
  NAMES_REQ,
  NODE_TYPE_HIDDEN,
  NODE_TYPE_NORMAL,
  PORT2_RESP,
  PORT_PLEASE2_REQ,
  PROTOCOL_TCP,
  STOP_REQ,
  WEFT_DIST_VERSION,
  WEFT_EXTRA_MARKER,
  weftEntry,
  type WeftEntryOptions,
  weftExtra,
} from "./types.ts";
export { EpmdRegistrationError, EpmdUnavailableError } from "./errors.ts";
export { type EpmdServer, type EpmdServerOptions, startEpmdServer } from "./server.ts";
export {
  type EpmdClientOptions,
  killEpmd,
  listNames,
  lookupNode,
  type LookupNodeOptions,
  type NodeRegistration,
  registerNode,
  type RegisterNodeOptions,
} from "./client.ts";
export {
  ensureEpmd,
  type EnsureEpmdOptions,
  type EpmdDaemonCommand,
  epmdDaemonCommand,
  type EpmdDaemonCommandOptions,
  runEpmdCommand,
  type RunEpmdCommandOptions,
} from "./daemon.ts";
