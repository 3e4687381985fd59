/**
 * Small socket helpers shared by the port mapper server and client.
 *
 * @module
 */

/** Writes every byte, however many calls the socket needs. */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}

/**
 * Reads exactly `buffer.length` bytes; resolves to how many arrived before
 * the peer closed, which is less than asked only at end of stream.
 */
export async function readFull(conn: Deno.Conn, buffer: Uint8Array): Promise<number> {
  let got = 0;
  while (got < buffer.length) {
    const n = await conn.read(buffer.subarray(got));
    if (n === null) break;
    got += n;
  }
  return got;
}

/**
 * Reads until the peer closes, or until `complete` says the bytes so far
 * hold a whole reply (its length), failing with a `RangeError` once more
 * than `limit` bytes have come. Stopping at the end of the reply saves
 * waiting for the peer's close, one wake-up of each side.
 */
export async function readToEnd(
  conn: Deno.Conn,
  limit: number,
  complete?: (bytes: Uint8Array) => number | undefined,
): Promise<Uint8Array> {
  let buffer = new Uint8Array(complete === undefined ? 4096 : 256);
  let total = 0;
  for (;;) {
    if (total === buffer.length) {
      const bigger = new Uint8Array(Math.min(buffer.length * 2, limit + 1));
      bigger.set(buffer);
      buffer = bigger;
    }
    const n = await conn.read(buffer.subarray(total));
    if (n === null) break;
    total += n;
    if (total > limit) throw new RangeError(`Reply too large: more than ${limit} bytes`);
    const whole = complete?.(buffer.subarray(0, total));
    if (whole !== undefined && total >= whole) return buffer.slice(0, whole);
  }
  return buffer.slice(0, total);
}

/** Whether an address is the loopback, or the same host the socket is bound on. */
export function isLocalPeer(conn: Deno.Conn): boolean {
  const remote = conn.remoteAddr as Deno.NetAddr;
  const local = conn.localAddr as Deno.NetAddr;
  const host = remote.hostname.replace(/^::ffff:/i, "");
  return host.startsWith("127.") || host === "::1" || host === local.hostname;
}
