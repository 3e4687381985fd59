/**
 * A WAN between regions on one machine, made by the Linux kernel: one
 * network namespace per region, joined by a bridge, with `tc netem`
 * (Debian iproute2) delaying and dropping packets on the links between
 * regions only. Used by scripts/bench/multi_region.ts.
 *
 * ```
 *   weft-bench-<pid>-east          weft-bench-<pid>-wan          weft-bench-<pid>-west
 *   lo (inside the region)                                       lo (inside the region)
 *   wan0 10.231.0.11-.19 --veth--> r0 -- br0 -- r1 <--veth-- wan0 10.231.0.21-.29
 *   netem on wan0's egress                |                       netem on wan0's egress
 *                                        r2 <--veth-- wan0 10.231.0.31-.39 (north)
 * ```
 *
 * Every host of a region is an address on its namespace's `wan0`, so
 * traffic between two nodes of one region is local to its namespace (it
 * goes through `lo`, never through `wan0`) and is not shaped; a packet from
 * one region to another leaves through its `wan0` and is shaped once, on
 * the way out (each direction has its own delay and loss). The addresses
 * are private (10.231.0.0/24) and nothing connects the namespaces to the
 * machine's own network: nothing can route off the machine.
 *
 * Failure: {@linkcode kernelWan} answers whether the machine allows all of
 * this (root, `ip netns add`, the netem queueing discipline in the kernel)
 * and why not, so the benchmark can fall back to Weft's own link faults.
 * {@linkcode createRegionNetwork} undoes what it did if a step fails, and
 * its `close()` (also run on SIGINT/SIGTERM) kills every process left in
 * the namespaces with SIGKILL and deletes them.
 *
 * @module
 */

/** How the links between regions are shaped (as `tc netem delay D J loss L%`). */
export interface WanShape {
  /** One-way delay in ms. */
  delay: number;
  /** Jitter in ms (netem: the delay varies by up to this much either way). */
  jitter: number;
  /** Fraction of packets lost, 0 to 1. */
  loss: number;
  /** Bytes per second the link carries (netem's `rate`); absent: unlimited. */
  bandwidth?: number;
}

/** One region's namespace. */
export interface RegionNamespace {
  /** The network namespace's name (`weft-bench-<pid>-<region>`). */
  ns: string;
  /** One private address per host asked for, all on the namespace's `wan0`. */
  hosts: string[];
}

/** The namespaces made by {@linkcode createRegionNetwork}. */
export interface RegionNetwork {
  /** Each region's namespace and host addresses. */
  regions: Record<string, RegionNamespace>;
  /** The command prefix that runs a program inside `region`'s namespace. */
  exec(region: string): string[];
  /** Kills whatever still runs in the namespaces and deletes them (idempotent). */
  close(): Promise<void>;
}

const SUBNET = "10.231.0";

async function run(cmd: string, args: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    const r = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    const dec = new TextDecoder();
    return { ok: r.success, out: (dec.decode(r.stdout) + dec.decode(r.stderr)).trim() };
  } catch (e) {
    return { ok: false, out: (e as Error).message };
  }
}

async function must(cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args);
  if (!r.ok) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.out}`);
  return r.out;
}

/** Names of the namespaces this process made, for the prefix check on delete. */
function prefix(): string {
  return `weft-bench-${Deno.pid}-`;
}

async function deleteNamespace(ns: string): Promise<void> {
  if (!ns.startsWith(prefix())) throw new RangeError(`Not a benchmark namespace: ${ns}`);
  const pids = await run("ip", ["netns", "pids", ns]);
  for (const pid of pids.ok ? pids.out.split(/\s+/).filter(Boolean) : []) {
    try {
      Deno.kill(Number(pid), "SIGKILL");
    } catch {
      // Exited meanwhile.
    }
  }
  await run("ip", ["netns", "del", ns]);
}

/**
 * Whether this machine can make the kernel WAN: running as root, `ip netns
 * add` works and the kernel has the netem queueing discipline (probed on a
 * veth pair in a throwaway namespace). `reason` says what is missing.
 *
 * @example
 * ```ts ignore
 * const wan = await kernelWan();
 * console.log(wan.ok ? "netem in network namespaces" : `no: ${wan.reason}`);
 * ```
 */
export async function kernelWan(): Promise<{ ok: true } | { ok: false; reason: string }> {
  if (Deno.build.os !== "linux") return { ok: false, reason: "not Linux" };
  if (Deno.uid() !== 0) return { ok: false, reason: "not running as root" };
  const ns = `${prefix()}probe`;
  const add = await run("ip", ["netns", "add", ns]);
  if (!add.ok) return { ok: false, reason: `ip netns add failed: ${add.out}` };
  try {
    const veth = await run("ip", [
      "-n",
      ns,
      "link",
      "add",
      "name",
      "p0",
      "type",
      "veth",
      "peer",
      "name",
      "p1",
    ]);
    if (!veth.ok) return { ok: false, reason: `no veth pairs: ${veth.out}` };
    const q = await run("tc", [
      "-n",
      ns,
      "qdisc",
      "add",
      "dev",
      "p0",
      "root",
      "netem",
      "delay",
      "1ms",
    ]);
    if (!q.ok) {
      return {
        ok: false,
        reason: `tc netem refused (${q.out}): this kernel has no sch_netem (CONFIG_NET_SCH_NETEM)`,
      };
    }
    return { ok: true };
  } finally {
    await deleteNamespace(ns);
  }
}

/**
 * Makes one namespace per region (with `hosts[region]` addresses each)
 * and a bridge joining them, shaped by `shape` on the links between
 * regions (no shaping when `shape` is undefined). Needs root; check
 * {@linkcode kernelWan} first. Until `close()`, SIGINT and SIGTERM tear the
 * namespaces down and exit.
 *
 * @example
 * ```ts ignore
 * const net = await createRegionNetwork({ east: 2, west: 2 }, { delay: 50, jitter: 10, loss: 0.01 });
 * try {
 *   console.log(net.regions.east.hosts); // ["10.231.0.11", "10.231.0.12"]
 *   await new Deno.Command("ip", { args: [...net.exec("west").slice(1), "ping", "-c1", "10.231.0.11"] }).output();
 * } finally {
 *   await net.close();
 * }
 * ```
 */
export async function createRegionNetwork(
  hosts: Record<string, number>,
  shape?: WanShape,
): Promise<RegionNetwork> {
  const names = Object.keys(hosts);
  if (names.length === 0 || names.length > 9) throw new RangeError("Between 1 and 9 regions");
  for (const [r, n] of Object.entries(hosts)) {
    if (!/^[a-z][a-z0-9]{0,11}$/.test(r)) throw new RangeError(`Bad region name: ${r}`);
    if (!Number.isInteger(n) || n < 1 || n > 9) throw new RangeError(`Between 1 and 9 hosts: ${r}`);
  }
  const made: string[] = [];
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    // Regions first: their processes go, then the hub and its bridge.
    for (const ns of made.reverse()) await deleteNamespace(ns);
  };
  const onSignal = () => {
    close().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const hub = `${prefix()}wan`;
  const regions: Record<string, RegionNamespace> = {};
  try {
    await must("ip", ["netns", "add", hub]);
    made.push(hub);
    await must("ip", ["-n", hub, "link", "set", "lo", "up"]);
    await must("ip", ["-n", hub, "link", "add", "name", "br0", "type", "bridge"]);
    await must("ip", ["-n", hub, "link", "set", "br0", "up"]);
    for (const [i, region] of names.entries()) {
      const ns = `${prefix()}${region}`;
      await must("ip", ["netns", "add", ns]);
      made.push(ns);
      await must("ip", ["-n", ns, "link", "set", "lo", "up"]);
      const port = `r${i}`;
      await must("ip", [
        ...["-n", ns, "link", "add", "name", "wan0", "type", "veth"],
        ...["peer", "name", port, "netns", hub],
      ]);
      await must("ip", ["-n", hub, "link", "set", port, "master", "br0"]);
      await must("ip", ["-n", hub, "link", "set", port, "up"]);
      const addrs = Array.from(
        { length: hosts[region]! },
        (_, h) => `${SUBNET}.${(i + 1) * 10 + h + 1}`,
      );
      for (const a of addrs) await must("ip", ["-n", ns, "addr", "add", `${a}/24`, "dev", "wan0"]);
      await must("ip", ["-n", ns, "link", "set", "wan0", "up"]);
      if (shape) {
        await must("tc", [
          ...["-n", ns, "qdisc", "add", "dev", "wan0", "root", "netem"],
          ...["delay", `${shape.delay}ms`, `${shape.jitter}ms`, "loss", `${shape.loss * 100}%`],
          ...(shape.bandwidth ? ["rate", `${Math.round(shape.bandwidth * 8)}bit`] : []),
        ]);
      }
      regions[region] = { ns, hosts: addrs };
    }
  } catch (e) {
    await close();
    throw e;
  }
  return {
    regions,
    exec: (region) => {
      const r = regions[region];
      if (!r) throw new RangeError(`No such region: ${region}`);
      return ["ip", "netns", "exec", r.ns];
    },
    close,
  };
}
