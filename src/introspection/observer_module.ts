/**
 * The `observer` module every node exposes to rpc: its figures, its
 * processes and one process in detail, and killing one. The web observer
 * of any node calls it on every node of the cluster, so that one page
 * shows them all.
 *
 * ```
 * observer (node a)                              node b
 *   rpc.call(b, "observer", "figures") --------> memory, processes, loop delay, connections
 *   rpc.call(b, "observer", "processes") ------> one row per process
 *   rpc.call(b, "observer", "process", [id, serial]) -> links, monitors, mailbox peek
 *   rpc.call(b, "observer", "kill", [id, serial]) --> exit(pid, "kill")
 *   rpc.call(b, "observer", "supervision") ------> supervision trees, from supervisors' status
 * ```
 *
 * A node started with `--rpc-allow` answers only when `observer.*` is
 * allowed. Answers are plain data (pids as text) so they cross the wire
 * and go to a browser as they are.
 *
 * @example
 * ```ts
 * import { observerModule } from "./observer_module.ts";
 * import { Runtime } from "../process/runtime.ts";
 * const runtime = new Runtime({ node: "a@h" });
 * const obs = observerModule({ runtime, connections: () => [] });
 * const me = runtime.open({ label: "me" });
 * console.assert(obs.processes().some((p) => p.label === "me"));
 * console.assert(obs.kill(me.self.id, me.self.serial) && !runtime.isAlive(me.self));
 * obs.stop();
 * await runtime.shutdown();
 * ```
 *
 * @module
 */

import type { ConnectionStats } from "../distribution/net_kernel.ts";
import type { Runtime } from "../process/runtime.ts";
import { Pid } from "../term/pid.ts";
import { EventLoopDelay, type EventLoopDelayStats } from "./event_loop.ts";

/** What the module reads its answers from. */
export interface ObserverFacts {
  /** The node's runtime. */
  runtime: Runtime;
  /** The node's connections and their figures (the kernel's `connectionStats`). */
  connections(): ConnectionStats[];
  /** The rpc circuit breakers of the nodes it calls. */
  breakers?(): BreakerView[];
}

/** A circuit breaker as the observer shows it (rpc's `CircuitInfo`). */
export interface BreakerView {
  /** The node called. */
  node: string;
  /** closed, open or half_open. */
  state: string;
  /** Failures in the current window. */
  failures: number;
  /** While open: ms until a probe may go. */
  retryInMs: number;
}

/** One node's figures, as `observer.figures()` answers. */
export interface NodeFigures {
  /** The node. */
  node: string;
  /** `Date.now()` when measured. */
  at: number;
  /** Resident set size, bytes. */
  rss: number;
  /** V8 heap used, bytes. */
  heapUsed: number;
  /** V8 heap total, bytes. */
  heapTotal: number;
  /** Live processes. */
  processes: number;
  /** Event-loop delay over the last few seconds (sampled from the first call on). */
  eventLoopDelay: EventLoopDelayStats;
  /** Its connections. */
  connections: ConnectionStats[];
  /** Its rpc circuit breakers, one per node it has called. */
  breakers: BreakerView[];
}

/** One process, as `observer.processes()` lists it. */
export interface ProcessRow {
  /** `#PID<node.id.serial>`. */
  pid: string;
  /** Its number on the node. */
  id: number;
  /** Its serial. */
  serial: number;
  /** Registered name, or "". */
  name: string;
  /** Label or initial function, or "". */
  label: string;
  /** running, waiting or suspended. */
  status: string;
  /** Messages in its mailbox. */
  mailbox: number;
  /**
   * Estimated bytes its mailbox holds (a walk of the first messages,
   * extrapolated): JavaScript has no per-process heap, so this is the
   * memory the process can be blamed for.
   */
  memory: number;
  /** Messages it has taken out of its mailbox. */
  handled: number;
  /** Links. */
  links: number;
}

/** One process in detail (`observer.process(id, serial)`). */
export interface ProcessDetail extends ProcessRow {
  /** Linked pids. */
  linkedTo: string[];
  /** What it monitors. */
  monitors: string[];
  /** Who monitors it. */
  monitoredBy: string[];
  /** Whether it traps exits. */
  trapExit: boolean;
  /** The first messages of its mailbox, as text. */
  mailboxPeek: string[];
  /** Its behaviour (`Counter`, `SupervisorServer`...), when it runs one. */
  behaviour?: string;
  /** Its state as its behaviour shows it (GenServer's `formatStatus`), as text. */
  state?: string;
}

/** One process in a supervision tree. */
export interface SupervisionNode {
  /** The child id under its supervisor ("" for a root). */
  id: string;
  /** `#PID<...>`, or "" while the child is not running. */
  pid: string;
  /** `supervisor` or `worker`. */
  type: string;
  /** Its label or registered name. */
  label: string;
  /** A supervisor's strategy. */
  strategy?: string;
  /** Whether a failed restart waits to be tried again. */
  restarting?: boolean;
  /** A supervisor's children, in start order. */
  children: SupervisionNode[];
}

/** The `observer` module's functions. */
export interface ObserverModule {
  /** This node's figures. */
  figures(): NodeFigures;
  /** Every live process. */
  processes(): ProcessRow[];
  /** One process in detail, or `null` when it is gone. */
  process(id: number, serial: number): ProcessDetail | null;
  /** Kills a process (`exit(pid, "kill")`); `false` when it was not alive. */
  kill(id: number, serial: number): boolean;
  /** The supervision trees of the node: its top supervisors, their children nested. */
  supervision(): SupervisionNode[];
  /** Stops the event-loop sampler (the rpc service calls it on stop). */
  stop(): void;
}

const PEEK = 10;

/** Roughly how many bytes a value holds: strings by length, objects by a bounded walk. */
function estimate(value: unknown, budget: { left: number }): number {
  if (budget.left-- <= 0) return 8;
  switch (typeof value) {
    case "string":
      return 16 + value.length * 2;
    case "number":
    case "boolean":
    case "undefined":
      return 8;
    case "bigint":
      return 16;
    case "object": {
      if (value === null) return 8;
      if (ArrayBuffer.isView(value)) return 64 + value.byteLength;
      let n = 32;
      if (Array.isArray(value)) { for (const v of value) n += 8 + estimate(v, budget); }
      else if (value instanceof Map) n += 64 * value.size;
      else for (const k in value) n += 8 + estimate((value as Record<string, unknown>)[k], budget);
      return n;
    }
    default:
      return 32;
  }
}

function describeMessage(msg: unknown, max = 300, breakLength = Infinity): string {
  let text: string;
  try {
    text = Deno.inspect(msg, { depth: 4, colors: false, breakLength });
  } catch {
    text = String(msg);
  }
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** What a supervisor's status shows (Supervisor's and DynamicSupervisor's `formatStatus`). */
interface SupervisorStatus {
  strategy: string;
  children: { id: unknown; pid?: string; type: string; restarting: boolean }[];
}

function supervisorStatus(value: unknown): SupervisorStatus | undefined {
  const state = (value as { state?: unknown } | undefined)?.state as SupervisorStatus | undefined;
  return typeof state === "object" && state !== null && Array.isArray(state.children) &&
      typeof state.strategy === "string"
    ? state
    : undefined;
}

/**
 * Makes the `observer` module of one node.
 *
 * @param facts the node's runtime and connections
 * @returns the module
 */
export function observerModule(facts: ObserverFacts): ObserverModule {
  const { runtime } = facts;
  const delay = new EventLoopDelay();
  const pidOf = (id: number, serial: number): Pid => {
    if (!Number.isInteger(id) || !Number.isInteger(serial) || id < 0 || serial < 0) {
      throw new TypeError(`Invalid process: expected id and serial, received ${id}, ${serial}`);
    }
    return new Pid(runtime.node, id, serial, runtime.creation);
  };
  const row = (pid: Pid): ProcessRow | undefined => {
    const info = runtime.info(pid);
    if (info === undefined) return undefined;
    let memory = 0;
    if (info.messageQueueLen > 0) {
      const sample = runtime.peek(pid, 20) ?? [];
      const budget = { left: 2000 };
      for (const m of sample) memory += estimate(m, budget);
      memory = Math.round(memory * info.messageQueueLen / Math.max(1, sample.length));
    }
    return {
      pid: pid.toString(),
      id: pid.id,
      serial: pid.serial,
      name: info.registeredName ?? "",
      label: info.label ?? "",
      status: info.status,
      mailbox: info.messageQueueLen,
      memory,
      handled: info.messagesHandled,
      links: info.links.length,
    };
  };
  const statusOf = (pid: Pid): { behaviour?: string; state?: string } => {
    const s = runtime.status(pid);
    if (s === undefined) return {};
    if ("error" in s) return { state: `(formatStatus threw: ${describeMessage(s.error)})` };
    const v = s.value as { behaviour?: unknown; state?: unknown };
    return typeof v === "object" && v !== null && typeof v.behaviour === "string"
      ? { behaviour: v.behaviour, state: describeMessage(v.state, 4000, 100) }
      : { state: describeMessage(s.value, 4000, 100) };
  };
  return {
    figures(): NodeFigures {
      delay.start();
      const mem = Deno.memoryUsage();
      return {
        node: runtime.node,
        at: Date.now(),
        rss: mem.rss,
        heapUsed: mem.heapUsed,
        heapTotal: mem.heapTotal,
        processes: runtime.list().length,
        eventLoopDelay: delay.stats(),
        connections: facts.connections(),
        breakers: facts.breakers?.() ?? [],
      };
    },
    processes(): ProcessRow[] {
      const out: ProcessRow[] = [];
      for (const pid of runtime.list()) {
        const r = row(pid);
        if (r !== undefined) out.push(r);
      }
      return out;
    },
    process(id: number, serial: number): ProcessDetail | null {
      const pid = pidOf(id, serial);
      const r = row(pid);
      const info = runtime.info(pid);
      if (r === undefined || info === undefined) return null;
      return {
        ...r,
        linkedTo: info.links.map(String),
        monitors: info.monitors.map((m) => m instanceof Pid ? m.toString() : `${m.name}@${m.node}`),
        monitoredBy: info.monitoredBy.map(String),
        trapExit: info.trapExit,
        mailboxPeek: (runtime.peek(pid, PEEK) ?? []).map((m) => describeMessage(m)),
        ...statusOf(pid),
      };
    },
    supervision(): SupervisionNode[] {
      const sups = new Map<string, { pid: Pid; status: SupervisorStatus }>();
      for (const pid of runtime.list()) {
        const s = runtime.status(pid);
        const status = s !== undefined && "value" in s ? supervisorStatus(s.value) : undefined;
        if (status !== undefined) sups.set(pid.toString(), { pid, status });
      }
      const nested = new Set<string>();
      for (const { status } of sups.values()) {
        for (const c of status.children) if (c.pid !== undefined) nested.add(c.pid);
      }
      const labelOf = (pid: Pid): string => {
        const info = runtime.info(pid);
        return info?.registeredName ?? info?.label ?? "";
      };
      const build = (
        key: string,
        id: string,
        type: string,
        restarting: boolean,
        depth: number,
      ): SupervisionNode => {
        const sup = sups.get(key);
        const node: SupervisionNode = {
          id,
          pid: key,
          type,
          label: sup !== undefined ? labelOf(sup.pid) : "",
          restarting,
          children: [],
        };
        if (sup === undefined || depth > 32) return node;
        node.strategy = sup.status.strategy;
        node.children = sup.status.children.map((c) =>
          build(c.pid ?? "", String(c.id ?? ""), c.type, c.restarting, depth + 1)
        );
        return node;
      };
      const roots = [...sups.keys()].filter((k) => !nested.has(k));
      const trees = roots.map((k) => build(k, "", "supervisor", false, 0));
      // Labels of workers come from the runtime too.
      const fill = (n: SupervisionNode) => {
        if (n.label === "" && n.pid !== "") {
          const live = runtime.list().find((p) => p.toString() === n.pid);
          if (live !== undefined) n.label = labelOf(live);
        }
        n.children.forEach(fill);
      };
      trees.forEach(fill);
      return trees;
    },
    kill(id: number, serial: number): boolean {
      const pid = pidOf(id, serial);
      if (!runtime.isAlive(pid)) return false;
      runtime.exit(pid, "kill");
      return true;
    },
    stop(): void {
      delay.stop();
    },
  };
}
