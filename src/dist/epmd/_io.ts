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
 * Reads until the peer closes, failing with a `RangeError` once more than
 * `limit` bytes have come.
 */
export async function readToEnd(conn: Deno.Conn, limit: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const buffer = new Uint8Array(4096);
  for (;;) {
    const n = await conn.read(buffer);
    if (n === null) break;
    total += n;
    if (total > limit) throw new RangeError(`Reply too large: more than ${limit} bytes`);
    chunks.push(buffer.slice(0, n));
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/** Closes a socket or listener that may already be closed. */
export function closeQuietly(resource: { close(): void }): void {
  try {
    resource.close();
  } catch {
    // Already closed: the goal is reached.
  }
}

/** Whether an address is the loopback, or the same host the socket is bound on. */
export function isLocalPeer(conn: Deno.Conn): boolean {
  const remote = conn.remoteAddr as Deno.NetAddr;
  const local = conn.localAddr as Deno.NetAddr;
  const host = remote.hostname.replace(/^::ffff:/i, "");
  return host.startsWith("127.") || host === "::1" || host === local.hostname;
}
