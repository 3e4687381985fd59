/**
 * The EPMD wire format as pure functions: requests and replies to and from
 * bytes, with no I/O. The server and the client both build on these, and the
 * byte layouts are listed in `types.ts`.
 *
 * Decoders are strict where `epmd` is strict and throw {@linkcode DecodeError}
 * on anything malformed; the server answers that by closing the one
 * connection that sent it.
 *
 * @example
 * ```ts
 * import { decodeRequest, encodeRequest } from "./wire.ts";
 * const packet = encodeRequest({ type: "port_please2", name: "a" });
 * console.assert(decodeRequest(packet.subarray(2)).type === "port_please2");
 * ```
 *
 * @module
 */

import { DecodeError } from "../../errors.ts";
import { isAliveName, MAX_ALIVE_NAME } from "../../term/node_name.ts";
import {
  ALIVE2_REQ,
  ALIVE2_RESP,
  ALIVE2_X_RESP,
  DUMP_REQ,
  type EpmdName,
  type EpmdNodeEntry,
  KILL_REQ,
  MAX_EXTRA_BYTES,
  MAX_NAME_BYTES,
  MAX_NAME_CHARS,
  MAX_REQUEST_BYTES,
  NAMES_REQ,
  PORT2_RESP,
  PORT_PLEASE2_REQ,
  RESULT_OK,
  STOP_REQ,
} from "./types.ts";

/** A request as the server sees it, after the u16 length. */
export type EpmdRequest =
  | { type: "alive2"; entry: EpmdNodeEntry }
  | { type: "port_please2"; name: string }
  | { type: "names" }
  | { type: "dump" }
  | { type: "kill" }
  | { type: "stop"; name: string };

/** A decoded ALIVE2_RESP or ALIVE2_X_RESP. */
export interface Alive2Response {
  /** 0 when the name was registered, anything else when it was refused. */
  result: number;
  /** The creation given to the registration. */
  creation: number;
  /** Whether the reply was ALIVE2_X_RESP (32-bit creation). */
  extended: boolean;
}

/** A decoded NAMES reply. */
export interface NamesResponse {
  /** The port the answering port mapper listens on, as it reports it. */
  epmdPort: number;
  /** The registered names, in the order the port mapper sent them. */
  names: EpmdName[];
}

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

// ---------------------------------------------------------------------------
// Requests

/**
 * Encodes a request as one packet, the u16 length prefix included.
 *
 * @param request the request to send
 * @returns the packet bytes
 * @throws {TypeError} when a name is empty, holds NUL or is not a string
 * @throws {RangeError} when a name, the extra field or a number is out of range
 *
 * @example
 * ```ts
 * import { encodeRequest } from "./wire.ts";
 * const bytes = encodeRequest({ type: "names" });
 * console.assert(bytes.length === 3 && bytes[2] === 110);
 * ```
 */
export function encodeRequest(request: EpmdRequest): Uint8Array {
  let body: Uint8Array;
  switch (request.type) {
    case "alive2":
      body = encodeAlive2Body(request.entry);
      break;
    case "port_please2":
      body = concat([Uint8Array.of(PORT_PLEASE2_REQ), nameBytes(request.name)]);
      break;
    case "stop":
      body = concat([Uint8Array.of(STOP_REQ), nameBytes(request.name)]);
      break;
    case "names":
      body = Uint8Array.of(NAMES_REQ);
      break;
    case "dump":
      body = Uint8Array.of(DUMP_REQ);
      break;
    case "kill":
      body = Uint8Array.of(KILL_REQ);
      break;
  }
  const packet = new Uint8Array(2 + body.length);
  new DataView(packet.buffer).setUint16(0, body.length);
  packet.set(body, 2);
  return packet;
}

function encodeAlive2Body(entry: EpmdNodeEntry): Uint8Array {
  const name = nameBytes(entry.name);
  if (entry.extra.length > MAX_EXTRA_BYTES) {
    throw new RangeError(
      `Invalid port mapper entry: extra must be at most ${MAX_EXTRA_BYTES} bytes, received ${entry.extra.length}`,
    );
  }
  const body = new Uint8Array(13 + name.length + entry.extra.length);
  const view = new DataView(body.buffer);
  body[0] = ALIVE2_REQ;
  view.setUint16(1, u16("port", entry.port));
  body[3] = u8("nodeType", entry.nodeType);
  body[4] = u8("protocol", entry.protocol);
  view.setUint16(5, u16("highestVersion", entry.highestVersion));
  view.setUint16(7, u16("lowestVersion", entry.lowestVersion));
  view.setUint16(9, name.length);
  body.set(name, 11);
  view.setUint16(11 + name.length, entry.extra.length);
  body.set(entry.extra, 13 + name.length);
  return body;
}

/**
 * Decodes a request body (the bytes after the u16 length).
 *
 * @param body the request, starting with its code
 * @returns the request
 * @throws {DecodeError} when the code is unknown or the layout or a name is malformed
 *
 * @example
 * ```ts
 * import { decodeRequest } from "./wire.ts";
 * console.assert(decodeRequest(Uint8Array.of(110)).type === "names");
 * ```
 */
export function decodeRequest(body: Uint8Array): EpmdRequest {
  if (body.length === 0) throw new DecodeError("Invalid port mapper request: empty");
  if (body.length > MAX_REQUEST_BYTES) {
    throw new DecodeError(
      `Invalid port mapper request: ${body.length} bytes, limit ${MAX_REQUEST_BYTES}`,
    );
  }
  const code = body[0]!;
  switch (code) {
    case ALIVE2_REQ:
      return { type: "alive2", entry: decodeAlive2Body(body) };
    case PORT_PLEASE2_REQ: {
      // Old clients NUL-terminate the name; epmd skips one trailing NUL.
      const end = body[body.length - 1] === 0 ? body.length - 1 : body.length;
      return { type: "port_please2", name: decodeName(body.subarray(1, end), "PORT_PLEASE2") };
    }
    case STOP_REQ: {
      const end = body[body.length - 1] === 0 ? body.length - 1 : body.length;
      return { type: "stop", name: decodeName(body.subarray(1, end), "STOP") };
    }
    case NAMES_REQ:
      return { type: "names" };
    case DUMP_REQ:
      return { type: "dump" };
    case KILL_REQ:
      return { type: "kill" };
    default:
      throw new DecodeError(`Invalid port mapper request: unknown code ${code}`);
  }
}

function decodeAlive2Body(body: Uint8Array): EpmdNodeEntry {
  // At least one byte of name, as epmd requires.
  if (body.length <= 13) {
    throw new DecodeError(`Invalid ALIVE2 request: ${body.length} bytes is too short`);
  }
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const nameLength = view.getUint16(9);
  if (13 + nameLength > body.length) {
    throw new DecodeError(
      `Invalid ALIVE2 request: name length ${nameLength} overruns the ${body.length}-byte request`,
    );
  }
  const extraLength = view.getUint16(11 + nameLength);
  // Trailing bytes after the extra field are ignored, as epmd ignores them.
  if (13 + nameLength + extraLength > body.length) {
    throw new DecodeError(
      `Invalid ALIVE2 request: extra length ${extraLength} overruns the ${body.length}-byte request`,
    );
  }
  if (extraLength > MAX_EXTRA_BYTES) {
    throw new DecodeError(
      `Invalid ALIVE2 request: extra is ${extraLength} bytes, limit ${MAX_EXTRA_BYTES}`,
    );
  }
  return {
    name: decodeName(body.subarray(11, 11 + nameLength), "ALIVE2"),
    port: view.getUint16(1),
    nodeType: body[3]!,
    protocol: body[4]!,
    highestVersion: view.getUint16(5),
    lowestVersion: view.getUint16(7),
    extra: body.slice(13 + nameLength, 13 + nameLength + extraLength),
  };
}

// ---------------------------------------------------------------------------
// Replies

/**
 * Encodes the reply to ALIVE2_REQ: ALIVE2_X_RESP (32-bit creation) when
 * `extended`, else ALIVE2_RESP (16-bit creation).
 *
 * @param response result, creation and which form to use
 * @returns the reply bytes
 *
 * @example
 * ```ts
 * import { encodeAlive2Response } from "./wire.ts";
 * const bytes = encodeAlive2Response({ result: 0, creation: 7, extended: true });
 * console.assert(bytes.length === 6 && bytes[0] === 118);
 * ```
 */
export function encodeAlive2Response(response: Alive2Response): Uint8Array {
  const bytes = new Uint8Array(response.extended ? 6 : 4);
  const view = new DataView(bytes.buffer);
  bytes[0] = response.extended ? ALIVE2_X_RESP : ALIVE2_RESP;
  bytes[1] = response.result;
  if (response.extended) view.setUint32(2, response.creation >>> 0);
  else view.setUint16(2, response.creation & 0xffff);
  return bytes;
}

/**
 * How many bytes the ALIVE2 reply that starts with `code` has, or
 * `undefined` when `code` starts no ALIVE2 reply.
 *
 * @param code the first byte of the reply
 * @returns 6, 4 or `undefined`
 *
 * @example
 * ```ts
 * import { alive2ResponseLength } from "./wire.ts";
 * console.assert(alive2ResponseLength(118) === 6);
 * ```
 */
export function alive2ResponseLength(code: number): number | undefined {
  if (code === ALIVE2_X_RESP) return 6;
  if (code === ALIVE2_RESP) return 4;
  return undefined;
}

/**
 * Decodes an ALIVE2_RESP or ALIVE2_X_RESP.
 *
 * @param bytes the whole reply
 * @returns result and creation
 * @throws {DecodeError} when the bytes are not such a reply
 *
 * @example
 * ```ts
 * import { decodeAlive2Response } from "./wire.ts";
 * console.assert(decodeAlive2Response(Uint8Array.of(121, 0, 0, 3)).creation === 3);
 * ```
 */
export function decodeAlive2Response(bytes: Uint8Array): Alive2Response {
  const length = bytes.length > 0 ? alive2ResponseLength(bytes[0]!) : undefined;
  if (length === undefined) {
    throw new DecodeError(
      `Invalid ALIVE2 reply: expected code ${ALIVE2_X_RESP} or ${ALIVE2_RESP}, received ${
        bytes[0] ?? "nothing"
      }`,
    );
  }
  if (bytes.length !== length) {
    throw new DecodeError(
      `Invalid ALIVE2 reply: expected ${length} bytes, received ${bytes.length}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const extended = length === 6;
  return {
    result: bytes[1]!,
    creation: extended ? view.getUint32(2) : view.getUint16(2),
    extended,
  };
}

/**
 * Encodes the reply to PORT_PLEASE2_REQ: the entry, or "not found".
 *
 * @param entry the registration found, or `undefined`
 * @returns the reply bytes
 *
 * @example
 * ```ts
 * import { encodePort2Response } from "./wire.ts";
 * console.assert(encodePort2Response(undefined).join() === "119,1");
 * ```
 */
export function encodePort2Response(entry: EpmdNodeEntry | undefined): Uint8Array {
  if (entry === undefined) return Uint8Array.of(PORT2_RESP, 1);
  const body = encodeAlive2Body(entry);
  // Same layout as ALIVE2_REQ after its code, behind code and result bytes.
  const bytes = new Uint8Array(body.length + 1);
  bytes[0] = PORT2_RESP;
  bytes[1] = RESULT_OK;
  bytes.set(body.subarray(1), 2);
  return bytes;
}

/**
 * How long the PORT2_RESP that opens `bytes` is, once that can be told
 * from the bytes received so far: a client can then stop reading at the
 * end of the reply instead of waiting for the port mapper to close.
 *
 * @param bytes the reply received so far
 * @returns the reply's whole length in bytes, or `undefined` while too few
 *   bytes have come to tell; a reply that does not open with PORT2_RESP
 *   counts as complete as it is, so that decoding it names what came
 *
 * @example
 * ```ts
 * import { encodePort2Response, port2ResponseLength } from "./wire.ts";
 * import { weftEntry } from "./types.ts";
 * const reply = encodePort2Response(weftEntry({ name: "a", port: 9 }));
 * console.assert(port2ResponseLength(reply.subarray(0, 5)) === undefined);
 * console.assert(port2ResponseLength(reply) === reply.length);
 * console.assert(port2ResponseLength(Uint8Array.of(119, 1)) === 2);
 * ```
 */
export function port2ResponseLength(bytes: Uint8Array): number | undefined {
  if (bytes.length === 0) return undefined;
  if (bytes[0] !== PORT2_RESP) return bytes.length;
  if (bytes.length < 2) return undefined;
  if (bytes[1] !== RESULT_OK) return 2;
  if (bytes.length < 12) return undefined;
  const nameLength = (bytes[10]! << 8) | bytes[11]!;
  if (bytes.length < 14 + nameLength) return undefined;
  const extraLength = (bytes[12 + nameLength]! << 8) | bytes[13 + nameLength]!;
  return 14 + nameLength + extraLength;
}

/**
 * Decodes a PORT2_RESP.
 *
 * @param bytes the whole reply (see {@linkcode port2ResponseLength})
 * @returns the entry, or `undefined` when the name is not registered
 * @throws {DecodeError} when the bytes are not such a reply
 *
 * @example
 * ```ts
 * import { decodePort2Response, encodePort2Response } from "./wire.ts";
 * import { weftEntry } from "./types.ts";
 * const entry = decodePort2Response(encodePort2Response(weftEntry({ name: "a", port: 9 })));
 * console.assert(entry?.port === 9);
 * ```
 */
export function decodePort2Response(bytes: Uint8Array): EpmdNodeEntry | undefined {
  if (bytes.length < 2 || bytes[0] !== PORT2_RESP) {
    throw new DecodeError(
      `Invalid PORT2 reply: expected code ${PORT2_RESP}, received ${
        bytes.length === 0 ? "nothing" : `${bytes.length} bytes starting ${bytes[0]}`
      }`,
    );
  }
  if (bytes[1] !== RESULT_OK) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 14) {
    throw new DecodeError(`Invalid PORT2 reply: ${bytes.length} bytes is too short`);
  }
  const nameLength = view.getUint16(10);
  if (14 + nameLength > bytes.length) {
    throw new DecodeError(`Invalid PORT2 reply: name length ${nameLength} overruns the reply`);
  }
  const extraLength = view.getUint16(12 + nameLength);
  if (14 + nameLength + extraLength !== bytes.length) {
    throw new DecodeError(
      `Invalid PORT2 reply: extra length ${extraLength} does not match the ${bytes.length}-byte reply`,
    );
  }
  return {
    name: decodeName(bytes.subarray(12, 12 + nameLength), "PORT2"),
    port: view.getUint16(2),
    nodeType: bytes[4]!,
    protocol: bytes[5]!,
    highestVersion: view.getUint16(6),
    lowestVersion: view.getUint16(8),
    extra: bytes.slice(14 + nameLength),
  };
}

/**
 * Encodes the reply to NAMES_REQ: the port mapper's port, then one
 * `name NAME at port PORT\n` line per node, byte for byte as `epmd`.
 *
 * @param epmdPort the port the port mapper listens on
 * @param names the registered nodes
 * @returns the reply bytes
 *
 * @example
 * ```ts
 * import { encodeNamesResponse } from "./wire.ts";
 * const bytes = encodeNamesResponse(4369, [{ name: "a", port: 5000 }]);
 * console.assert(new TextDecoder().decode(bytes.subarray(4)) === "name a at port 5000\n");
 * ```
 */
export function encodeNamesResponse(epmdPort: number, names: readonly EpmdName[]): Uint8Array {
  return withPortHeader(epmdPort, names.map((n) => `name ${n.name} at port ${n.port}\n`));
}

/** One `NAMES` line, its name limited to the characters Erlang allows (see {@linkcode nameBytes}). */
const NAMES_LINE = /^name ([A-Za-z0-9_-]{1,255}) at port (\d{1,5})$/;

/**
 * Decodes a NAMES reply. Lines that are not `name N at port P`, with N made
 * of the characters Erlang allows in node names, are left out: Erlang's
 * `epmd` registers any UTF-8 name, so a local program could register one
 * holding a newline, a space or control characters to make the reply
 * carry lines of its own, and those never become entries.
 *
 * @param bytes the whole reply (see {@linkcode port2ResponseLength})
 * @returns the port mapper's port and the names
 * @throws {DecodeError} when the header is missing, or lines are there and none is a NAMES line
 *
 * @example
 * ```ts
 * import { decodeNamesResponse, encodeNamesResponse } from "./wire.ts";
 * const r = decodeNamesResponse(encodeNamesResponse(4369, [{ name: "a", port: 5 }]));
 * console.assert(r.names[0]?.name === "a" && r.epmdPort === 4369);
 * ```
 */
export function decodeNamesResponse(bytes: Uint8Array): NamesResponse {
  if (bytes.length < 4) {
    throw new DecodeError(`Invalid NAMES reply: ${bytes.length} bytes, expected at least 4`);
  }
  const epmdPort = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);
  let text: string;
  try {
    text = strictUtf8.decode(bytes.subarray(4));
  } catch (cause) {
    throw new DecodeError("Invalid NAMES reply: not UTF-8", { cause });
  }
  const names: EpmdName[] = [];
  let foreign: string | undefined;
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const match = NAMES_LINE.exec(line);
    if (match === null || Number(match[2]) > 65535) {
      foreign ??= line;
      continue;
    }
    names.push({ name: match[1]!, port: Number(match[2]) });
  }
  if (names.length === 0 && foreign !== undefined) {
    throw new DecodeError(`Invalid NAMES reply: unexpected line ${JSON.stringify(foreign)}`);
  }
  return { epmdPort, names };
}

/** One registration as DUMP_REQ shows it. */
export interface DumpEntry extends EpmdName {
  /** The connection that holds the registration (epmd shows its file descriptor). */
  fd: number;
}

/**
 * Encodes the reply to DUMP_REQ in `epmd`'s format: the port, then one
 * NUL-terminated `active name     <NAME> at port P, fd = F\n` per node.
 *
 * @param epmdPort the port the port mapper listens on
 * @param active the registered nodes
 * @returns the reply bytes
 *
 * @example
 * ```ts
 * import { encodeDumpResponse } from "./wire.ts";
 * const bytes = encodeDumpResponse(4369, [{ name: "a", port: 5, fd: 1 }]);
 * console.assert(bytes[bytes.length - 1] === 0);
 * ```
 */
export function encodeDumpResponse(epmdPort: number, active: readonly DumpEntry[]): Uint8Array {
  return withPortHeader(
    epmdPort,
    active.map((n) => `active name     <${n.name}> at port ${n.port}, fd = ${n.fd}\n\0`),
  );
}

// ---------------------------------------------------------------------------
// Names and numbers

/**
 * Checks a name before it goes to a port mapper: the characters Erlang
 * allows in node names (ASCII letters, digits, `_`, `-`), 1 to 255 of them.
 * `epmd` itself takes any UTF-8 without NUL; Weft sends nothing that could
 * forge a line of a `NAMES` reply.
 *
 * @param name the name without `@host`
 * @returns the name as bytes
 * @throws {TypeError} when the name is not a string, is empty or holds other characters
 * @throws {RangeError} when the name is longer than 255 characters
 *
 * @example
 * ```ts
 * import { nameBytes } from "./wire.ts";
 * console.assert(nameBytes("a").length === 1);
 * ```
 */
export function nameBytes(name: string): Uint8Array {
  if (typeof name !== "string" || name === "") {
    throw new TypeError(`Invalid node name for the port mapper: expected a non-empty string`);
  }
  if (name.length > MAX_ALIVE_NAME) {
    throw new RangeError(
      `Invalid node name for the port mapper: at most ${MAX_ALIVE_NAME} characters, received ${name.length}`,
    );
  }
  if (!isAliveName(name)) {
    throw new TypeError(
      `Invalid node name for the port mapper: may hold letters, digits, _ and -, received ${
        JSON.stringify(name)
      }`,
    );
  }
  return utf8.encode(name);
}

function decodeName(bytes: Uint8Array, what: string): string {
  if (bytes.length === 0) throw new DecodeError(`Invalid ${what} message: empty node name`);
  if (bytes.includes(0)) throw new DecodeError(`Invalid ${what} message: node name holds NUL`);
  let name: string;
  try {
    name = strictUtf8.decode(bytes);
  } catch (cause) {
    throw new DecodeError(`Invalid ${what} message: node name is not UTF-8`, { cause });
  }
  if (bytes.length > MAX_NAME_BYTES || [...name].length > MAX_NAME_CHARS) {
    throw new DecodeError(
      `Invalid ${what} message: node name longer than ${MAX_NAME_CHARS} characters`,
    );
  }
  return name;
}

function u16(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff) {
    throw new RangeError(`Invalid port mapper entry: ${field} must be 0-65535, received ${value}`);
  }
  return value;
}

function u8(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xff) {
    throw new RangeError(`Invalid port mapper entry: ${field} must be 0-255, received ${value}`);
  }
  return value;
}

function withPortHeader(epmdPort: number, lines: readonly string[]): Uint8Array {
  const header = new Uint8Array(4);
  new DataView(header.buffer).setUint32(0, epmdPort);
  return concat([header, ...lines.map((l) => utf8.encode(l))]);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
