/**
 * The `static` strategy (libcluster's `Cluster.Strategy.Epmd`): a fixed
 * list of node names. `name@host` nodes are found through the port mapper
 * on their host; `name@host:port` nodes are dialled at that port directly
 * (for nodes run with `--no-epmd`). The list is reported once at start,
 * and again whenever {@linkcode StaticStrategy.set} changes it.
 *
 * ```json
 * { "strategy": "static", "config": { "nodes": ["a@10.0.0.1", "b@10.0.0.2"] } }
 * ```
 *
 * @example
 * ```ts
 * import { StaticStrategy } from "./static.ts";
 * const s = new StaticStrategy({ nodes: ["a@127.0.0.1", "b@127.0.0.1:4370"] });
 * console.assert(s.kind === "static" && s.nodes.length === 2);
 * ```
 *
 * @module
 */

import { parseNodeName } from "../../term/node_name.ts";
import { configError, object, onlyKeys, stringList } from "../_config.ts";
import type { DiscoveredNode, Strategy, StrategyContext } from "../strategy.ts";

/** Configuration of {@linkcode StaticStrategy}. */
export interface StaticConfig {
  /** The node names, `name@host` or `name@host:port`. */
  nodes: string[];
}

/**
 * A fixed list of nodes.
 *
 * @example
 * ```ts
 * import { StaticStrategy } from "./static.ts";
 * const s = new StaticStrategy({ nodes: [] });
 * s.set(["c@127.0.0.1"]);
 * console.assert(s.nodes[0] === "c@127.0.0.1");
 * ```
 */
export class StaticStrategy implements Strategy {
  /** `"static"`. */
  readonly kind = "static";
  #nodes: string[];
  #context: StrategyContext | undefined;
  #stopped = false;

  /**
   * @param config the node names
   * @throws {TypeError} when the config or a node name is malformed
   */
  constructor(config: StaticConfig) {
    this.#nodes = checkNodes(config, "static");
  }

  /** The configured names. */
  get nodes(): string[] {
    return [...this.#nodes];
  }

  /** Reports the list. */
  start(context: StrategyContext): Promise<void> {
    this.#context = context;
    this.#report();
    return Promise.resolve();
  }

  /** Stops reporting. */
  stop(): Promise<void> {
    this.#stopped = true;
    return Promise.resolve();
  }

  /** The listed names, without this node (and without ports). */
  members(): string[] {
    const self = this.#context?.self;
    return this.#nodes.map((n) => parseNodeName(n).full).filter((n) => n !== self);
  }

  /**
   * Replaces the list (and reports it, when running).
   *
   * @param nodes the new node names
   * @throws {TypeError} when a name is malformed
   */
  set(nodes: string[]): void {
    this.#nodes = checkNodes({ nodes }, "static");
    this.#report();
  }

  #report(): void {
    if (this.#context === undefined || this.#stopped) return;
    this.#context.update(this.#nodes.map((name): DiscoveredNode => ({ name })));
  }
}

/**
 * Reads a `static` config from JSON.
 *
 * @param raw the `config` value
 * @param path where it sits, for error messages
 * @returns the config
 * @throws {TypeError} naming the bad value
 *
 * @example
 * ```ts
 * import { parseStaticConfig } from "./static.ts";
 * console.assert(parseStaticConfig({ nodes: ["a@h"] }, "config").nodes[0] === "a@h");
 * ```
 */
export function parseStaticConfig(raw: unknown, path: string): StaticConfig {
  const o = object(raw, path);
  onlyKeys(o, ["nodes"], path);
  return { nodes: checkNodes({ nodes: stringList(o, "nodes", path) }, path) };
}

function checkNodes(config: StaticConfig, path: string): string[] {
  const o = object(config, path);
  const nodes = stringList(o, "nodes", path);
  nodes.forEach((n, i) => {
    try {
      parseNodeName(n);
    } catch (e) {
      throw configError(`${path}.nodes[${i}]`, (e as Error).message);
    }
  });
  return nodes;
}
