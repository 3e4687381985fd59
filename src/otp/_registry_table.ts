/**
 * The in-memory table behind a `Registry`, Elixir's ETS table of it.
 *
 * Registering, looking up and dispatching happen in the calling process,
 * synchronously, as they do against ETS in Elixir; the registry process
 * (registry.ts) only owns the table's life and cleans up after processes
 * that die:
 *
 * ```
 * caller: Registry.register(reg, key, v) -> table insert + link(caller, registry)
 * caller exits (any reason)              -> registry gets {EXIT, caller}
 * registry: handleInfo(EXIT)             -> table.removePid(caller)
 * registry exits                         -> table dropped; callers linked to it
 *                                           get its exit signal, as in Elixir
 * ```
 *
 * Kept apart from registry.ts so that name resolution (`{ via: registry,
 * key }`) can reach tables without importing the GenServer machinery.
 *
 * @module
 */

import type { Runtime } from "../process/runtime.ts";
import type { Pid } from "../term/pid.ts";
import { termKey } from "./_term.ts";
import type { NameRegistry } from "./name.ts";

/** How a registry treats keys: one process per key, or any number. */
export type RegistryKeys = "unique" | "duplicate";

/** One registration: the process and the value it registered with. */
export type RegistryEntry<V = unknown> = [pid: Pid, value: V];

/** A key's registrations, under its canonical `termKey`. */
interface Slot {
  /** The key as given. */
  key: unknown;
  /** Registrations in the order they were made. */
  entries: RegistryEntry[];
}

/** What the table knows about one registered process. */
interface Owner {
  pid: Pid;
  /** Canonical keys it holds, with how many registrations under each. */
  keys: Map<unknown, number>;
}

/** Live tables by the registry process's `pid.key`. */
const tables = new Map<string, RegistryTable>();

/** The table of the registry process `pid`, if it is alive. */
export function tableOf(pid: Pid): RegistryTable | undefined {
  return tables.get(pid.key);
}

/** A registry's table. */
export class RegistryTable {
  /** The runtime the registry lives on; only its processes may register. */
  readonly runtime: Runtime;
  /** The registry process. */
  readonly pid: Pid;
  /** Unique or duplicate keys. */
  readonly kind: RegistryKeys;
  /** The registry's registered name, if any. */
  readonly name: string | undefined;
  #slots = new Map<unknown, Slot>();
  #owners = new Map<string, Owner>();
  #meta = new Map<unknown, { key: unknown; value: unknown }>();
  #count = 0;
  #names: NameRegistry | undefined;

  constructor(runtime: Runtime, pid: Pid, kind: RegistryKeys, name: string | undefined) {
    this.runtime = runtime;
    this.pid = pid;
    this.kind = kind;
    this.name = name;
  }

  /** Makes the table reachable by its process's pid. */
  open(): void {
    tables.set(this.pid.key, this);
  }

  /** Drops the table: the registry process is gone. */
  close(): void {
    if (tables.get(this.pid.key) === this) tables.delete(this.pid.key);
    this.#slots.clear();
    this.#owners.clear();
    this.#meta.clear();
    this.#count = 0;
  }

  /** `registry "name"` or `registry #PID<...>`, for messages. */
  describe(): string {
    return this.name === undefined ? `registry ${this.pid}` : `registry "${this.name}"`;
  }

  /**
   * Registers `pid` under `key`. For a unique registry a live holder of the
   * key wins and its pid is returned; a dead one is replaced.
   */
  register(pid: Pid, key: unknown, value: unknown): { ok: true } | { ok: false; holder: Pid } {
    const tk = termKey(key);
    let slot = this.#slots.get(tk);
    if (this.kind === "unique" && slot !== undefined) {
      const holder = slot.entries[0]![0];
      if (this.#alive(holder)) return { ok: false, holder };
      this.#drop(tk, slot, holder);
      slot = undefined;
    }
    // A dead process registers nothing: its entries would go at once.
    if (!this.#alive(pid)) return { ok: true };
    this.runtime.link(pid, this.pid);
    if (slot === undefined) {
      slot = { key, entries: [] };
      this.#slots.set(tk, slot);
    }
    slot.entries.push([pid, value]);
    this.#count++;
    let owner = this.#owners.get(pid.key);
    if (owner === undefined) {
      owner = { pid, keys: new Map() };
      this.#owners.set(pid.key, owner);
    }
    owner.keys.set(tk, (owner.keys.get(tk) ?? 0) + 1);
    return { ok: true };
  }

  /** Removes every registration of `pid` under `key`; unlinks when it holds no more keys. */
  unregister(pid: Pid, key: unknown): void {
    const tk = termKey(key);
    const owner = this.#owners.get(pid.key);
    if (owner === undefined || !owner.keys.has(tk)) return;
    const slot = this.#slots.get(tk)!;
    this.#drop(tk, slot, pid);
    if (!this.#owners.has(pid.key)) this.runtime.unlink(pid, this.pid);
  }

  /** Forgets everything `pid` registered (it exited). */
  removePid(pid: Pid): void {
    const owner = this.#owners.get(pid.key);
    if (owner === undefined) return;
    for (const tk of [...owner.keys.keys()]) {
      const slot = this.#slots.get(tk);
      if (slot !== undefined) this.#drop(tk, slot, pid);
    }
    this.#owners.delete(pid.key);
  }

  /** Removes `pid`'s entries from `slot` and the bookkeeping that goes with them. */
  #drop(tk: unknown, slot: Slot, pid: Pid): void {
    const before = slot.entries.length;
    slot.entries = slot.entries.filter(([p]) => !p.equals(pid));
    this.#count -= before - slot.entries.length;
    if (slot.entries.length === 0) this.#slots.delete(tk);
    const owner = this.#owners.get(pid.key);
    if (owner !== undefined) {
      owner.keys.delete(tk);
      if (owner.keys.size === 0) this.#owners.delete(pid.key);
    }
  }

  /** Live registrations under `key`, in registration order. */
  lookup(key: unknown): RegistryEntry[] {
    const slot = this.#slots.get(termKey(key));
    if (slot === undefined) return [];
    const out: RegistryEntry[] = [];
    for (const entry of slot.entries) {
      if (this.#alive(entry[0])) out.push([entry[0], entry[1]]);
    }
    return out;
  }

  /** The live process holding a unique `key`. */
  whereis(key: unknown): Pid | undefined {
    const slot = this.#slots.get(termKey(key));
    const pid = slot?.entries[0]?.[0];
    return pid !== undefined && this.#alive(pid) ? pid : undefined;
  }

  /** The keys `pid` is registered under, each once. */
  keysOf(pid: Pid): unknown[] {
    const owner = this.#owners.get(pid.key);
    if (owner === undefined) return [];
    const out: unknown[] = [];
    for (const tk of owner.keys.keys()) {
      const slot = this.#slots.get(tk);
      if (slot !== undefined) out.push(slot.key);
    }
    return out;
  }

  /**
   * Replaces the value `pid` registered under a unique `key`.
   * @returns the new and old values, or `undefined` when `pid` does not hold `key`
   */
  updateValue(
    pid: Pid,
    key: unknown,
    update: (old: unknown) => unknown,
  ): { value: unknown; old: unknown } | undefined {
    const slot = this.#slots.get(termKey(key));
    const entry = slot?.entries[0];
    if (entry === undefined || !entry[0].equals(pid)) return undefined;
    const old = entry[1];
    const value = update(old);
    entry[1] = value;
    return { value, old };
  }

  /** Number of registrations, dead processes' not yet cleaned up included. */
  count(): number {
    return this.#count;
  }

  /** The metadata stored under `key`. */
  meta(key: unknown): { value: unknown } | undefined {
    const m = this.#meta.get(termKey(key));
    return m === undefined ? undefined : { value: m.value };
  }

  /** Stores metadata under `key`. */
  putMeta(key: unknown, value: unknown): void {
    this.#meta.set(termKey(key), { key, value });
  }

  /** Removes the metadata under `key`. */
  deleteMeta(key: unknown): void {
    this.#meta.delete(termKey(key));
  }

  /**
   * The table as a name service, for `{ via: registry, key }` names.
   * @throws {TypeError} for a registry with duplicate keys
   */
  nameRegistry(): NameRegistry {
    if (this.kind !== "unique") {
      throw new TypeError(
        `Cannot use ${this.describe()} for names: its keys are duplicate, names need unique keys`,
      );
    }
    return this.#names ??= {
      registerName: (key, pid) => this.register(pid, key, undefined).ok,
      unregisterName: (key) => {
        const pid = this.whereis(key);
        if (pid !== undefined) this.unregister(pid, key);
      },
      whereisName: (key) => this.whereis(key),
    };
  }

  #alive(pid: Pid): boolean {
    return pid.node === this.runtime.node && this.runtime.isAlive(pid);
  }
}
