/**
 * PLACEHOLDER being replaced by the codec implementation (helper task).
 * Contract: encode(value) -> Uint8Array (throws TypeError naming the path of
 * a function/symbol), decode(bytes) -> unknown (throws DecodeError).
 * @module
 */
import { Decoder, Encoder } from "cbor-x";
const enc = new Encoder({ useRecords: false, mapsAsObjects: true });
const dec = new Decoder({ useRecords: false, mapsAsObjects: true });
/** Encodes a term. */
export function encode(value: unknown): Uint8Array {
  return enc.encode(value);
}
/** Decodes a term. */
export function decode(bytes: Uint8Array): unknown {
  return dec.decode(bytes);
}
