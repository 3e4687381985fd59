/**
 * The node under attack, in a process of its own (`_target_main.ts`), so
 * that a crash is an exit status and its memory is its own RSS: start it,
 * count the reasons its log gives for closing connections, ask it to
 * collect garbage and report its heap, sample its RSS from `/proc`.
 *
 * @module
 */

/** The running target node. */
export interface Target {
  /** Its process. */
  child: Deno.ChildProcess;
  /** Its distribution port on 127.0.0.1. */
  port: number;
  /** Its node name. */
  name: string;
  /** Why the target closed connections, from its log, by kind. */
  reasons: Map<string, number>;
  /** Log lines it has written so far. */
  logLines: number;
  /** Settles when it exits. */
  exited: Promise<Deno.CommandStatus>;
  /** Lines the target printed on stdout after its first, not yet taken. */
  lines: string[];
  /** Wakes whoever waits for the next stdout line. */
  wake: (() => void) | undefined;
  /** The target's stdin: requests, and its end stops the target. */
  stdin: WritableStreamDefaultWriter<Uint8Array>;
}

/** The target's program. */
const TARGET_MAIN = new URL("./_target_main.ts", import.meta.url).pathname;
const ROOT = new URL("../../", import.meta.url).pathname;

/** Starts the target node with `cookie` and waits until it listens. */
export async function startTarget(cookie: string): Promise<Target> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--expose-gc", TARGET_MAIN, cookie],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const reasons = new Map<string, number>();
  const target: Target = {
    child,
    port: 0,
    name: "",
    reasons,
    logLines: 0,
    exited: child.status,
    lines: [],
    wake: undefined,
    stdin: child.stdin.getWriter(),
  };
  void (async () => {
    let partial = "";
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop()!;
      for (const line of lines) {
        target.logLines++;
        const kind = classify(line);
        if (kind !== undefined) reasons.set(kind, (reasons.get(kind) ?? 0) + 1);
      }
    }
  })();
  void (async () => {
    let partial = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop()!;
      target.lines.push(...lines);
      target.wake?.();
    }
    target.wake?.();
  })();
  const first = await nextLine(target);
  if (first === undefined) {
    throw new Error(
      `The fuzz target exited before it was ready: ${JSON.stringify(await child.status)}`,
    );
  }
  const ready = JSON.parse(first);
  target.port = ready.port;
  target.name = ready.name;
  return target;
}

/** The target's next stdout line; `undefined` when it has none within 30 s or has exited. */
export async function nextLine(target: Target): Promise<string | undefined> {
  const deadline = performance.now() + 30_000;
  while (target.lines.length === 0 && performance.now() < deadline) {
    const woken = new Promise<void>((resolve) => target.wake = resolve);
    const timer = setTimeout(() => target.wake?.(), 1000);
    await woken;
    clearTimeout(timer);
  }
  return target.lines.shift();
}

/** Memory the target holds once garbage is collected. */
export interface Held {
  rss: number;
  heapUsed: number;
  collected: boolean;
}

export async function collectGarbage(target: Target): Promise<Held> {
  await target.stdin.write(new TextEncoder().encode("gc\n")).catch(() => {});
  const line = await nextLine(target);
  if (line === undefined) throw new Error("The fuzz target did not report its memory");
  return JSON.parse(line);
}

/**
 * A log line's kind, its variable parts (addresses, numbers, names, quoted
 * values) removed: "refused: protocol: expected HELLO", "down:
 * connection_closed (Malformed frame: unknown kind N)".
 */
export function classify(line: string): string | undefined {
  const generalize = (s: string) =>
    s.replace(/"[^"]*"|'[^']*'/g, "S")
      .replace(/#(PID|Reference)<[^>]*>/g, "$1")
      .replace(/\b[\w.-]+@[\w.:[\]-]+/g, "NODE")
      .replace(/\b\d+(\.\d+)*\b/g, "N")
      .slice(0, 110);
  let m = /Refused connection from .*?: (\w+): (.*)$/.exec(line);
  if (m) return `refused before authentication: ${m[1]}: ${generalize(m[2]!)}`;
  m = /Node \S+ is down: (\w+) \((.*)\)$/.exec(line);
  if (m) return `closed after authentication: ${m[1]}: ${generalize(m[2]!)}`;
  m = /Refusing .*: (.*)$/.exec(line);
  if (m) return `refused at accept: ${generalize(m[1]!)}`;
  if (/\b(ERR|ERROR|FTL|FATAL)\b/.test(line)) {
    return `error logged: ${generalize(line.replace(/^.*?weft\.\S+:?\s*/, ""))}`;
  }
  return undefined;
}

/** The target's resident set size in bytes, from /proc; `undefined` once it has gone. */
export async function rssOf(pid: number): Promise<number | undefined> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
