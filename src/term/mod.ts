/**
 * Terms: what Weft sends between nodes, and how it is put on the wire.
 *
 * - {@linkcode Pid} and {@linkcode Ref}: process identifiers and unique
 *   references, printed `#PID<a@host.42.0>` and `#Reference<a@host.1.7>`.
 * - {@linkcode parseNodeName}, {@linkcode shortNodeName},
 *   {@linkcode longNodeName}, {@linkcode withoutPort}: `name@host` node names.
 * - {@linkcode encode} / {@linkcode decode}: the CBOR term codec.
 *
 * (How terms are framed on a connection is the distribution layer's
 * business: `src/distribution/frame_format.ts`.)
 *
 * @example
 * ```ts
 * import { decode, encode, Pid } from "./mod.ts";
 * const from = new Pid("a@host", 42, 0, 1);
 * const msg = decode(encode({ type: "ping", from })) as { type: string; from: Pid };
 * console.assert(msg.from.equals(from));
 * ```
 *
 * @module
 */

export { Pid, Ref } from "./pid.ts";
export {
  isAliveName,
  longNodeName,
  MAX_ALIVE_NAME,
  type NodeName,
  parseNodeName,
  shortNodeName,
  withoutPort,
} from "./node_name.ts";
export {
  decode,
  encode,
  MAX_DEPTH,
  registerErrorClass,
  TAG_ERROR,
  TAG_PID,
  TAG_REF,
} from "./codec.ts";
