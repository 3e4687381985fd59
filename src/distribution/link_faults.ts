/**
 * Injected link faults (latency, jitter, loss, bandwidth) for chaos and partition
 * tests: a decorator in front of the node kernel's send path. What the
 * kernel sends to a node with a fault set passes through here and is
 * delayed or dropped; to every other node it goes straight on, so a
 * message crosses the kernel once, with or without faults.
 *
 * ```
 * NetKernel.route / sendOp --> LinkFaults.send(node, ...)
 *   no fault on node:  --> deliver(node, ...)            (the kernel's real send)
 *   fault:             drop at random, or hold until due behind what is
 *                      held for that node, then --> deliver(node, ...)
 * ```
 *
 * Ticks are not sent through here (the connection sends them), so a
 * delayed link still looks alive unless the delay outlasts the tick time,
 * as a slow network would. Setting a link's fault to none lets what is
 * held go out when due, in order; `clear` drops it all (the node stops).
 *
 * @example
 * ```ts
 * import { LinkFaults } from "./link_faults.ts";
 * const sent: string[] = [];
 * const faults = new LinkFaults((node) => sent.push(node));
 * faults.set("b@h", { drop: 1 });
 * faults.send("b@h", new Uint8Array(1), undefined, true);
 * faults.send("c@h", new Uint8Array(1), undefined, true);
 * console.assert(sent.join() === "c@h");
 * faults.clear();
 * ```
 *
 * @module
 */

import type { MessageBody } from "./connection.ts";

/**
 * Fault injection on the link to one node (`NetKernel.setLinkFault`):
 * what this node sends there (signals and operations; not ticks) is
 * delayed or dropped. Delayed messages keep their order.
 */
export interface LinkFault {
  /** Milliseconds added to each message. Default 0. */
  delay?: number;
  /** Up to this many more milliseconds, at random. Default 0. */
  jitter?: number;
  /** The share of messages dropped, 0-1. Default 0. */
  drop?: number;
  /**
   * The share of messages lost once and sent again, 0-1, as TCP does with a
   * lost segment: such a message comes a retransmission timeout late
   * (twice the delay plus the jitter, at least 200 ms), and the ones after
   * it wait behind it. Nothing is lost. Default 0.
   */
  loss?: number;
  /**
   * Bytes per second the link carries: each message takes its size over
   * this rate on the wire, one after another, before its delay starts (as
   * netem's `rate`). Default 0: unlimited.
   */
  bandwidth?: number;
}

/** The real send behind the faults: the node kernel's. */
export type Deliver = (node: string, body: MessageBody, key: unknown, connect: boolean) => void;

interface Held {
  due: number;
  body: MessageBody;
  key: unknown;
  connect: boolean;
}

interface Link {
  fault: Required<LinkFault>;
  /** When the wire is free again (`performance.now()` ms), under a bandwidth. */
  wireFree: number;
  queue: Held[];
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * The injected faults of one node's links.
 *
 * @example
 * ```ts
 * import { LinkFaults } from "./link_faults.ts";
 * const faults = new LinkFaults(() => {});
 * faults.set("b@h", { delay: 50 });
 * console.assert(faults.list()["b@h"]?.delay === 50);
 * faults.clear();
 * ```
 */
export class LinkFaults {
  readonly #deliver: Deliver;
  readonly #links = new Map<string, Link>();

  /** @param deliver the real send, called for what passes (now or when due) */
  constructor(deliver: Deliver) {
    this.#deliver = deliver;
  }

  /**
   * Sets or removes (`undefined`, or all zero) the fault on the link to
   * `node`. Messages already held still go out, in order, when due.
   *
   * @param node the full node name
   * @param fault the delay, jitter, drop and loss rates and bandwidth
   * @throws {RangeError} when a delay or the bandwidth is negative or a rate is not in 0-1
   */
  set(node: string, fault: LinkFault | undefined): void {
    const f = {
      delay: fault?.delay ?? 0,
      jitter: fault?.jitter ?? 0,
      drop: fault?.drop ?? 0,
      loss: fault?.loss ?? 0,
      bandwidth: fault?.bandwidth ?? 0,
    };
    if (
      !(f.delay >= 0 && f.jitter >= 0 && f.drop >= 0 && f.drop <= 1 && f.loss >= 0 &&
        f.loss <= 1 && f.bandwidth >= 0 && Number.isFinite(f.bandwidth))
    ) {
      throw new RangeError(
        `Invalid link fault: delay and jitter must be >= 0 ms, drop and loss 0-1, bandwidth >= 0 bytes/s, received ${
          JSON.stringify(fault)
        }`,
      );
    }
    const none = isNone(f);
    const link = this.#links.get(node);
    if (link !== undefined) {
      link.fault = f;
      if (none && link.queue.length === 0) {
        clearTimeout(link.timer);
        this.#links.delete(node);
      }
    } else if (!none) {
      this.#links.set(node, { fault: f, wireFree: 0, queue: [], timer: undefined });
    }
  }

  /** The links with a fault in force, by node. */
  list(): Record<string, LinkFault> {
    const out: Record<string, LinkFault> = {};
    for (const [node, link] of this.#links) {
      const { delay, jitter, drop, loss, bandwidth } = link.fault;
      // `loss` and `bandwidth` are listed only when set, so the usual three read as before.
      if (!isNone(link.fault)) {
        out[node] = {
          delay,
          jitter,
          drop,
          ...(loss > 0 ? { loss } : {}),
          ...(bandwidth > 0 ? { bandwidth } : {}),
        };
      }
    }
    return out;
  }

  /**
   * Sends `body` to `node` through the link's fault, if any.
   *
   * @param node the full node name
   * @param body the message body
   * @param key its order key
   * @param connect whether it may start a connection
   */
  send(node: string, body: MessageBody, key: unknown, connect: boolean): void {
    const link = this.#links.get(node);
    if (link === undefined) {
      this.#deliver(node, body, key, connect);
      return;
    }
    const { delay, jitter, drop, loss, bandwidth } = link.fault;
    if (drop > 0 && Math.random() < drop) return;
    const resent = loss > 0 && Math.random() < loss ? Math.max(200, 2 * delay + jitter) : 0;
    let sent = performance.now();
    if (bandwidth > 0) {
      // On the wire after what went before it, for its size over the rate.
      sent = Math.max(sent, link.wireFree) + body.length * 1000 / bandwidth;
      link.wireFree = sent;
    }
    // Held until due, behind what is held already: order is kept.
    const due = Math.max(
      sent + delay + Math.random() * jitter + resent,
      link.queue.at(-1)?.due ?? 0,
    );
    link.queue.push({ due, body, key, connect });
    if (link.timer === undefined) this.#releaseLater(node, link);
  }

  /** Drops every fault and everything held (the node stops). */
  clear(): void {
    for (const link of this.#links.values()) clearTimeout(link.timer);
    this.#links.clear();
  }

  /** Sends the held messages of `link` as they fall due. */
  #releaseLater(node: string, link: Link): void {
    const head = link.queue[0];
    if (head === undefined) return;
    link.timer = setTimeout(() => {
      link.timer = undefined;
      const now = performance.now();
      while (link.queue[0] !== undefined && link.queue[0].due <= now + 0.5) {
        const q = link.queue.shift()!;
        this.#deliver(node, q.body, q.key, q.connect);
      }
      if (link.queue.length > 0) this.#releaseLater(node, link);
      else if (isNone(link.fault) && this.#links.get(node) === link) this.#links.delete(node);
    }, Math.max(0, head.due - performance.now()));
  }
}

/** Whether `f` changes nothing. */
function isNone(f: Required<LinkFault>): boolean {
  return f.delay === 0 && f.jitter === 0 && f.drop === 0 && f.loss === 0 && f.bandwidth === 0;
}
