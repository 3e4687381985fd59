/**
 * Who is where in a multi-region cluster, apart from any I/O: this
 * region's members and gateways, and what the other regions' gateways
 * said about theirs.
 *
 * Gateways are the `gateways` lowest-named live members of a region (its
 * leader is the lowest), so every member that sees the same mesh names the
 * same ones without an election round, and when one is lost the next name
 * takes its place.
 *
 * ```
 * own region:     members = this node + its visible mesh
 *                 gateways = sort(members).slice(0, count), leader = gateways[0]
 * other regions:  HELLO / DIRECTORY from a gateway -> set(region, members, gateways)
 *                 regionOf(node): the region whose member list holds it
 * ```
 *
 * @example
 * ```ts
 * import { RegionDirectory } from "./directory.ts";
 * const dir = new RegionDirectory("us_east", "e2@h", 1);
 * dir.setOwnMembers(["e1@h", "e3@h"]);
 * console.log(dir.gateways()); // [ "e1@h" ]
 * dir.set("us_west", ["w1@h", "w2@h"], ["w1@h"]);
 * console.log(dir.regionOf("w2@h")); // us_west
 * ```
 *
 * @module
 */

/** What is known of one region. */
export interface RegionEntry {
  /** Its live members, sorted. */
  readonly members: readonly string[];
  /** Its gateways, in order (the first is its leader). */
  readonly gateways: readonly string[];
}

/** The regions as one node sees them. */
export class RegionDirectory {
  /** This node's region. */
  readonly region: string;
  /** This node. */
  readonly self: string;
  /** How many gateways this region has. */
  readonly gatewayCount: number;
  #own: string[];
  #foreign = new Map<string, RegionEntry>();
  #regionOf = new Map<string, string>();

  /**
   * @param region this node's region
   * @param self this node
   * @param gatewayCount gateways per region of this one
   * @throws {RangeError} when `gatewayCount` is not a positive integer
   */
  constructor(region: string, self: string, gatewayCount: number) {
    if (!Number.isInteger(gatewayCount) || gatewayCount < 1) {
      throw new RangeError(
        `Invalid gateway count for region ${region}: expected a positive integer, received ${gatewayCount}`,
      );
    }
    this.region = region;
    this.self = self;
    this.gatewayCount = gatewayCount;
    this.#own = [self];
  }

  /**
   * Sets this region's members (the visible mesh; this node is added).
   *
   * @returns whether the gateways changed
   */
  setOwnMembers(peers: Iterable<string>): boolean {
    const before = this.gateways().join();
    this.#own = [...new Set([this.self, ...peers])].filter((n) =>
      this.#regionOf.get(n) === undefined
    )
      .sort();
    return this.gateways().join() !== before;
  }

  /** This region's members, sorted. */
  members(): string[] {
    return [...this.#own];
  }

  /** This region's gateways, in order. */
  gateways(): string[] {
    return this.#own.slice(0, this.gatewayCount);
  }

  /** This region's leader (its first gateway). */
  leader(): string {
    return this.#own[0]!;
  }

  /** Whether this node is one of its region's gateways. */
  isGateway(): boolean {
    return this.gateways().includes(this.self);
  }

  /**
   * Records what a gateway of `region` said about it.
   *
   * @returns the members it no longer lists, or `undefined` when nothing changed
   */
  set(
    region: string,
    members: readonly string[],
    gateways: readonly string[],
  ): string[] | undefined {
    if (region === this.region) return undefined;
    const old = this.#foreign.get(region);
    const next: RegionEntry = { members: [...members].sort(), gateways: [...gateways] };
    if (
      old !== undefined && old.members.join() === next.members.join() &&
      old.gateways.join() === next.gateways.join()
    ) return undefined;
    // A node's region never changes: it stays known after it leaves, so that
    // messages to it go through the gateways (or fail) rather than dial it.
    for (const m of [...next.members, ...next.gateways]) this.#regionOf.set(m, region);
    this.#foreign.set(region, next);
    return (old?.members ?? []).filter((m) => !next.members.includes(m));
  }

  /** What is known of another region, if anything. */
  get(region: string): RegionEntry | undefined {
    return region === this.region
      ? { members: this.members(), gateways: this.gateways() }
      : this.#foreign.get(region);
  }

  /** The other regions known, sorted. */
  foreignRegions(): string[] {
    return [...this.#foreign.keys()].sort();
  }

  /** Every other region's entry, as DIRECTORY carries them. */
  foreignEntries(): [string, string[], string[]][] {
    return this.foreignRegions().map((
      r,
    ) => [r, [...this.#foreign.get(r)!.members], [...this.#foreign.get(r)!.gateways]]);
  }

  /**
   * The region of `node`: this one's for its members, another's when a
   * gateway ever listed it, `undefined` when nobody did.
   */
  regionOf(node: string): string | undefined {
    if (this.#own.includes(node)) return this.region;
    return this.#regionOf.get(node);
  }
}
