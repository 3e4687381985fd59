/**
 * Port mapper requests that Weft's own encoder refuses to make: an ALIVE2
 * with any name, as a hostile local program (or an old client) sends it.
 *
 * @module
 */

/**
 * An ALIVE2_REQ packet (length prefix included) for `name`, unchecked:
 * a normal node, TCP, versions 5-6, no extra.
 *
 * @param name any name, even one holding newlines or control characters
 * @param port the distribution port claimed
 */
export function rawAlive2(name: string, port: number): Uint8Array {
  const nameBytes = new TextEncoder().encode(name);
  const body = new Uint8Array(13 + nameBytes.length);
  const view = new DataView(body.buffer);
  body[0] = 120; // ALIVE2_REQ
  view.setUint16(1, port);
  body[3] = 77; // normal node
  body[4] = 0; // TCP
  view.setUint16(5, 6);
  view.setUint16(7, 5);
  view.setUint16(9, nameBytes.length);
  body.set(nameBytes, 11);
  view.setUint16(11 + nameBytes.length, 0);
  const packet = new Uint8Array(2 + body.length);
  new DataView(packet.buffer).setUint16(0, body.length);
  packet.set(body, 2);
  return packet;
}

/** Names that would forge `NAMES` lines or that Erlang does not allow in node names. */
export const FORGING_NAMES: readonly string[] = [
  "x\nname admin at port 2222",
  "a b",
  "ctl\x07",
  "cr\r",
  "tab\t",
  "bé",
  "dot.ted",
];
