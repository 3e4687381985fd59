/**
 * Command-line flags of the `weft` command, parsed with `node:util`'s
 * `parseArgs`. Parsing is pure: it returns either the options or a
 * one-line reason, and main.ts turns the reason into exit status 2.
 *
 * @example
 * ```ts
 * import { parseCli } from "./options.ts";
 * const r = parseCli(["--sname", "a", "--cookie", "secret"]);
 * console.assert(r.ok && r.options.sname === "a");
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { LOG_LEVELS, type WeftLogLevel } from "../src/log.ts";
import { checkAllowPattern } from "../src/rpc/policy.ts";

/** What the user asked `weft` to do. */
export interface CliOptions {
  /** `weft epmd ...`: run the port mapper instead of a node. */
  command: "node" | "epmd" | "help" | "version";
  /** Long node name (`--name`). The last of `--name`/`--sname` wins. */
  name?: string;
  /** Short node name (`--sname`). */
  sname?: string;
  /** `--cookie`. */
  cookie?: string;
  /** `--cookie-file`, default `~/.weft.cookie`. */
  cookieFile?: string;
  /** `--log-level`. */
  logLevel: WeftLogLevel;
  /** `--eval CODE`. */
  eval?: string;
  /** `--script FILE`: run FILE with the shell's names in scope. */
  script?: string;
  /** The arguments after `--script FILE` (never parsed as weft flags). */
  scriptArgs: string[];
  /** `--remsh NODE`: a shell evaluated on NODE. */
  remsh?: string;
  /** `--port`: the distribution listen port (0 = any). */
  port?: number;
  /** `--epmd-port`. */
  epmdPort?: number;
  /** `--no-epmd`. */
  noEpmd: boolean;
  /** `--connect NODE`, repeatable. */
  connect: string[];
  /** `--hidden`. */
  hidden: boolean;
  /** `--net-ticktime` in seconds. */
  netTicktimeSeconds?: number;
  /** `--busy-limit` in bytes. */
  busyLimit?: number;
  /** `--reassembly-budget` in bytes. */
  reassemblyBudget?: number;
  /** `--reassembly-timeout` in milliseconds. */
  reassemblyTimeout?: number;
  /** `--tls-cert`. */
  tlsCert?: string;
  /** `--tls-key`. */
  tlsKey?: string;
  /** `--tls-ca`. */
  tlsCa?: string;
  /** `--no-repl`. */
  noRepl: boolean;
  /** `weft epmd --daemon`. */
  daemon: boolean;
  /** `weft epmd --address A`: the address the port mapper listens on. */
  address?: string;
  /** `--load FILE`, repeatable: modules to expose to rpc. */
  load: string[];
  /** `--rpc-allow PATTERN`, repeatable: what peers may call (`math.*`). */
  rpcAllow: string[];
  /** `--no-remote-eval`: refuse function source from peers. */
  noRemoteEval: boolean;
  /** `--cluster-config FILE`: discovery topologies, quorum and partition handling (JSON). */
  clusterConfig?: string;
  /** `--data-dir DIR`: the node's durable state (default `~/.weft/data/<node name>`). */
  dataDir?: string;
  /** `--event-store URL`: the event store on PostgreSQL (default SQLite in the data directory). */
  eventStore?: string;
  /** `--region NAME`: this node's region, one of a multi-region `--cluster-config`'s. */
  region?: string;
  /** `--metrics PORT`: Prometheus metrics and health probes on this port. */
  metricsPort?: number;
  /** `--metrics-host ADDR`: where the metrics endpoint listens (default 127.0.0.1). */
  metricsHost?: string;
  /** `--observer PORT`: the web observer on this port. */
  observerPort?: number;
  /** `--observer-host ADDR`: where the observer listens (default 127.0.0.1). */
  observerHost?: string;
  /** `--observer-token TOKEN`: the observer's token (default: derived from the cookie). */
  observerToken?: string;
}

/** The outcome of {@linkcode parseCli}. */
export type ParseResult = { ok: true; options: CliOptions } | { ok: false; reason: string };

const FLAGS = {
  name: { type: "string" },
  sname: { type: "string" },
  cookie: { type: "string" },
  "cookie-file": { type: "string" },
  "log-level": { type: "string" },
  eval: { type: "string", short: "e" },
  remsh: { type: "string" },
  port: { type: "string" },
  "epmd-port": { type: "string" },
  "no-epmd": { type: "boolean" },
  connect: { type: "string", multiple: true },
  hidden: { type: "boolean" },
  "net-ticktime": { type: "string" },
  "busy-limit": { type: "string" },
  "reassembly-budget": { type: "string" },
  "reassembly-timeout": { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  "tls-ca": { type: "string" },
  "no-repl": { type: "boolean" },
  daemon: { type: "boolean" },
  address: { type: "string" },
  load: { type: "string", multiple: true },
  "rpc-allow": { type: "string", multiple: true },
  "no-remote-eval": { type: "boolean" },
  "cluster-config": { type: "string" },
  "data-dir": { type: "string" },
  "event-store": { type: "string" },
  region: { type: "string" },
  metrics: { type: "string" },
  "metrics-host": { type: "string" },
  observer: { type: "string" },
  "observer-host": { type: "string" },
  "observer-token": { type: "string" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "v" },
} as const;

/**
 * Parses `weft` command-line arguments.
 *
 * @param args the arguments after the program name
 * @returns the options, or a one-line reason for a bad flag
 *
 * @example
 * ```ts
 * import { parseCli } from "./options.ts";
 * const r = parseCli(["--bogus"]);
 * console.assert(!r.ok && r.reason.includes("--bogus"));
 * ```
 */
export function parseCli(args: string[]): ParseResult {
  // Everything after `--script FILE` belongs to the script.
  let script: string | undefined;
  let scriptArgs: string[] = [];
  const at = args.findIndex((a) => a === "--script" || a.startsWith("--script="));
  if (at !== -1) {
    const flag = args[at]!;
    if (flag.startsWith("--script=")) {
      script = flag.slice("--script=".length);
      scriptArgs = args.slice(at + 1);
    } else {
      script = args[at + 1];
      scriptArgs = args.slice(at + 2);
    }
    if (script === undefined || script === "") {
      return { ok: false, reason: "Invalid --script: expected a file, as --script FILE [ARGS...]" };
    }
    args = args.slice(0, at);
  }
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: FLAGS,
      allowPositionals: true,
      strict: true,
      tokens: true,
    });
  } catch (e) {
    // node:util's messages go on with advice about "--"; the first sentence is the reason.
    return { ok: false, reason: (e as Error).message.split("\n")[0]!.split(/\.\s/)[0]! };
  }
  const { values, positionals, tokens } = parsed;
  let command: CliOptions["command"] = "node";
  if (positionals[0] === "epmd") command = "epmd";
  else if (positionals.length > 0) {
    return { ok: false, reason: `Unexpected argument: "${positionals[0]}" (see weft --help)` };
  }
  if (values.help) command = "help";
  else if (values.version) command = "version";

  const logLevel = values["log-level"] ?? "warning";
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    return {
      ok: false,
      reason: `Invalid --log-level: expected one of ${
        LOG_LEVELS.join(", ")
      }, received "${logLevel}"`,
    };
  }
  const options: CliOptions = {
    command,
    logLevel: logLevel as WeftLogLevel,
    noEpmd: values["no-epmd"] ?? false,
    connect: values.connect ?? [],
    hidden: values.hidden ?? false,
    noRepl: values["no-repl"] ?? false,
    daemon: values.daemon ?? false,
    scriptArgs,
    load: values.load ?? [],
    rpcAllow: values["rpc-allow"] ?? [],
    noRemoteEval: values["no-remote-eval"] ?? false,
  };
  for (const pattern of options.rpcAllow) {
    try {
      checkAllowPattern(pattern);
    } catch (e) {
      return {
        ok: false,
        reason: (e as Error).message.replace("Invalid rpc allow pattern", "Invalid --rpc-allow"),
      };
    }
  }
  if (options.load.some((file) => file === "")) {
    return { ok: false, reason: "Invalid --load: expected a file" };
  }
  if (values["cluster-config"] !== undefined) {
    if (values["cluster-config"] === "") {
      return { ok: false, reason: "Invalid --cluster-config: expected a JSON file" };
    }
    options.clusterConfig = values["cluster-config"];
  }
  if (values.region !== undefined) {
    if (!/^[A-Za-z0-9_-]+$/.test(values.region)) {
      return {
        ok: false,
        reason: `Invalid --region: expected letters, digits, _ and -, received "${values.region}"`,
      };
    }
    if (values["cluster-config"] === undefined) {
      return { ok: false, reason: "--region needs a multi-region --cluster-config" };
    }
    options.region = values.region;
  }
  if (values["data-dir"] !== undefined) {
    if (values["data-dir"] === "") {
      return { ok: false, reason: "Invalid --data-dir: expected a directory" };
    }
    options.dataDir = values["data-dir"];
  }
  if (values["event-store"] !== undefined) {
    if (!/^postgres(ql)?:\/\/./.test(values["event-store"])) {
      return { ok: false, reason: "Invalid --event-store: expected a postgres:// URL" };
    }
    options.eventStore = values["event-store"];
  }
  for (
    const [flag, key] of [["metrics-host", "metricsHost"], [
      "observer-host",
      "observerHost",
    ]] as const
  ) {
    const text = values[flag];
    if (text === undefined) continue;
    if (text === "") return { ok: false, reason: `Invalid --${flag}: expected an address` };
    options[key] = text;
  }
  if (values["observer-token"] !== undefined) {
    if (values["observer-token"].length < 8) {
      return { ok: false, reason: "Invalid --observer-token: use at least 8 characters" };
    }
    options.observerToken = values["observer-token"];
  }
  if (script !== undefined) options.script = script;
  // The last of --name / --sname wins, so `deno task start --sname b` overrides
  // the task's default `--name a@127.0.0.1`.
  const lastName = tokens.filter((t) =>
    t.kind === "option" && (t.name === "name" || t.name === "sname")
  )
    .at(-1);
  if (lastName?.kind === "option" && lastName.value !== undefined) {
    const value = lastName.value;
    if (value === "" || value.startsWith("@")) {
      return {
        ok: false,
        reason: `Invalid --${lastName.name}: expected a node name, received "${value}"`,
      };
    }
    if (lastName.name === "name") {
      // As Erlang: a long name needs its host (`erl -name a` takes none from a bare host name).
      if (!value.includes("@")) {
        return {
          ok: false,
          reason: `Invalid --name: a long name is name@host, received "${value}" ` +
            `(--name ${value}@127.0.0.1, or --sname ${value} for this host's short name)`,
        };
      }
      options.name = value;
    } else options.sname = value;
  }
  if (values.cookie !== undefined) {
    if (values.cookie.length === 0) {
      return { ok: false, reason: "Invalid --cookie: must not be empty" };
    }
    options.cookie = values.cookie;
  }
  if (values["cookie-file"] !== undefined) options.cookieFile = values["cookie-file"];
  if (values.eval !== undefined) options.eval = values.eval;
  if (values.remsh !== undefined) {
    if (values.remsh === "") return { ok: false, reason: "Invalid --remsh: expected a node name" };
    options.remsh = values.remsh;
  }
  const modes = [
    options.eval !== undefined && "--eval",
    options.script !== undefined && "--script",
    options.noRepl && "--no-repl",
  ].filter(Boolean);
  if (modes.length > 1) {
    return { ok: false, reason: `Cannot combine ${modes.join(" and ")}: give one of them` };
  }
  if (options.remsh !== undefined && (options.script !== undefined || options.noRepl)) {
    return {
      ok: false,
      reason: `Cannot combine --remsh and ${modes[0]}: a remote shell takes --eval or runs a REPL`,
    };
  }
  if (command === "epmd" && (options.remsh !== undefined || options.script !== undefined)) {
    return { ok: false, reason: "Invalid flags: weft epmd takes --port, --address and --daemon" };
  }
  for (
    const [flag, key, max] of [
      ["port", "port", 65535],
      ["epmd-port", "epmdPort", 65535],
      ["metrics", "metricsPort", 65535],
      ["observer", "observerPort", 65535],
    ] as const
  ) {
    const text = values[flag];
    if (text === undefined) continue;
    const n = Number(text);
    if (!/^\d+$/.test(text) || n > max || (flag === "epmd-port" && n === 0)) {
      return { ok: false, reason: `Invalid --${flag}: expected a port number, received "${text}"` };
    }
    options[key] = n;
  }
  if (values["net-ticktime"] !== undefined) {
    const n = Number(values["net-ticktime"]);
    if (!Number.isFinite(n) || n <= 0) {
      return {
        ok: false,
        reason: `Invalid --net-ticktime: expected seconds > 0, received "${
          values["net-ticktime"]
        }"`,
      };
    }
    options.netTicktimeSeconds = n;
  }
  for (
    const [flag, key] of [["busy-limit", "busyLimit"], [
      "reassembly-budget",
      "reassemblyBudget",
    ]] as const
  ) {
    const text = values[flag];
    if (text === undefined) continue;
    const n = parseBytes(text);
    if (n === undefined || n < 1) {
      return {
        ok: false,
        reason: `Invalid --${flag}: expected a size in bytes such as 16m, received "${text}"`,
      };
    }
    options[key] = n;
  }
  if (values["reassembly-timeout"] !== undefined) {
    const text = values["reassembly-timeout"];
    if (!/^\d+$/.test(text) || Number(text) < 1) {
      return {
        ok: false,
        reason: `Invalid --reassembly-timeout: expected milliseconds > 0, received "${text}"`,
      };
    }
    options.reassemblyTimeout = Number(text);
  }
  if (values.address !== undefined) options.address = values.address;
  if (values["tls-cert"] !== undefined) options.tlsCert = values["tls-cert"];
  if (values["tls-key"] !== undefined) options.tlsKey = values["tls-key"];
  if (values["tls-ca"] !== undefined) options.tlsCa = values["tls-ca"];
  if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) {
    return { ok: false, reason: "Invalid TLS flags: --tls-cert and --tls-key go together" };
  }
  if (options.tlsCa !== undefined && options.tlsCert === undefined) {
    return { ok: false, reason: "Invalid TLS flags: --tls-ca needs --tls-cert and --tls-key" };
  }
  return { ok: true, options };
}

/** The text of `weft --help`. */
export const HELP = `weft — Erlang/OTP-style distribution for Deno

Usage:
  weft [--sname NAME | --name NAME@HOST] [options]    a node with a shell (REPL)
  weft ... --eval CODE                                evaluate CODE, print its value
  weft ... --script FILE.ts [ARGS...]                 run FILE with the shell's names
  weft ... --no-repl                                  serve until SIGINT/SIGTERM
  weft --remsh NODE [--cookie C] [--eval CODE]        a shell on another node
  weft epmd [--port P] [--address A] [--daemon]       the port mapper

Node identity:
  --sname NAME          short name: NAME@<short hostname>
  --name NAME@HOST      long name (the last of --name/--sname wins)
  --cookie SECRET       the cluster cookie
  --cookie-file PATH    read the cookie from PATH (default ~/.weft.cookie,
                        created with a random cookie, mode 0600; refused
                        when its group or others may read or write it)
  --hidden              connect without joining the visible mesh

Distribution:
  --port P              listen for other nodes on port P (default: any free port)
  --epmd-port P         the port mapper's port (default 4369)
  --no-epmd             no port mapper; address peers as name@host:port
  --connect NODE        connect to NODE at start-up (repeatable)
  --net-ticktime SECS   declare a silent peer down after SECS (default 4)
  --busy-limit SIZE     bytes queued to one peer past which senders are held
                        back until it drains (default 16m; k, m, g suffixes)
  --reassembly-budget SIZE
                        bytes a peer's unfinished large messages may hold
                        before its connection closes (default 1g)
  --reassembly-timeout MS
                        a large message must arrive whole within MS of its
                        first fragment, or its connection closes (default 60000)
  --tls-cert PATH       TLS certificate (PEM); with --tls-key turns on TLS 1.3
  --tls-key PATH        TLS private key (PEM)
  --tls-ca PATH         CA for peer certificates (mutual TLS)
  --cluster-config FILE join and keep a cluster by discovery: topologies
                        (static, epmd_hosts, gossip, dns_poll, kubernetes_dns),
                        quorum, partition handling (JSON; docs/cluster.md)
  --region NAME         this node's region in a multi-region --cluster-config
                        (docs/multi_region.md)
  --metrics PORT        Prometheus metrics at /metrics, probes at /health/live and
                        /health/ready (--metrics-host ADDR, default 127.0.0.1)
  --observer PORT       the web observer (--observer-host ADDR, default 127.0.0.1;
                        --observer-token TOKEN, default derived from the cookie)
  --data-dir DIR        durable state of this node: durable replicated keys
                        (default ~/.weft/data/<node name>)
  --event-store URL     the event store on PostgreSQL (postgres://...; default
                        SQLite in the data directory; docs/event_sourcing.md)

Running (one of; the shell by default):
  -e, --eval CODE       evaluate CODE (TypeScript, top-level await) as the shell
                        would, print the value of its last expression; exit 0,
                        1 if it throws, N on q(N)
  --script FILE [ARGS]  run FILE (TypeScript) with the shell's names in scope
                        and ARGS as \`args\`/Deno.args; exit 0, 1 if it throws,
                        N on q(N) or Deno.exit(N)
  --no-repl             serve until SIGINT/SIGTERM, then leave the cluster
  --remsh NODE          connect as a hidden node and open a shell whose input
                        runs on NODE (as iex --remsh); q() leaves it

Rpc (what this node exposes to rpc.call from other nodes):
  --load FILE           expose FILE's exported functions as module <base name>
                        (or the name FILE exports as \`name\`); repeatable
  --rpc-allow PATTERN   let peers call only module.function names matching
                        PATTERN (* matches anything: math.*, node.uptime);
                        repeatable; implies --no-remote-eval
  --no-remote-eval      refuse functions sent as source (rpc.call(node, fn))

Shell keys: Tab completes, Up/Down walk the history (~/.weft_history),
Ctrl-C clears the line (twice to exit) or interrupts running code,
Ctrl-D exits, h() lists the shell's names.

Other:
  --log-level LEVEL     trace, debug, info, warning (default), error, fatal
  -h, --help            this text
  -v, --version         print the version

Exit status: 0 ok, 1 code threw, 2 bad flag or a node that cannot start
(name taken, port in use, remote node unreachable).
`;

/**
 * A size in bytes: digits with an optional `k`, `m` or `g` suffix (KiB,
 * MiB, GiB).
 *
 * @param text the flag's value
 * @returns the bytes, or `undefined` when `text` is not a size
 *
 * @example
 * ```ts
 * import { parseBytes } from "./options.ts";
 * console.assert(parseBytes("16m") === 16 * 1024 * 1024 && parseBytes("x") === undefined);
 * ```
 */
export function parseBytes(text: string): number | undefined {
  const m = /^(\d+)([kmg]?)$/i.exec(text.trim());
  if (m === null) return undefined;
  const unit = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase()]!;
  const n = Number(m[1]) * unit;
  return Number.isSafeInteger(n) ? n : undefined;
}
