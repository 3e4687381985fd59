/**
 * The import check: no module imports from a layer above its own.
 *
 * Weft is layered (README "Layout", DESIGN §2):
 *
 * ```
 * term <- crdt <- process <- distribution <- {rpc, otp, global, pg, pubsub, cluster}
 *      <- state layers (replicator, raft, event sourcing, ...) <- node
 *      <- {observer, repl, cli, main.ts, mod.ts} <- {scripts, test}
 * ```
 *
 * Each folder (or top-level file) has a level in {@linkcode LAYERS}; a module may import from its
 * own level or below. Folders on one level may use each other, but never in a cycle: the folder
 * graph must stay acyclic, so that one of them is visibly "on top". A folder under `src/` that the
 * table does not name fails the test, so a new layer is placed on purpose.
 *
 * Imports are read from the source text: static `import`/`export ... from "..."` statements
 * (`deno fmt` puts them at the start of a line, so JSDoc examples, which start with ` * `, are not
 * read) and `import("...")` with a literal specifier.
 *
 * @module
 */

import assert from "node:assert/strict";

/** One step of the layering: the folders and files that sit on it. */
interface Layer {
  /** Higher levels may import lower ones, never the reverse. */
  readonly level: number;
  /** What the layer is for, shown in failure messages. */
  readonly what: string;
  /** Folders or files, relative to the repository root. */
  readonly paths: readonly string[];
}

/**
 * The layer table. To add a folder, put it on the level of what it is (a new state layer goes on
 * level 6 beside the replicator); levels are only compared, so a new level between two others can
 * take a fractional number.
 */
const LAYERS: readonly Layer[] = [
  {
    level: 0,
    what: "foundations: errors, logging, the version",
    paths: ["src/errors.ts", "src/log.ts", "src/version.ts"],
  },
  {
    level: 0.5,
    what: "telemetry events (foundations only), so every layer can emit",
    paths: ["src/telemetry"],
  },
  { level: 1, what: "terms: pids, refs, node names, the codec", paths: ["src/term"] },
  {
    level: 1.5,
    what: "Erlang's External Term Format codec (terms and errors only)",
    paths: ["src/etf"],
  },
  { level: 2, what: "pure CRDT types and clocks (term only)", paths: ["src/crdt"] },
  {
    level: 2.5,
    what: "storage adapters (SQLite; errors only)",
    paths: ["src/storage"],
  },
  { level: 3, what: "the process runtime", paths: ["src/process"] },
  { level: 4, what: "the distribution layer", paths: ["src/distribution"] },
  {
    level: 4.5,
    what: "Erlang's distribution protocol, the kernel's second wire protocol",
    paths: ["src/erlang"],
  },
  {
    level: 5,
    what: "node services and OTP behaviours",
    paths: [
      "src/rpc",
      "src/otp",
      "src/global",
      "src/pg",
      "src/pubsub",
      "src/cluster",
      "src/introspection",
    ],
  },
  {
    level: 6,
    what: "state layers built on the services",
    paths: ["src/replicator", "src/raft", "src/event_sourcing"],
  },
  {
    level: 6.5,
    what: "distributed registry and supervisor (on the replicator)",
    paths: ["src/distributed"],
  },
  {
    level: 6.5,
    what: "multi-region: regions linked by gateways, carrying replicated keys and topics",
    paths: ["src/region"],
  },
  {
    level: 7,
    what: "the node: the composition root and its services",
    paths: ["src/node.ts", "src/node_services.ts"],
  },
  {
    level: 8,
    what: "entry points: the public API, the shell, the command",
    paths: ["src/mod.ts", "src/observer", "src/testing", "repl", "cli", "main.ts"],
  },
  { level: 9, what: "tools: scripts and tests", paths: ["scripts", "test"] },
];

/** One import that breaks the layering on purpose. */
interface Exception {
  readonly from: string;
  readonly to: string;
  /** Why it is allowed; an exception must be an `import type` (erased at run time). */
  readonly why: string;
}

/**
 * Known exceptions. Each must be type-only: it adds no run-time dependency, only a name for a
 * parameter type. Remove an entry when the import goes.
 */
const EXCEPTIONS: readonly Exception[] = [];

/** The folders and files whose imports are checked. */
const ROOTS = ["src", "repl", "cli", "scripts", "main.ts"];

const root = new URL("../", import.meta.url);

function listTs(path: string): string[] {
  const url = new URL(path, root);
  const stat = Deno.statSync(url);
  if (stat.isFile) return path.endsWith(".ts") ? [path] : [];
  const out: string[] = [];
  for (const entry of Deno.readDirSync(url)) {
    if (entry.name === "node_modules") continue;
    out.push(...listTs(`${path}/${entry.name}`));
  }
  return out;
}

/** The table entry a repository path belongs to: its longest matching prefix. */
function layerOf(path: string): { layer: Layer; unit: string } | undefined {
  let best: { layer: Layer; unit: string } | undefined;
  for (const layer of LAYERS) {
    for (const p of layer.paths) {
      if (
        (path === p || path.startsWith(`${p}/`)) &&
        (best === undefined || p.length > best.unit.length)
      ) {
        best = { layer, unit: p };
      }
    }
  }
  return best;
}

const STATIC_IMPORT =
  /^(import|export)(\s+type)?\s*(?:\{[^}]*\}|\*\s+as\s+[\w$]+|\*|[\w$]+(?:\s*,\s*(?:\{[^}]*\}|\*\s+as\s+[\w$]+))?)\s*from\s*["']([^"']+)["']/gm;
const SIDE_EFFECT_IMPORT = /^import\s*["']([^"']+)["']/gm;
const DYNAMIC_IMPORT = /\bimport\(\s*["']([^"']+)["']\s*\)/g;

interface Import {
  readonly from: string;
  readonly to: string;
  readonly typeOnly: boolean;
}

/** The relative imports of one file, resolved to repository paths. */
function importsOf(file: string): Import[] {
  const text = Deno.readTextFileSync(new URL(file, root));
  const found: { spec: string; typeOnly: boolean }[] = [];
  for (const m of text.matchAll(STATIC_IMPORT)) {
    // `import type { A }` and `import { type A, type B }` are erased at run time.
    const clause = m[0].slice(0, m[0].lastIndexOf("from"));
    const named = clause.match(/\{([^}]*)\}/)?.[1];
    const allTyped = named !== undefined &&
      named.split(",").map((s) => s.trim()).filter((s) => s !== "").every((s) =>
        s.startsWith("type ")
      ) && !/^(import|export)\s+[\w$]+\s*,/.test(clause);
    found.push({ spec: m[3]!, typeOnly: m[2] !== undefined || allTyped });
  }
  for (const m of text.matchAll(SIDE_EFFECT_IMPORT)) found.push({ spec: m[1]!, typeOnly: false });
  for (const m of text.matchAll(DYNAMIC_IMPORT)) {
    const line = text.slice(text.lastIndexOf("\n", m.index) + 1, m.index);
    if (/^\s*(\*|\/\/|\/\*)/.test(line)) continue;
    found.push({ spec: m[1]!, typeOnly: false });
  }
  const base = new URL(file, "file:///r/");
  return found.filter(({ spec }) => spec.startsWith(".")).map(({ spec, typeOnly }) => ({
    from: file,
    to: decodeURIComponent(new URL(spec, base).pathname.slice("/r/".length)),
    typeOnly,
  }));
}

const files = ROOTS.flatMap(listTs);
const imports = files.flatMap(importsOf);

Deno.test("layering: every folder under src/ has a place in the layer table", () => {
  const unknown: string[] = [];
  for (const entry of Deno.readDirSync(new URL("src/", root))) {
    const path = `src/${entry.name}`;
    if (layerOf(path) === undefined) unknown.push(path);
  }
  assert.deepEqual(
    unknown,
    [],
    `Unknown layer: add ${
      unknown.join(", ")
    } to LAYERS in test/layering_test.ts, on the level of ` +
      `what it is (see the layering in README.md)`,
  );
});

Deno.test("layering: the import scan sees the imports it should", () => {
  // A guard against a scan that silently finds nothing: these imports exist and must be seen.
  const seen = (from: string, to: string) => imports.some((i) => i.from === from && i.to === to);
  assert.ok(seen("src/node.ts", "src/process/runtime.ts"));
  assert.ok(seen("main.ts", "src/node.ts"));
  assert.ok(imports.length > 300, `only ${imports.length} imports found`);
});

Deno.test("layering: no module imports from a layer above its own", () => {
  const violations: string[] = [];
  for (const i of imports) {
    const from = layerOf(i.from);
    const to = layerOf(i.to);
    if (from === undefined) continue; // its folder is reported by the table test
    if (to === undefined) {
      violations.push(`${i.from} imports ${i.to}, which is in no layer`);
      continue;
    }
    if (to.layer.level <= from.layer.level) continue;
    const exception = EXCEPTIONS.find((e) => e.from === i.from && e.to === i.to);
    if (exception !== undefined && i.typeOnly) continue;
    violations.push(
      `${i.from} (${from.layer.what}) imports ${i.to} (${to.layer.what})` +
        (exception !== undefined
          ? " at run time, but its exception allows a type import only"
          : ""),
    );
  }
  assert.deepEqual(violations, [], `Imports from a higher layer:\n  ${violations.join("\n  ")}`);
});

Deno.test("layering: folders on one level do not import each other in a cycle", () => {
  const edges = new Map<string, Set<string>>();
  for (const i of imports) {
    const from = layerOf(i.from);
    const to = layerOf(i.to);
    if (from === undefined || to === undefined || from.unit === to.unit) continue;
    if (EXCEPTIONS.some((e) => e.from === i.from && e.to === i.to)) continue;
    let set = edges.get(from.unit);
    if (set === undefined) edges.set(from.unit, set = new Set());
    set.add(to.unit);
  }
  // Depth-first search; a grey node met again closes a cycle.
  const state = new Map<string, "grey" | "black">();
  const cycles: string[] = [];
  const visit = (unit: string, path: string[]) => {
    state.set(unit, "grey");
    for (const next of edges.get(unit) ?? []) {
      const s = state.get(next);
      if (s === "grey") cycles.push([...path, unit, next].slice(path.indexOf(next)).join(" -> "));
      else if (s === undefined) visit(next, [...path, unit]);
    }
    state.set(unit, "black");
  };
  for (const unit of [...edges.keys()].sort()) if (!state.has(unit)) visit(unit, []);
  assert.deepEqual(cycles, [], `Import cycles between folders:\n  ${cycles.join("\n  ")}`);
});
