/**
 * Prevention of overlapping partitions (OTP 25's
 * `prevent_overlapping_partitions`): when a link between two nodes is
 * lost while a third node still sees both, the cluster is no longer one
 * fully connected mesh, and services that assume one (global names, pg,
 * leader election) can disagree for ever. The guard turns such a partial
 * partition into clean, fully connected partitions by having the nodes
 * that see both ends cut themselves off from one end.
 *
 * Protocol (between the `weft_cluster` processes of the nodes):
 *
 * ```
 * A loses B (nodedown) --report {reporter A, peer B, up: false, creation, seq}--> every peer of A
 * C gets a report       --forward (once per seq)--> its peers
 *                        C records it; if C is connected to both A and B, the link A-B is missing
 * C resolves            keeps a fully connected set: itself, then its peers by fewest missing
 *                        links (ties: by name), each kept only if linked to all kept so far;
 *                        blocks (NetKernel.block) the rest  -> overlap_disconnect
 * A regains B (nodeup)  --report {reporter A, peer B, up: true}--> every peer (forwarded)
 * C (blocked B for A-B) on that report, or when A says B is connected
 *                        (probe every probeInterval), or when A is no longer a peer:
 *                        unblocks B, dials it again        -> overlap_cleared
 * a new peer D          <--A's current losses-- so D learns them too
 * ```
 *
 * Every node runs the same rule over the same reports, so the nodes that
 * see both ends of a lost link cut off the same end. A report is held
 * against a link only once both its ends have been connected here for
 * `grace` ms: a node that just joined, restarted or came back from a heal
 * gets that long to reach the others before it counts as cut off from them.
 *
 * Only visible nodes take part; a node that does not run the guard is
 * neither informed nor consulted.
 *
 * @example
 * ```ts
 * import { missingLinksKeep } from "./overlap_guard.ts";
 * // a and b lost each other; c and d see both: everyone keeps a and drops b.
 * const keep = missingLinksKeep("c", ["a", "b", "d"], [["a", "b"]]);
 * console.assert(keep.has("a") && !keep.has("b") && keep.has("d"));
 * ```
 *
 * @module
 */

import type { NetKernel } from "../distribution/net_kernel.ts";
import { logger } from "../log.ts";
import type { Pid } from "../term/pid.ts";
import type { ClusterEvents } from "./events.ts";

const log = logger("cluster");

/** A node's report that its link to `peer` went down or came up. */
export interface LinkReport {
  type: "overlap_report";
  /** The node whose link it is. */
  reporter: string;
  /** The other end. */
  peer: string;
  /** Up again (`true`) or lost. */
  up: boolean;
  /** The peer's creation when the link was lost (for diagnostics). */
  creation: number;
  /** Grows with each report of the reporter (its clock, kept increasing). */
  seq: number;
}

/** "Are you connected to `node`?" — from a node that cut `node` off for this link. */
export interface LinkProbe {
  type: "overlap_probe";
  /** Who asks (its cluster process). */
  from: Pid;
  /** The node asked about. */
  node: string;
}

/** The answer to a {@linkcode LinkProbe}. */
export interface LinkProbeReply {
  type: "overlap_probe_reply";
  /** The node that answers. */
  from: string;
  /** The node asked about. */
  node: string;
  /** Whether it is connected to it. */
  connected: boolean;
}

/** The messages the guards exchange. */
export type OverlapMessage = LinkReport | LinkProbe | LinkProbeReply;

/**
 * Whether `msg` is one of the guard's messages.
 *
 * @param msg any message
 * @returns `true` for a report, probe or probe reply
 *
 * @example
 * ```ts
 * import { isOverlapMessage } from "./overlap_guard.ts";
 * console.assert(!isOverlapMessage({ type: "nodeup" }));
 * ```
 */
export function isOverlapMessage(msg: unknown): msg is OverlapMessage {
  const t = (msg as { type?: unknown } | null)?.type;
  return t === "overlap_report" || t === "overlap_probe" || t === "overlap_probe_reply";
}

/** Options of {@linkcode OverlapGuard}. */
export interface OverlapGuardOptions {
  /** Milliseconds between two checks of the cut-off nodes (and re-resolves). Default 1000. */
  probeInterval?: number;
  /** Milliseconds a node newly connected here has to reach the others before reports count against it. Default 3000. */
  grace?: number;
}

/** What the guard needs from its cluster. */
export interface OverlapGuardHost {
  /** This node's name. */
  readonly self: string;
  /** This node's cluster process. */
  readonly pid: Pid;
  /** The kernel: visible nodes, peer creations, block/unblock. */
  readonly kernel: NetKernel;
  /** Where overlap events go. */
  readonly events: ClusterEvents;
  /** Sends a guard message to the cluster process of a connected node. */
  send(node: string, msg: OverlapMessage): void;
  /** Dials `node` again now (the topologies that list it). */
  kick(node: string): void;
}

interface ReportEntry {
  up: boolean;
  creation: number;
  seq: number;
}

/**
 * The nodes to stay connected to, given the missing links among this
 * node's peers: itself first, then peers by fewest missing links (ties
 * by name), each kept only if linked to every node kept so far.
 *
 * @param self this node
 * @param peers its connected peers
 * @param missing links known lost between two of them
 * @returns the nodes to keep (`self` included)
 *
 * @example
 * ```ts
 * import { missingLinksKeep } from "./overlap_guard.ts";
 * // b lost both a1 and a2: b goes.
 * const keep = missingLinksKeep("c", ["a1", "a2", "b"], [["a1", "b"], ["a2", "b"]]);
 * console.assert(keep.size === 3 && !keep.has("b"));
 * ```
 */
export function missingLinksKeep(
  self: string,
  peers: Iterable<string>,
  missing: readonly (readonly [string, string])[],
): Set<string> {
  const count = new Map<string, number>();
  const lost = new Set<string>();
  for (const [x, y] of missing) {
    count.set(x, (count.get(x) ?? 0) + 1);
    count.set(y, (count.get(y) ?? 0) + 1);
    lost.add(`${x}\n${y}`).add(`${y}\n${x}`);
  }
  const order = [...new Set(peers)].filter((p) => p !== self).sort((a, b) =>
    (count.get(a) ?? 0) - (count.get(b) ?? 0) || (a < b ? -1 : a > b ? 1 : 0)
  );
  const keep = new Set([self]);
  for (const n of order) {
    if (![...keep].some((k) => lost.has(`${k}\n${n}`))) keep.add(n);
  }
  return keep;
}

/**
 * One node's guard against overlapping partitions; its cluster feeds it
 * node events and guard messages.
 */
export class OverlapGuard {
  #host: OverlapGuardHost;
  #probeInterval: number;
  #grace: number;
  /** reporter -> peer -> its latest report. */
  #reports = new Map<string, Map<string, ReportEntry>>();
  #seq = 0;
  /** Our own lost links: peer -> the report we sent. */
  #ownLost = new Map<string, ReportEntry>();
  /** Creation of each connected visible peer, and when it came up. */
  #peers = new Map<string, { creation: number; since: number }>();
  /** Nodes we cut off: node -> the link that made us. */
  #dropped = new Map<string, { other: string; reporter: string; lost: string }>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  /**
   * @param host the node's kernel, events and messaging
   * @param options probe interval and grace
   * @throws {RangeError} when a timing is not positive
   */
  constructor(host: OverlapGuardHost, options: OverlapGuardOptions = {}) {
    this.#host = host;
    this.#probeInterval = options.probeInterval ?? 1000;
    this.#grace = options.grace ?? 3000;
    if (!(this.#probeInterval > 0) || !(this.#grace >= 0)) {
      throw new RangeError(
        `Invalid overlap guard timings: probeInterval must be > 0 and grace >= 0, received ${this.#probeInterval} and ${this.#grace}`,
      );
    }
  }

  /** Takes the peers already connected and starts the periodic check. */
  start(): void {
    for (const node of this.#host.kernel.nodes("visible")) this.#remember(node);
    this.#schedule();
  }

  /** Stops; nodes it cut off are let through again. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    for (const node of this.#dropped.keys()) this.#host.kernel.unblock(node);
    this.#dropped.clear();
  }

  /** The nodes it keeps cut off now. */
  dropped(): string[] {
    return [...this.#dropped.keys()];
  }

  /** The links known lost between connected peers, as `[reporter, peer]`. */
  missing(): [string, string][] {
    return this.#missing(new Set(this.#host.kernel.nodes("visible")), Date.now());
  }

  /**
   * A visible node came up.
   *
   * @param node the node
   */
  nodeUp(node: string): void {
    if (this.#stopped) return;
    this.#remember(node);
    const own = this.#ownLost.get(node);
    if (own !== undefined) {
      this.#ownLost.delete(node);
      this.#broadcast({ up: true, peer: node, creation: own.creation }, [node]);
    }
    // The new peer learns what we cannot reach.
    for (const [peer, e] of this.#ownLost) {
      this.#host.send(node, this.#report(peer, e));
    }
    this.#resolve();
  }

  /**
   * A visible node went down.
   *
   * @param node the node
   */
  nodeDown(node: string): void {
    if (this.#stopped) return;
    const creation = this.#peers.get(node)?.creation ?? 0;
    this.#peers.delete(node);
    this.#reports.delete(node);
    // A node this guard cut off on purpose is not a lost link: reporting it
    // would make the others cut it off too, and each of those cuts would be
    // reported in turn, until the node is isolated for good.
    if (!this.#dropped.has(node)) this.#broadcast({ up: false, peer: node, creation }, [node]);
    this.#resolve();
  }

  /**
   * A guard message from `sender`.
   *
   * @param msg the message
   */
  receive(msg: OverlapMessage): void {
    if (this.#stopped) return;
    switch (msg.type) {
      case "overlap_report":
        this.#onReport(msg);
        return;
      case "overlap_probe": {
        const from = msg.from.node;
        this.#host.send(from, {
          type: "overlap_probe_reply",
          from: this.#host.self,
          node: msg.node,
          // Cut off here on purpose counts as connected: the link itself is
          // not lost, so it is no reason for the asker to keep its cut.
          connected: this.#host.kernel.nodes("visible").includes(msg.node) ||
            this.#dropped.has(msg.node),
        });
        return;
      }
      case "overlap_probe_reply": {
        const d = this.#dropped.get(msg.node);
        if (d !== undefined && d.other === msg.from && msg.connected) this.#clear(msg.node);
        return;
      }
    }
  }

  #remember(node: string): void {
    const peer = this.#host.kernel.peer(node);
    if (peer === undefined || peer.hidden) return;
    this.#peers.set(node, { creation: peer.creation, since: Date.now() });
  }

  #nextSeq(): number {
    this.#seq = Math.max(this.#seq + 1, Date.now());
    return this.#seq;
  }

  #report(peer: string, e: ReportEntry): LinkReport {
    return { type: "overlap_report", reporter: this.#host.self, peer, ...e };
  }

  /** Reports one of our links to every visible peer but `except`. */
  #broadcast(link: { up: boolean; peer: string; creation: number }, except: string[]): void {
    const entry: ReportEntry = { up: link.up, creation: link.creation, seq: this.#nextSeq() };
    if (!link.up) this.#ownLost.set(link.peer, entry);
    const report = this.#report(link.peer, entry);
    for (const node of this.#host.kernel.nodes("visible")) {
      if (!except.includes(node)) this.#host.send(node, report);
    }
  }

  #onReport(r: LinkReport): void {
    if (r.reporter === this.#host.self) return;
    let entries = this.#reports.get(r.reporter);
    const known = entries?.get(r.peer);
    if (known !== undefined && known.seq >= r.seq) return;
    if (entries === undefined) this.#reports.set(r.reporter, entries = new Map());
    entries.set(r.peer, { up: r.up, creation: r.creation, seq: r.seq });
    // Pass it on once, so nodes that lost the reporter meanwhile hear it too.
    for (const node of this.#host.kernel.nodes("visible")) {
      if (node !== r.reporter && node !== r.peer) this.#host.send(node, r);
    }
    if (r.up) {
      const d = this.#dropped.get(r.peer);
      if (d !== undefined && d.other === r.reporter) this.#clear(r.peer);
      const back = this.#dropped.get(r.reporter);
      if (back !== undefined && back.other === r.peer) this.#clear(r.reporter);
    }
    this.#resolve();
  }

  /** The lost links between two connected peers that apply now. */
  #missing(
    peers: Set<string>,
    now: number,
  ): [string, string][] {
    const links: [string, string][] = [];
    for (const [reporter, entries] of this.#reports) {
      if (!peers.has(reporter)) continue;
      for (const [peer, e] of entries) {
        if (e.up || peer === this.#host.self || !peers.has(peer)) continue;
        // Either end joined us only just (a restart, a heal, a reconnect):
        // give the mesh time to re-form before holding the report against it.
        // (An end whose nodeup is still on its way counts as just joined.)
        const due = Math.max(
          this.#peers.get(peer)?.since ?? now,
          this.#peers.get(reporter)?.since ?? now,
        ) + this.#grace;
        // The periodic check looks again once it is due.
        if (now < due) continue;
        links.push([reporter, peer]);
      }
    }
    return links;
  }

  #resolve(): void {
    if (this.#stopped) return;
    const peers = new Set(this.#host.kernel.nodes("visible"));
    const links = this.#missing(peers, Date.now());
    if (links.length === 0) return;
    const keep = missingLinksKeep(this.#host.self, peers, links);
    for (const node of peers) {
      if (keep.has(node) || this.#dropped.has(node)) continue;
      const link = links.find(([x, y]) =>
        (x === node && keep.has(y)) || (y === node && keep.has(x))
      )!;
      const other = link[0] === node ? link[1] : link[0];
      this.#dropped.set(node, { other, reporter: link[0], lost: link[1] });
      this.#host.kernel.block(node);
      this.#host.events.emit({
        type: "overlap_disconnect",
        node,
        reporter: link[0],
        lost: link[1],
      });
    }
  }

  #clear(node: string): void {
    if (!this.#dropped.delete(node)) return;
    this.#host.kernel.unblock(node);
    this.#host.events.emit({ type: "overlap_cleared", node });
    this.#host.kick(node);
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#tick();
      this.#schedule();
    }, this.#probeInterval);
  }

  /** Periodic: re-resolve (grace periods end), and ask about the nodes we cut off. */
  #tick(): void {
    const peers = new Set(this.#host.kernel.nodes("visible"));
    for (const [node, d] of [...this.#dropped]) {
      if (!peers.has(d.other)) {
        log.debug("{other} is no longer a peer: {node} may connect again", {
          other: d.other,
          node,
        });
        this.#clear(node);
        continue;
      }
      this.#host.send(d.other, { type: "overlap_probe", from: this.#host.pid, node });
    }
    this.#resolve();
  }
}
