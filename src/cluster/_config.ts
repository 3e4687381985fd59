/**
 * Checks for configuration read from JSON or given in code: each throws a
 * `TypeError` (or `RangeError` for a number out of range) that names the
 * path of the bad value, as `Invalid cluster config: topologies.k8s.config.port: ...`.
 *
 * @module
 */

/** A plain object read from config. */
export type Raw = Record<string, unknown>;

/** `Invalid cluster config: PATH: DETAIL`. */
export function configError(path: string, detail: string): TypeError {
  return new TypeError(`Invalid cluster config: ${path}: ${detail}`);
}

/** `value` as a plain object, or a TypeError naming `path`. */
export function object(value: unknown, path: string): Raw {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw configError(path, `expected an object, received ${describe(value)}`);
  }
  return value as Raw;
}

/** Refuses keys outside `allowed`, so a typo is an error and not a silent default. */
export function onlyKeys(raw: Raw, allowed: readonly string[], path: string): void {
  for (const key of Object.keys(raw)) {
    if (!allowed.includes(key)) {
      throw configError(
        path,
        `unknown key "${key}" (expected ${allowed.map((k) => `"${k}"`).join(", ")})`,
      );
    }
  }
}

/** A required non-empty string. */
export function string(raw: Raw, key: string, path: string): string {
  const v = raw[key];
  if (typeof v !== "string" || v.length === 0) {
    throw configError(`${path}.${key}`, `expected a non-empty string, received ${describe(v)}`);
  }
  return v;
}

/** An optional non-empty string. */
export function optionalString(raw: Raw, key: string, path: string): string | undefined {
  return raw[key] === undefined ? undefined : string(raw, key, path);
}

/** An optional number in [min, max] (integers only when `integer`). */
export function optionalNumber(
  raw: Raw,
  key: string,
  path: string,
  range: { min: number; max?: number; integer?: boolean },
): number | undefined {
  const v = raw[key];
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v) || (range.integer && !Number.isInteger(v))) {
    throw configError(
      `${path}.${key}`,
      `expected ${range.integer ? "an integer" : "a number"}, received ${describe(v)}`,
    );
  }
  if (v < range.min || (range.max !== undefined && v > range.max)) {
    throw new RangeError(
      `Invalid cluster config: ${path}.${key}: must be ${range.min}-${
        range.max ?? "∞"
      }, received ${v}`,
    );
  }
  return v;
}

/** An optional boolean. */
export function optionalBoolean(raw: Raw, key: string, path: string): boolean | undefined {
  const v = raw[key];
  if (v === undefined) return undefined;
  if (typeof v !== "boolean") {
    throw configError(`${path}.${key}`, `expected true or false, received ${describe(v)}`);
  }
  return v;
}

/** A required array of non-empty strings (possibly empty when `allowEmpty`). */
export function stringList(raw: Raw, key: string, path: string, allowEmpty = true): string[] {
  const v = raw[key];
  if (!Array.isArray(v)) {
    throw configError(`${path}.${key}`, `expected an array of strings, received ${describe(v)}`);
  }
  v.forEach((item, i) => {
    if (typeof item !== "string" || item.length === 0) {
      throw configError(
        `${path}.${key}[${i}]`,
        `expected a non-empty string, received ${describe(item)}`,
      );
    }
  });
  if (!allowEmpty && v.length === 0) throw configError(`${path}.${key}`, "must not be empty");
  return [...v];
}

/** A short description of a bad value for an error message. */
export function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") {
    return JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value);
  }
  if (typeof value === "object") return "an object";
  return `${typeof value} ${String(value)}`;
}
