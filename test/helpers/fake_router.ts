/**
 * Stand-ins for the distribution layer in process-layer tests.
 *
 * - {@linkcode RecordingRouter} records every routed signal (and may react
 *   to it), for asserting what a runtime sends to other nodes.
 * - {@linkcode FakeNetwork} joins several in-process runtimes: signals are
 *   handed to the target runtime's `dispatch` a microtask later, in order,
 *   and a cut connection answers as the router contract says (`link` ->
 *   `link_exit`, `monitor` -> `down`, both `"noconnection"`).
 *
 * @example
 * ```ts
 * import { Runtime } from "../../src/process/runtime.ts";
 * import { RecordingRouter } from "./fake_router.ts";
 * const rt = new Runtime({ node: "a@localhost" });
 * const router = new RecordingRouter();
 * rt.router = router;
 * await rt.shutdown();
 * ```
 *
 * @module
 */

import type { Runtime } from "../../src/process/runtime.ts";
import type { Signal, SignalRouter } from "../../src/process/types.ts";

/** One signal a runtime handed to its router. */
export interface RoutedSignal {
  /** The node it was for. */
  node: string;
  /** The signal. */
  signal: Signal;
}

/**
 * A router that records what it is given and optionally reacts.
 *
 * @example
 * ```ts
 * import { RecordingRouter } from "./fake_router.ts";
 * const r = new RecordingRouter();
 * r.route("b@localhost", { op: "unlink", from: null!, to: null! });
 * console.assert(r.ops().join() === "unlink");
 * ```
 */
export class RecordingRouter implements SignalRouter {
  /** Every routed signal, oldest first. */
  readonly routed: RoutedSignal[] = [];
  /** Called after recording each signal (e.g. to answer it). */
  onRoute: ((node: string, signal: Signal) => void) | undefined;

  /** @param onRoute called after recording each signal */
  constructor(onRoute?: (node: string, signal: Signal) => void) {
    this.onRoute = onRoute;
  }

  route(node: string, signal: Signal): void {
    this.routed.push({ node, signal });
    this.onRoute?.(node, signal);
  }

  /** The ops routed so far, in order. */
  ops(): string[] {
    return this.routed.map((r) => r.signal.op);
  }

  /** The routed signals with this op. */
  ofOp<K extends Signal["op"]>(op: K): Extract<Signal, { op: K }>[] {
    return this.routed.filter((r) => r.signal.op === op).map((r) =>
      r.signal as Extract<Signal, { op: K }>
    );
  }

  /** Forgets what was recorded. */
  clear(): void {
    this.routed.length = 0;
  }
}

/**
 * Several runtimes joined as if by distribution, minus the wire.
 *
 * @example
 * ```ts
 * import { Runtime } from "../../src/process/runtime.ts";
 * import { FakeNetwork } from "./fake_router.ts";
 * const a = new Runtime({ node: "a@localhost" });
 * const b = new Runtime({ node: "b@localhost" });
 * const net = new FakeNetwork([a, b]);
 * const inbox = b.open();
 * a.send(inbox.self, "hi");
 * console.assert((await inbox.receive()) === "hi");
 * net.disconnect("a@localhost", "b@localhost");
 * await a.shutdown();
 * await b.shutdown();
 * ```
 */
export class FakeNetwork {
  #runtimes = new Map<string, Runtime>();
  #cut = new Set<string>();
  #queue: [Runtime, Signal][] = [];
  #scheduled = false;
  /** Every signal routed by any runtime, oldest first. */
  readonly routed: RoutedSignal[] = [];

  /** @param runtimes the runtimes to join; each gets a router */
  constructor(runtimes: Runtime[]) {
    for (const rt of runtimes) this.attach(rt);
  }

  /** Joins `rt` to the network by setting its router. */
  attach(rt: Runtime): void {
    this.#runtimes.set(rt.node, rt);
    rt.router = { route: (node, signal) => this.#route(rt, node, signal) };
  }

  /** Whether `a` and `b` can reach each other. */
  connected(a: string, b: string): boolean {
    return this.#runtimes.has(a) && this.#runtimes.has(b) && !this.#cut.has(pairKey(a, b));
  }

  /** Cuts the connection between `a` and `b`; each side sees the other go down. */
  disconnect(a: string, b: string): void {
    this.#cut.add(pairKey(a, b));
    this.#runtimes.get(a)?.nodeDown(b);
    this.#runtimes.get(b)?.nodeDown(a);
  }

  /** Restores the connection between `a` and `b`. */
  reconnect(a: string, b: string): void {
    this.#cut.delete(pairKey(a, b));
  }

  #route(from: Runtime, node: string, signal: Signal): void {
    this.routed.push({ node, signal });
    const target = this.#runtimes.get(node);
    if (target === undefined || !this.connected(from.node, node)) {
      // The router contract: answer links and monitors, drop the rest.
      if (signal.op === "link") {
        this.#enqueue(from, {
          op: "link_exit",
          from: signal.to,
          to: signal.from,
          reason: "noconnection",
        });
      } else if (signal.op === "monitor") {
        this.#enqueue(from, {
          op: "down",
          from: signal.to,
          to: signal.from,
          ref: signal.ref,
          reason: "noconnection",
        });
      }
      return;
    }
    this.#enqueue(target, signal);
  }

  #enqueue(target: Runtime, signal: Signal): void {
    this.#queue.push([target, signal]);
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => this.#flush());
    }
  }

  #flush(): void {
    this.#scheduled = false;
    const queue = this.#queue;
    this.#queue = [];
    for (const [target, signal] of queue) target.dispatch(signal);
  }
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}
