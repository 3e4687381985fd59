/**
 * The guides' examples print what their comments say. Every ```ts block of
 * README.md and docs/*.md is run as a user would run it (`deno run -A`,
 * from a copy beside the guide so that its relative imports hold), and each
 * `console.log(...) // comment` line is checked: what it printed must be what
 * the comment states.
 *
 * How a comment states output: the printed values, as the shell prints them
 * (strings quoted) or as `console.log` does (strings bare); spacing inside
 * brackets does not matter; `...` stands for anything; after the output, an
 * explanation may follow a colon, a dash or a parenthesis
 * (`// [] : the late reply reached no one`, `// 2 — the "low" message stays`).
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);
const GUIDES = [
  "README.md",
  ...[...Deno.readDirSync(new URL("docs/", ROOT))]
    .filter((e) => e.isFile && e.name.endsWith(".md"))
    .map((e) => `docs/${e.name}`)
    .sort(),
];

/** One ```ts block of a guide. */
interface Example {
  guide: string;
  line: number;
  code: string;
}

/** A `console.log(...) // comment` line of an example. */
interface Expectation {
  line: number;
  stated: string;
}

function examples(guide: string): Example[] {
  const text = Deno.readTextFileSync(new URL(guide, ROOT));
  const found: Example[] = [];
  for (const m of text.matchAll(/^```ts\n([^]*?)^```$/gm)) {
    const line = text.slice(0, m.index).split("\n").length + 1;
    found.push({ guide, line, code: m[1]! });
  }
  return found;
}

const CHECK = "__weftDocCheck";

/** The example with each commented console.log recording what it prints, and the comments. */
function instrument(code: string): { code: string; expectations: Expectation[] } {
  const expectations: Expectation[] = [];
  const lines = code.split("\n").map((text, i) => {
    const m = text.match(/^(.*?)console\.log\((.*)\);?\s*\/\/ (.+)$/);
    if (m === null) return text;
    expectations.push({ line: i + 1, stated: m[3]! });
    return `${m[1]}${CHECK}(${expectations.length - 1}, ${m[2]});`;
  });
  const prelude = `const ${CHECK} = (k: number, ...args: unknown[]) => {
  const seen = ((globalThis as any).${CHECK}_seen ??= {});
  const inspect = (a: unknown) => Deno.inspect(a, { depth: 8, breakLength: Infinity, iterableLimit: 1000 });
  (seen[k] ??= []).push([args.map(inspect).join(" "), args.map((a) => typeof a === "string" ? a : inspect(a)).join(" ")]);
  console.log(...args);
};
globalThis.addEventListener("unload", () => console.log("${CHECK}:" + JSON.stringify((globalThis as any).${CHECK}_seen ?? {})));
`;
  // The prelude goes after the imports, on the examples' first line, so line numbers hold.
  return { code: prelude.replaceAll("\n", " ") + "\n" + lines.join("\n"), expectations };
}

function normalize(text: string): string {
  return text.replace(/\s+/g, " ").replace(/([[{(]) /g, "$1").replace(/ ([\]})])/g, "$1")
    .replace(/'/g, '"').trim();
}

/** Whether `printed` is what the comment `stated` says. */
function states(stated: string, printed: string): boolean {
  const s = normalize(stated);
  const p = normalize(printed);
  const explanation = /^(\s*:|\s+—|\s+-\s|\s+\(|$)/;
  if (s.startsWith(p) && explanation.test(s.slice(p.length))) return true;
  if (!s.includes("...")) return false;
  // `...` is a wildcard; the stated part is the longest prefix that matches the whole output.
  for (let end = s.length; end > 0; end--) {
    if (end < s.length && !explanation.test(s.slice(end))) continue;
    const pattern = s.slice(0, end).split("...").map((part) =>
      part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
    ).join(".*");
    if (new RegExp(`^${pattern}$`).test(p)) return true;
  }
  return false;
}

for (const guide of GUIDES) {
  for (const example of examples(guide)) {
    const { code, expectations } = instrument(example.code);
    if (expectations.length === 0) continue;
    Deno.test(`${guide}:${example.line}: the example prints what its comments say`, async () => {
      // Beside the guide, so that `../src/...` imports resolve as they do for a reader.
      const dir = new URL(".", new URL(guide, ROOT)).pathname;
      const file = await Deno.makeTempFile({ dir, prefix: ".example_", suffix: ".ts" });
      try {
        await Deno.writeTextFile(file, code);
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", "--no-check", file],
          cwd: new URL(".", ROOT).pathname,
          stdout: "piped",
          stderr: "piped",
          env: { NO_COLOR: "1" },
        }).output();
        const stdout = new TextDecoder().decode(out.stdout);
        const stderr = new TextDecoder().decode(out.stderr);
        assert.equal(out.code, 0, `the example failed:\n${stderr}`);
        const report = stdout.split("\n").find((l) => l.startsWith(`${CHECK}:`));
        assert.ok(report !== undefined, `the example did not finish:\n${stdout}\n${stderr}`);
        const seen = JSON.parse(report.slice(CHECK.length + 1)) as Record<string, string[][]>;
        const wrong = expectations.flatMap((e, k) => {
          const printed = seen[k];
          const at = `${guide}:${example.line + e.line - 1}`;
          if (printed === undefined) return [`${at}: never printed (comment: ${e.stated})`];
          const [shown, plain] = printed[0]!;
          return states(e.stated, shown!) || states(e.stated, plain!)
            ? []
            : [`${at}: printed ${shown}, the comment says ${e.stated}`];
        });
        assert.deepEqual(wrong, []);
      } finally {
        await Deno.remove(file);
      }
    });
  }
}
