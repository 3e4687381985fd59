/**
 * Erlang's distribution protocol, spoken by a Weft node beside its own so that it joins a real
 * BEAM cluster (OTP 25, Elixir 1.14): `net_adm:ping` answers `pong`, the node is in `nodes()`,
 * messages, links and monitors cross, and `rpc:call` works both ways. `startNode` attaches it to
 * the node kernel (`NetKernel.attachForeign`); the guide is `docs/erlang.md`.
 *
 * - `handshake.ts`: the version 6 handshake, both sides, with Erlang's MD5 cookie digest.
 * - `dist_message.ts`: the distribution header, its atom cache, fragments (pure).
 * - `connection.ts`: frames, ticks and batching of one connection.
 * - `erlang_dist.ts`: the table of BEAM peers, signals to control messages and back,
 *   `net_kernel` and `rex`.
 *
 * @example
 * ```ts
 * import { ErlangDistribution } from "./mod.ts";
 * console.assert(typeof ErlangDistribution === "function");
 * ```
 *
 * @module
 */

export {
  acceptHandshake,
  type AcceptOptions,
  type AcceptStatus,
  cookieDigest,
  dialHandshake,
  type ErlangPeerInfo,
  type HandshakeIo,
  type HandshakeSelf,
  ourFlags,
} from "./handshake.ts";
export {
  DistAtomCache,
  type DistMessage,
  DistMessageDecoder,
  encodeDistFrame,
  encodeDistMessage,
} from "./dist_message.ts";
export {
  ByteStream,
  ErlangConnection,
  type ErlangConnectionOptions,
  handshakeIo,
} from "./connection.ts";
export {
  ErlangDistribution,
  type ErlangDistributionOptions,
  type ErlangPgHost,
  type RexHandler,
} from "./erlang_dist.ts";
