/**
 * A throwaway PostgreSQL server for tests and benchmarks: `initdb` in a
 * temporary directory, `pg_ctl start` on a loopback port, as the `postgres`
 * user (PostgreSQL refuses to run as root). Every test that starts one
 * calls `destroy()` in a `finally`, which stops the server and removes the
 * directory.
 *
 * ```
 * startPostgres()   mktemp; chown postgres; initdb (trust auth on loopback); pg_ctl start -w
 * server.stop()     pg_ctl stop -m fast   (the directory stays: start() brings the same data back)
 * server.start()    pg_ctl start -w on the same port
 * server.destroy()  stop, then rm -rf the directory
 * ```
 *
 * @module
 */

import { freePort } from "./ports.ts";

const BIN = "/usr/lib/postgresql/15/bin";

/** A running (or stopped) throwaway server. */
export interface PostgresServer {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`. */
  readonly url: string;
  /** Its loopback port. */
  readonly port: number;
  /** The temporary directory (data in `data/`, the log in `log`). */
  readonly dir: string;
  /** Stops the server (fast shutdown), keeping the data. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data. */
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  destroy(): Promise<void>;
}

/** Options of {@linkcode startPostgres}. */
export interface StartPostgresOptions {
  /** Whether PostgreSQL syncs its writes (`fsync`). Default false: tests do not cut the power. */
  fsync?: boolean;
}

/** Whether the Debian PostgreSQL 15 binaries are installed here. */
export function postgresInstalled(): boolean {
  try {
    return Deno.statSync(`${BIN}/pg_ctl`).isFile;
  } catch {
    return false;
  }
}

async function run(args: string[], what: string): Promise<void> {
  const asRoot = Deno.uid() === 0;
  const cmd = asRoot
    ? new Deno.Command("runuser", { args: ["-u", "postgres", "--", ...args], stdin: "null" })
    : new Deno.Command(args[0]!, { args: args.slice(1), stdin: "null" });
  const out = await cmd.output();
  if (!out.success) {
    const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    throw new Error(`${what} failed: ${text.trim()}`);
  }
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const out = await new Deno.Command("id", { args: ["postgres"], stdout: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout);
  const uid = Number(/uid=(\d+)/.exec(text)?.[1]);
  const gid = Number(/gid=(\d+)/.exec(text)?.[1]);
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error("No postgres user");
  return { uid, gid };
}

/**
 * Starts a throwaway PostgreSQL server.
 *
 * @param options fsync
 * @returns the running server
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  const dir = await Deno.makeTempDir({ prefix: "weft-pg-" });
  if (Deno.uid() === 0) {
    const { uid, gid } = await postgresIds();
    await Deno.chown(dir, uid, gid);
  }
  const data = `${dir}/data`;
  await run(
    [`${BIN}/initdb`, "-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"],
    "initdb",
  );
  let port = 0;
  const start = async () => {
    for (let attempt = 0;; attempt++) {
      if (port === 0 || attempt > 0) port = freePort();
      try {
        await run([
          `${BIN}/pg_ctl`,
          "-D",
          data,
          "-l",
          `${dir}/log`,
          "-w",
          "-t",
          "120",
          "-o",
          `-p ${port} -k ${dir} -h 127.0.0.1 -c fsync=${options.fsync ? "on" : "off"} ` +
          "-c max_connections=200",
          "start",
        ], "pg_ctl start");
        return;
      } catch (e) {
        if (attempt >= 3) throw e;
      }
    }
  };
  await start();
  const restart = async () => {
    await run([
      `${BIN}/pg_ctl`,
      "-D",
      data,
      "-l",
      `${dir}/log`,
      "-w",
      "-t",
      "120",
      "-o",
      `-p ${port} -k ${dir} -h 127.0.0.1 -c fsync=${options.fsync ? "on" : "off"} ` +
      "-c max_connections=200",
      "start",
    ], "pg_ctl start");
  };
  let running = true;
  const stop = async () => {
    if (!running) return;
    await run(
      [`${BIN}/pg_ctl`, "-D", data, "-w", "-t", "120", "-m", "fast", "stop"],
      "pg_ctl stop",
    );
    running = false;
  };
  return {
    get url() {
      return `postgres://postgres@127.0.0.1:${port}/postgres`;
    },
    get port() {
      return port;
    },
    dir,
    stop,
    start: async () => {
      if (running) return;
      await restart();
      running = true;
    },
    destroy: async () => {
      try {
        await stop();
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  };
}
