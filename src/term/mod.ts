/**
 * Terms: what Weft sends between nodes, and how it is put on the wire.
 *
 * - {@linkcode Pid} and {@linkcode Ref}: process identifiers and unique
 *   references, printed `#PID<a@host.42.0>` and `#Reference<a@host.1.7>`.
 * - {@linkcode parseNodeName}, {@linkcode shortNodeName},
 *   {@linkcode longNodeName}: `name@host` node names.
 * - {@linkcode encode} / {@linkcode decode}: the CBOR term codec.
 * - {@linkcode FrameDecoder}, {@linkcode encodeFrame}, {@linkcode encodeFrames},
 *   {@linkcode encodeTermFrame}: `u32 length | payload` framing, ticks included.
 *
 * @example
 * ```ts
 * import { decode, encodeTermFrame, FrameDecoder, Pid } from "./mod.ts";
 * const from = new Pid("a@host", 42, 0, 1);
 * const decoder = new FrameDecoder();
 * decoder.push(encodeTermFrame({ type: "ping", from }));
 * const msg = decode(decoder.next()!) as { type: string; from: Pid };
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
} from "./node_name.ts";
export {
  decode,
  encode,
  type EncodeOptions,
  MAX_DEPTH,
  registerErrorClass,
  TAG_ERROR,
  TAG_PID,
  TAG_REF,
} from "./codec.ts";
export {
  DEFAULT_MAX_FRAME_SIZE,
  encodeFrame,
  encodeFrames,
  encodeTermFrame,
  encodeTick,
  FRAME_HEADER_SIZE,
  FrameDecoder,
  type FrameDecoderOptions,
  MAX_FRAME_LENGTH,
  TICK,
} from "./frame.ts";
