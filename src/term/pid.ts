/**
 * Process identifiers.
 *
 * A pid names one process on one incarnation of one node. `creation`
 * changes each time a node with the same name starts again, so a pid held
 * over from an earlier incarnation never reaches a process of the new one.
 *
 * @example
 * ```ts
 * import { Pid } from "./pid.ts";
 * const pid = new Pid("a@host", 42, 0, 7);
 * console.assert(String(pid) === "#PID<a@host.42.0>");
 * ```
 *
 * @module
 */

const inspectDeno = Symbol.for("Deno.customInspect");
const inspectNode = Symbol.for("nodejs.util.inspect.custom");

/**
 * A process identifier: `{node, id, serial, creation}`, printed
 * `#PID<a@host.42.0>`. Compare pids with {@linkcode Pid.equals} or by
 * {@linkcode Pid.key}; two decoded copies of one pid are different objects.
 *
 * @example
 * ```ts
 * import { Pid } from "./pid.ts";
 * const a = new Pid("a@host", 1, 0, 9);
 * const b = new Pid("a@host", 1, 0, 9);
 * console.assert(a.equals(b) && a !== b);
 * ```
 */
export class Pid {
  /** The node the process lives on, `name@host`. */
  readonly node: string;
  /** The process number on that node. */
  readonly id: number;
  /** Wrap-around counter of `id`, as in Erlang. */
  readonly serial: number;
  /** The incarnation of the node that made this pid. */
  readonly creation: number;

  /**
   * @param node the owning node's name
   * @param id process number
   * @param serial wrap-around counter
   * @param creation the owning node's incarnation
   */
  constructor(node: string, id: number, serial: number, creation: number) {
    this.node = node;
    this.id = id;
    this.serial = serial;
    this.creation = creation;
  }

  /** A string that is equal for equal pids; use it as a `Map` key. */
  get key(): string {
    return `${this.node}.${this.id}.${this.serial}.${this.creation}`;
  }

  /** Whether `other` names the same process. */
  equals(other: unknown): boolean {
    return other instanceof Pid && other.id === this.id && other.node === this.node &&
      other.serial === this.serial && other.creation === this.creation;
  }

  /** `#PID<node.id.serial>` */
  toString(): string {
    return `#PID<${this.node}.${this.id}.${this.serial}>`;
  }

  /** The same text as `toString()`, so pids read well inside JSON. */
  toJSON(): string {
    return this.toString();
  }

  [inspectDeno](): string {
    return this.toString();
  }

  [inspectNode](): string {
    return this.toString();
  }
}

/**
 * A unique reference: names a monitor, a timer, a call. Printed
 * `#Reference<a@host.1.7>` (node, creation, number).
 *
 * @example
 * ```ts
 * import { Ref } from "./pid.ts";
 * const ref = new Ref("a@host", 7, 1);
 * console.assert(String(ref) === "#Reference<a@host.1.7>");
 * ```
 */
export class Ref {
  /** The node that made the reference. */
  readonly node: string;
  /** A number unique on that node's incarnation. */
  readonly id: number;
  /** The incarnation of the node that made it. */
  readonly creation: number;

  /**
   * @param node the node that made it
   * @param id unique number on that incarnation
   * @param creation the node's incarnation
   */
  constructor(node: string, id: number, creation: number) {
    this.node = node;
    this.id = id;
    this.creation = creation;
  }

  /** A string that is equal for equal refs; use it as a `Map` key. */
  get key(): string {
    return `${this.node}.${this.creation}.${this.id}`;
  }

  /** Whether `other` is the same reference. */
  equals(other: unknown): boolean {
    return other instanceof Ref && other.id === this.id && other.node === this.node &&
      other.creation === this.creation;
  }

  /** `#Reference<node.creation.id>` */
  toString(): string {
    return `#Reference<${this.node}.${this.creation}.${this.id}>`;
  }

  /** The same text as `toString()`. */
  toJSON(): string {
    return this.toString();
  }

  [inspectDeno](): string {
    return this.toString();
  }

  [inspectNode](): string {
    return this.toString();
  }
}
