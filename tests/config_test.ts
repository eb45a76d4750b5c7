/**
 * Configuration: the value parsers, the command line, the registry's CONFIG
 * SET semantics, CONFIG REWRITE, and — against real running servers, with
 * ioredis, node-redis (RESP2 and RESP3), redis-cli and raw sockets — CONFIG
 * GET/SET/RESETSTAT/REWRITE/HELP, config files, command-line overrides and
 * start-up errors. Where redis-server is installed, replies and FATAL
 * CONFIG FILE ERROR reports are compared with it byte for byte.
 *
 * @module
 */

import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import { Redis } from "ioredis";
import { createClient } from "redis";
import {
  freePort,
  hasRedis,
  hasRedisCli,
  type RunningServer,
  skipBecause,
  startServer,
  withRedis,
  withServer,
} from "./support/servers.ts";
import { rawReplies, redisReplies } from "./support/compare.ts";
import { RawClient } from "./support/raw_client.ts";
import {
  formatMemoryUnits,
  formatPercentile,
  memtoull,
  repr,
  splitOnSpaces,
  strtoll,
} from "../src/config/values.ts";
import { parseCommandLine } from "../src/config/cli.ts";
import { defaultServerConfig } from "../src/config/server_config.ts";
import { ConfigRegistry } from "../src/config/registry.ts";
import { rewrittenConfig } from "../src/config/rewrite.ts";
import { formatNotifyFlags, parseNotifyFlags } from "../src/config/notify_flags.ts";

const ROOT = new URL("../", import.meta.url).pathname;

// ---------------------------------------------------------------------------
// Helpers: run main.ts with a config file (first argument) in a chosen cwd.

/** Output and exit code of a start-up that is expected to fail. */
async function runToExit(args: string[], cwd: string): Promise<{ code: number; output: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", `${ROOT}main.ts`, ...args],
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30000),
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, output: dec.decode(out.stdout) + dec.decode(out.stderr) };
}

/**
 * Spawns `cmd args` in `cwd` and resolves once it logged "Ready to accept
 * connections"; the port comes from its "port=N" line.
 */
async function spawnReady(cmd: string, args: string[], cwd: string): Promise<RunningServer> {
  const child = new Deno.Command(cmd, {
    args,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const sink = { text: "" };
  const pump = async (s: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    for await (const chunk of s) sink.text += dec.decode(chunk, { stream: true });
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    await child.status;
    await pumps;
  };
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline) {
    const m = /port=(\d+)/.exec(sink.text);
    if (m && sink.text.includes("Ready to accept connections")) {
      return { port: Number(m[1]), dir: cwd, process: child, output: () => sink.text, stop };
    }
    const done = await Promise.race([child.status, new Promise((r) => setTimeout(r, 20, null))]);
    if (done !== null) break;
  }
  await stop();
  throw new Error(`${cmd} did not start:\n${sink.text}`);
}

/** Starts main.ts with `args` (a config file may come first) in `cwd`. */
function startMain(args: string[], cwd: string): Promise<RunningServer> {
  return spawnReady(Deno.execPath(), ["run", "--allow-all", `${ROOT}main.ts`, ...args], cwd);
}

function ioredis(port: number, password?: string): Redis {
  return new Redis({ port, password, lazyConnect: false, maxRetriesPerRequest: 1 });
}

/** Awaits a command that must fail and returns its error message. */
async function errorOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error("expected an error reply");
}

/** CONFIG GET's flat reply as a name → value record. */
function asRecord(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) out[flat[i]] = flat[i + 1];
  return out;
}

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "redis-deno-config-" });
}

/** What real redis-server prints for a config file that fails (null when not installed). */
async function redisStartupError(conf: string, cwd: string): Promise<string | null> {
  if (!hasRedis) return null;
  const out = await new Deno.Command("redis-server", {
    args: [conf],
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(10000),
  }).output();
  const dec = new TextDecoder();
  strictEqual(out.code, 1, "redis-server accepted a config meant to fail");
  return dec.decode(out.stdout) + dec.decode(out.stderr);
}

// ---------------------------------------------------------------------------
// Unit tests.

Deno.test("values: memtoull, strtoll, memory units, percentiles, quoting as in Redis", () => {
  strictEqual(memtoull("1k"), 1000n);
  strictEqual(memtoull("1KB"), 1024n);
  strictEqual(memtoull("2gb"), 2n * 1024n ** 3n);
  strictEqual(memtoull("3M"), 3000000n);
  strictEqual(memtoull("5b"), 5n);
  strictEqual(memtoull(""), 0n);
  strictEqual(memtoull("0777"), 777n);
  strictEqual(memtoull("-1"), null);
  strictEqual(memtoull("1.5"), null);
  strictEqual(memtoull("1 k"), null);
  strictEqual(memtoull("18446744073709551615"), 18446744073709551615n);
  strictEqual(memtoull("20000000000gb"), null); // overflows 64 bits
  deepStrictEqual(strtoll("+5"), { value: 5n, rest: "", overflow: false });
  deepStrictEqual(strtoll(" 12x"), { value: 12n, rest: "x", overflow: false });
  deepStrictEqual(strtoll(""), { value: 0n, rest: "", overflow: false });
  deepStrictEqual(strtoll("777", 8), { value: 511n, rest: "", overflow: false });
  strictEqual(formatMemoryUnits(64n * 1024n * 1024n), "64mb");
  strictEqual(formatMemoryUnits(1073741824n), "1gb");
  strictEqual(formatMemoryUnits(2048n), "2kb");
  strictEqual(formatMemoryUnits(1000n), "1000");
  strictEqual(formatMemoryUnits(0n), "0");
  strictEqual(formatPercentile(99.9), "99.9");
  strictEqual(formatPercentile(50), "50");
  strictEqual(formatPercentile(99.99999), "99.99999");
  strictEqual(formatPercentile(0.0078125), "0.007812"); // printf rounds ties to even
  strictEqual(repr('a b"c\n\x01'), '"a b\\"c\\n\\x01"');
  deepStrictEqual(splitOnSpaces("900  1"), ["900", "", "1"]);
  deepStrictEqual(splitOnSpaces(""), []);
  strictEqual(formatNotifyFlags(parseNotifyFlags("KEA")!), "AKE");
  strictEqual(formatNotifyFlags(parseNotifyFlags("nmdtexzhsl$gKE")!), "AKEm");
  strictEqual(formatNotifyFlags(parseNotifyFlags("Exg")!), "gxE");
  strictEqual(parseNotifyFlags("KEq"), null);
});

Deno.test("command line: parsed exactly as redis-server parses argv", () => {
  deepStrictEqual(parseCommandLine([]), {
    action: "run",
    configFile: null,
    options: "",
    stdin: false,
  });
  deepStrictEqual(parseCommandLine(["-v"]), { action: "version" });
  deepStrictEqual(parseCommandLine(["--help"]), { action: "help" });
  const run = (argv: string[]) => {
    const r = parseCommandLine(argv);
    if (r.action !== "run") throw new Error("not a run");
    return r;
  };
  strictEqual(run(["--port", "6380"]).options, 'port "6380" ');
  const withFile = run(["/etc/r.conf", "--save", "900", "1", "--loglevel", "verbose"]);
  strictEqual(withFile.configFile, "/etc/r.conf");
  strictEqual(withFile.options, 'save "900" "1" \nloglevel "verbose" ');
  // A bare --save (before another --name, or last) means `save ""`.
  strictEqual(run(["--save", "--port", "1"]).options, 'save ""\nport "1" ');
  strictEqual(run(["--port", "1", "--save"]).options, 'port "1" \nsave ""');
  // Right after a bare --name, the next argument is its value even if it starts with "--".
  strictEqual(run(["--requirepass", "--x"]).options, 'requirepass "--x" ');
  // "--port 6380" in one argument carries its value.
  strictEqual(run(["--port 6380", "--hz", "5"]).options, 'port 6380 \nhz "5" ');
  // Values are quoted so spaces and any bytes survive; UTF-8 becomes \x escapes.
  strictEqual(run(["--requirepass", 'a b"ä']).options, 'requirepass "a b\\"\\xc3\\xa4" ');
  strictEqual(run(["-"]).stdin, true);
  strictEqual(run(["/c.conf", "--hz", "5", "-"]).stdin, true);
});

Deno.test("registry: defaults, aliases, hidden parameters, multi-pattern CONFIG GET", () => {
  const reg = new ConfigRegistry(defaultServerConfig());
  strictEqual(reg.get("save"), "900 1 300 10 60 10000");
  strictEqual(
    reg.get("client-output-buffer-limit"),
    "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
  );
  strictEqual(reg.get("bind"), "127.0.0.1");
  strictEqual(reg.get("appendonly"), "no");
  strictEqual(reg.get("latency-tracking-info-percentiles"), "50 99 99.9");
  strictEqual(reg.get("SLAVE-PRIORITY"), "100");
  // Hidden parameters answer an exact name only.
  deepStrictEqual(reg.getMatching(["use-exit-on-panic"]), [["use-exit-on-panic", "no"]]);
  deepStrictEqual(reg.getMatching(["use-exit-on-*"]), []);
  // Several patterns, no duplicates; an exact name keeps the case it was asked with.
  deepStrictEqual(reg.getMatching(["HZ", "hz", "h?"]), [["HZ", "10"]]);
  deepStrictEqual(
    reg.getMatching(["*-priority"]).map(([n]) => n).sort(),
    ["replica-priority", "slave-priority"],
  );
});

Deno.test("registry: CONFIG SET checks every name, sets all, rolls back on a failing hook", () => {
  const target = defaultServerConfig();
  const reg = new ConfigRegistry(target);
  const ctx = { local: true, loading: false };
  strictEqual(reg.setMany([["maxmemory", "10mb"], ["hz", "20"]], ctx), null);
  strictEqual(target.maxmemory, 10 * 1024 * 1024);
  strictEqual(target.hz, 20);
  // A bad value anywhere: nothing changes.
  strictEqual(
    reg.setMany([["maxmemory", "1mb"], ["maxmemory-policy", "bogus"]], ctx),
    "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction",
  );
  strictEqual(reg.get("maxmemory"), String(10 * 1024 * 1024));
  // A hook that throws rolls every parameter back and is told of the old values again.
  const seen: number[] = [];
  reg.onChange("timeout", (t) => {
    seen.push(t.timeout);
    if (t.timeout === 99) throw new Error("no way");
  });
  strictEqual(
    reg.setMany([["hz", "30"], ["timeout", "99"], ["maxmemory", "0"]], ctx),
    "ERR CONFIG SET failed (possibly related to argument 'timeout') - no way",
  );
  deepStrictEqual(seen, [99, 0]);
  strictEqual(target.hz, 20);
  strictEqual(target.timeout, 0);
  strictEqual(target.maxmemory, 10 * 1024 * 1024);
  strictEqual(reg.get("hz"), "20");
  // Hooks do not run when the value did not change.
  strictEqual(reg.setMany([["timeout", "0"]], ctx), null);
  deepStrictEqual(seen, [99, 0]);
  // Protected parameters need enable-protected-configs.
  strictEqual(
    reg.setMany([["dbfilename", "x.rdb"]], ctx),
    "ERR CONFIG SET failed (possibly related to argument 'dbfilename') - can't set protected config",
  );
  strictEqual(
    reg.setMany([["appendonly", "yes"]], { local: true, loading: true }),
    "LOADING Redis is loading the dataset in memory",
  );
});

Deno.test("rewrite: comments and unknown lines stay, options reuse their lines, new ones follow the signature", () => {
  const reg = new ConfigRegistry(defaultServerConfig());
  const ctx = { local: true, loading: false };
  strictEqual(
    reg.setMany([
      ["maxmemory", "3mb"],
      ["save", "60 5"],
      ["timeout", "30"],
      ["slave-priority", "40"],
      ["requirepass", 'a b"c'],
      ["client-output-buffer-limit", "pubsub 1mb 1000 5"],
      ["notify-keyspace-events", "KEx"],
    ], ctx),
    null,
  );
  const old = [
    "# top comment",
    "  # indented comment",
    "port 6379",
    "save 900 1",
    "save 300 10",
    "maxmemory 1mb",
    "list-max-ziplist-value 5",
    "slave-priority 50",
    "hash-max-ziplist-entries 100",
    "client-output-buffer-limit pubsub 1mb 1000 5",
    'notify-keyspace-events "KEx"',
    'masterauth "secret"',
    "",
    "",
    "include /tmp/inc.conf",
    'unparsable "quote',
    "",
  ].join("\n");
  // The same shape real redis-server 7.0.15 writes for this file and these changes
  // (the order of appended lines is hash order there, table order here).
  const text = rewrittenConfig(reg, old).split("\n");
  deepStrictEqual(text.slice(0, 16), [
    "# top comment",
    "# indented comment",
    "port 6379",
    "save 60 5",
    "",
    "maxmemory 3mb",
    "# ??? list-max-ziplist-value 5",
    "replica-priority 40",
    "hash-max-listpack-entries 512",
    "client-output-buffer-limit normal 0 0 0",
    'notify-keyspace-events "xKE"',
    "",
    "include /tmp/inc.conf",
    '# ??? unparsable "quote',
    "",
    "# Generated by CONFIG REWRITE",
  ]);
  const appended = text.slice(16);
  for (
    const line of [
      'requirepass "a b\\"c"',
      "timeout 30",
      "client-output-buffer-limit pubsub 1mb 1000 5",
      "latency-tracking-info-percentiles 50 99 99.9",
    ]
  ) ok(appended.includes(line), `missing ${line} in ${appended.join(" | ")}`);
  // Defaults that were not in the file are not added.
  ok(!appended.some((l) => l.startsWith("hz ")));
});

// ---------------------------------------------------------------------------
// Against running servers.

Deno.test("CONFIG GET: patterns, several arguments, aliases, hidden names (ioredis, node-redis RESP2/RESP3)", async () => {
  await withServer([], async (srv) => {
    const r = ioredis(srv.port);
    const c2 = createClient({ socket: { port: srv.port, host: "127.0.0.1" } });
    const c3 = createClient({ socket: { port: srv.port, host: "127.0.0.1" }, RESP: 3 });
    await c2.connect();
    await c3.connect();
    try {
      const all = asRecord(await r.config("GET", "*") as string[]);
      ok(Object.keys(all).length >= 190, `only ${Object.keys(all).length} parameters`);
      strictEqual(all["save"], "");
      strictEqual(all["appendonly"], "no");
      strictEqual(all["slave-priority"], "100");
      strictEqual(all["replica-priority"], "100");
      ok(!("use-exit-on-panic" in all));
      deepStrictEqual(
        asRecord(await r.config("GET", "maxmemory", "maxmemory-policy", "maxmemory") as string[]),
        { "maxmemory": "0", "maxmemory-policy": "noeviction" },
      );
      deepStrictEqual(
        Object.keys(asRecord(await r.config("GET", "maxmem*", "*policy") as string[])).sort(),
        [
          "maxmemory",
          "maxmemory-clients",
          "maxmemory-eviction-tenacity",
          "maxmemory-policy",
          "maxmemory-samples",
        ],
      );
      deepStrictEqual(await r.config("GET", "no-such-thing"), []);
      deepStrictEqual(await r.config("GET", "use-exit-on-panic"), ["use-exit-on-panic", "no"]);
      deepStrictEqual(await c2.sendCommand(["CONFIG", "GET", "hz"]), ["hz", "10"]);
      const m3 = await c3.sendCommand(["CONFIG", "GET", "hz", "timeout"]);
      const entries = m3 instanceof Map ? [...m3.entries()] : Object.entries(m3 as object);
      deepStrictEqual(entries.map(([k, v]) => [String(k), String(v)]), [["hz", "10"], [
        "timeout",
        "0",
      ]]);
    } finally {
      await r.quit();
      c2.destroy();
      c3.destroy();
    }
  });
});

Deno.test("CONFIG SET: several pairs at once, atomic on a bad value, rolled back when the port cannot be bound", async () => {
  await withServer([], async (srv) => {
    const r = ioredis(srv.port);
    const blocker = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      strictEqual(await r.config("SET", "maxmemory", "10mb", "hz", "20", "timeout", "30"), "OK");
      deepStrictEqual(
        asRecord(await r.config("GET", "maxmemory", "hz", "timeout") as string[]),
        { maxmemory: "10485760", hz: "20", timeout: "30" },
      );
      match(
        await errorOf(r.config("SET", "maxmemory", "1mb", "maxmemory-policy", "bogus")),
        /possibly related to argument 'maxmemory-policy'/,
      );
      deepStrictEqual(await r.config("GET", "maxmemory"), ["maxmemory", "10485760"]);
      // The port is taken: the hook fails, every parameter comes back, the server keeps listening.
      const busy = (blocker.addr as Deno.NetAddr).port;
      strictEqual(
        await errorOf(r.config("SET", "hz", "40", "port", String(busy))),
        "ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. Check server logs.",
      );
      deepStrictEqual(asRecord(await r.config("GET", "hz", "port") as string[]), {
        hz: "20",
        port: String(srv.port),
      });
      const again = ioredis(srv.port);
      try {
        strictEqual(await again.ping(), "PONG");
      } finally {
        await again.quit();
      }
    } finally {
      blocker.close();
      await r.quit();
    }
  });
});

Deno.test("CONFIG SET takes effect: port, maxclients, requirepass, redacted slow log", async () => {
  await withServer([], async (srv) => {
    const r = ioredis(srv.port);
    try {
      // Moving to another port: new clients connect there.
      const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const next = (probe.addr as Deno.NetAddr).port;
      probe.close();
      strictEqual(await r.config("SET", "port", String(next)), "OK");
      const moved = ioredis(next);
      try {
        deepStrictEqual(await moved.config("GET", "port"), ["port", String(next)]);
        strictEqual(await moved.config("SET", "maxclients", "2"), "OK");
        const third = await RawClient.connect(next);
        try {
          strictEqual(await third.read(Infinity, 1000), "-ERR max number of clients reached\r\n");
        } finally {
          await third.close();
        }
        await moved.config("SET", "maxclients", "10000");
        await moved.config("SET", "slowlog-log-slower-than", "0");
        await moved.slowlog("RESET");
        strictEqual(await moved.config("SET", "requirepass", "s3cret"), "OK");
        const [entry] = await moved.slowlog("GET", 1) as unknown[][];
        deepStrictEqual(entry[3], ["config", "SET", "requirepass", "(redacted)"]);
        const fresh = await RawClient.connect(next);
        try {
          strictEqual(
            await fresh.roundTrip("PING\r\n"),
            "-NOAUTH Authentication required.\r\n",
          );
        } finally {
          await fresh.close();
        }
      } finally {
        await moved.quit();
      }
    } finally {
      r.disconnect();
    }
  });
});

/** CONFIG commands compared byte for byte (single-match GETs: hash order differs in Redis). */
const DIFF_CASES: string[][] = [
  ["CONFIG", "GET", "save"],
  ["CONFIG", "GET", "client-output-buffer-limit"],
  ["CONFIG", "GET", "Slave-Priority"],
  ["CONFIG", "GET", "use-exit-on-panic"],
  ["CONFIG", "GET", "use-exit-on-*"],
  ["CONFIG", "GET", "nosuch"],
  ["CONFIG", "GET", "maxmemory", "MAXMEMORY"],
  ["CONFIG", "GET"],
  ["CONFIG"],
  ["CONFIG", "foo"],
  ["CONFIG", "HELP"],
  ["CONFIG", "HELP", "x"],
  ["CONFIG", "RESETSTAT", "x"],
  ["CONFIG", "REWRITE"],
  ["CONFIG", "SET", "a"],
  ["CONFIG", "SET", "a", "b", "c"],
  ["CONFIG", "SET", "foo", "1"],
  ["CONFIG", "SET", "maxmemory", "1", "MAXMEMORY", "2"],
  ["CONFIG", "SET", "replica-priority", "1", "slave-priority", "2"],
  ["CONFIG", "GET", "replica-priority"],
  ["CONFIG", "SET", "slave-priority", "abc"],
  ["CONFIG", "SET", "MAXMEMORY", "abc"],
  ["CONFIG", "SET", "daemonize", "yes", "foo", "1"],
  ["CONFIG", "SET", "foo", "1", "daemonize", "yes"],
  ["CONFIG", "SET", "maxmemory", "1", "DAEMONIZE", "yes"],
  ["CONFIG", "SET", "dir", "/tmp"],
  ["CONFIG", "SET", "dbfilename", "a/b"],
  ["CONFIG", "SET", "logfile", "x.log"],
  ["CONFIG", "SET", "maxmemory", "2GB"],
  ["CONFIG", "GET", "maxmemory"],
  ["CONFIG", "SET", "maxmemory", "18446744073709551615"],
  ["CONFIG", "GET", "maxmemory"],
  ["CONFIG", "SET", "maxmemory", "-1"],
  ["CONFIG", "SET", "maxmemory", "0"],
  ["CONFIG", "SET", "maxmemory-clients", "50%"],
  ["CONFIG", "GET", "maxmemory-clients"],
  ["CONFIG", "SET", "maxmemory-clients", "150%"],
  ["CONFIG", "SET", "maxmemory-clients", "1.5"],
  ["CONFIG", "SET", "proto-max-bulk-len", "1k"],
  ["CONFIG", "SET", "hz", "1000"],
  ["CONFIG", "GET", "hz"],
  ["CONFIG", "SET", "hz", "abc"],
  ["CONFIG", "SET", "hz", "10"],
  ["CONFIG", "SET", "timeout", "-1"],
  ["CONFIG", "SET", "maxclients", "0"],
  ["CONFIG", "SET", "slowlog-log-slower-than", "-2"],
  ["CONFIG", "SET", "activerehashing", "maybe"],
  ["CONFIG", "SET", "activerehashing", "YES"],
  ["CONFIG", "SET", "loglevel", "VERBOSE"],
  ["CONFIG", "GET", "loglevel"],
  ["CONFIG", "SET", "loglevel", "loud"],
  ["CONFIG", "SET", "loglevel", "notice"],
  ["CONFIG", "SET", "save", "100 2 50 3"],
  ["CONFIG", "GET", "save"],
  ["CONFIG", "SET", "save", "0 1"],
  ["CONFIG", "SET", "save", "900  1"],
  ["CONFIG", "SET", "save", "+5 1"],
  ["CONFIG", "GET", "save"],
  ["CONFIG", "SET", "save", ""],
  ["CONFIG", "SET", "client-output-buffer-limit", "replica 1kb 2MB 3 pubsub 1k 2 3"],
  ["CONFIG", "GET", "client-output-buffer-limit"],
  ["CONFIG", "SET", "client-output-buffer-limit", "master 1 1 1"],
  ["CONFIG", "SET", "client-output-buffer-limit", "pubsub 1 1 -1"],
  ["CONFIG", "SET", "client-output-buffer-limit", "pubsub 1 1"],
  ["CONFIG", "SET", "notify-keyspace-events", "KEA"],
  ["CONFIG", "GET", "notify-keyspace-events"],
  ["CONFIG", "SET", "notify-keyspace-events", "KEq"],
  ["CONFIG", "SET", "notify-keyspace-events", ""],
  ["CONFIG", "SET", "latency-tracking-info-percentiles", "1.5 99.99999 100 0"],
  ["CONFIG", "GET", "latency-tracking-info-percentiles"],
  ["CONFIG", "SET", "latency-tracking-info-percentiles", "101"],
  ["CONFIG", "SET", "latency-tracking-info-percentiles", "x"],
  ["CONFIG", "SET", "shutdown-on-sigint", "force now save"],
  ["CONFIG", "GET", "shutdown-on-sigint"],
  ["CONFIG", "SET", "shutdown-on-sigint", "save nosave"],
  ["CONFIG", "SET", "oom-score-adj-values", "1 2"],
  ["CONFIG", "SET", "oom-score-adj-values", "1 2 3000"],
  ["CONFIG", "SET", "unixsocketperm", "777"],
  ["CONFIG", "SET", "cluster-announce-hostname", "a_b"],
  ["CONFIG", "SET", "proc-title-template", "{title}"],
  ["CONFIG", "SET", "proc-title-template", "{port} {{x}}"],
  ["CONFIG", "GET", "proc-title-template"],
  ["CONFIG", "SET", "replicaof", "no one"],
  ["HELLO", "3"],
  ["CONFIG", "GET", "maxmemory-policy"],
  ["CONFIG", "GET", "nosuch"],
];

Deno.test("CONFIG GET/SET/HELP replies match redis-server byte for byte", async () => {
  if (!hasRedis) return void skipBecause("redis-server is not installed");
  const expected = await redisReplies(DIFF_CASES);
  await withServer([], async (srv) => {
    const got = await rawReplies(srv.port, DIFF_CASES);
    for (let i = 0; i < DIFF_CASES.length; i++) {
      if (DIFF_CASES[i][0] === "HELLO") continue; // server/version fields differ
      strictEqual(got[i], expected![i], `reply to ${DIFF_CASES[i].join(" ")}`);
    }
  });
});

Deno.test("config file: comments, quotes, include (relative to cwd), multi-argument directives", async () => {
  const dir = await tempDir();
  await Deno.writeTextFile(`${dir}/extra.conf`, "hz 7\nmaxmemory-policy allkeys-lru\n");
  await Deno.mkdir(`${dir}/conf.d`);
  await Deno.writeTextFile(`${dir}/conf.d/a.conf`, "timeout 11\n");
  await Deno.writeTextFile(`${dir}/conf.d/b.conf`, "tcp-keepalive 12\n");
  await Deno.writeTextFile(
    `${dir}/redis.conf`,
    [
      "# a comment",
      "",
      "   ",
      "  maxmemory 2mb  ",
      "save 900 1 300 10",
      "save 60 10000",
      "client-output-buffer-limit normal 1mb 512kb 10 pubsub 64mb 16mb 90",
      "requirepass 'pa ss\\'w'",
      'masterauth "a\\x41\\tb"',
      "notify-keyspace-events Ex",
      "SLAVE-PRIORITY 42",
      "hash-max-ziplist-entries 99",
      "list-max-ziplist-entries 5",
      "include extra.conf",
      "include conf.d/*.conf",
      "include conf.d/none-*.conf",
      `dir ${dir}`,
      "",
    ].join("\n"),
  );
  const srv = await startMain(["redis.conf", "--port", "0"], dir);
  const r = ioredis(srv.port, "pa ss'w");
  try {
    const got = asRecord(
      await r.config(
        "GET",
        "maxmemory",
        "save",
        "client-output-buffer-limit",
        "masterauth",
        "notify-keyspace-events",
        "replica-priority",
        "hash-max-listpack-entries",
        "hz",
        "maxmemory-policy",
        "timeout",
        "tcp-keepalive",
        "dir",
      ) as string[],
    );
    deepStrictEqual(got, {
      "maxmemory": "2097152",
      "save": "900 1 300 10 60 10000",
      "client-output-buffer-limit":
        "normal 1048576 524288 10 slave 268435456 67108864 60 pubsub 67108864 16777216 90",
      "masterauth": "aA\tb",
      "notify-keyspace-events": "xE",
      "replica-priority": "42",
      "hash-max-listpack-entries": "99",
      "hz": "7",
      "maxmemory-policy": "allkeys-lru",
      "timeout": "11",
      "tcp-keepalive": "12",
      "dir": await Deno.realPath(dir),
    });
  } finally {
    await r.quit();
    await srv.stop();
  }
});

Deno.test("config file errors: FATAL report names file, line and directive; exit code 1; Redis' reasons", async () => {
  const dir = await tempDir();
  const cases: [string, string][] = [
    ['# comment\n\nport 6379\nport "abc"\n', "argument couldn't be parsed into an integer"],
    ["no-such-directive yes\n", "Bad directive or wrong number of arguments"],
    ["maxmemory 1 2\n", "wrong number of arguments"],
    ['port "abc\n', "Unbalanced quotes in configuration line"],
    ["save 0 0\n", "Invalid save parameters"],
    [
      "loglevel loud\n",
      "argument(s) must be one of the following: debug, verbose, notice, warning",
    ],
    ["maxmemory 12 apples\n", "wrong number of arguments"],
    ["appendonly maybe\n", "argument must be 'yes' or 'no'"],
    [
      "client-output-buffer-limit normal 1 2\n",
      "Wrong number of arguments in buffer limit configuration.",
    ],
    ["include\n", "Bad directive or wrong number of arguments"],
    ["rename-command GET FETCH\n", "rename-command is not supported by this server"],
  ];
  for (const [i, [text, reason]] of cases.entries()) {
    const conf = `${dir}/bad${i}.conf`;
    await Deno.writeTextFile(conf, text);
    const { code, output } = await runToExit([conf], dir);
    strictEqual(code, 1, output);
    const lines = text.split("\n");
    const at = lines.findLastIndex((l) => l.trim() !== "" && !l.startsWith("#"));
    const expected = `\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n` +
      `Reading the configuration file ${conf}, at line ${at + 1}\n` +
      `>>> '${lines[at].trim()}'\n${reason}\n`;
    strictEqual(output, expected);
    // Real redis-server prints the same report, without the file name.
    if (!reason.includes("not supported")) {
      const real = await redisStartupError(conf, dir);
      if (real !== null) strictEqual(output.replace(` ${conf},`, ","), real);
    }
  }
  // An error in an included file names that file and its own line number.
  await Deno.writeTextFile(`${dir}/inc.conf`, "hz 5\n\ntimeout -1\n");
  await Deno.writeTextFile(`${dir}/main.conf`, "port 0\ninclude inc.conf\n");
  const inc = await runToExit([`${dir}/main.conf`], dir);
  strictEqual(inc.code, 1);
  match(inc.output, /Reading the configuration file inc\.conf, at line 3\n>>> 'timeout -1'\n/);
  match(inc.output, /argument must be between 0 and 2147483647 inclusive\n$/);
  // A missing file.
  const missing = await runToExit([`${dir}/nope.conf`], dir);
  strictEqual(missing.code, 1);
  match(
    missing.output,
    /# Fatal error, can't open config file '.*nope\.conf': No such file or directory/,
  );
  if (!hasRedis) skipBecause("redis-server is not installed: reports not compared");
});

Deno.test("command line: overrides the file, FATAL errors for bad arguments, save lines add up like redis-server", async () => {
  const dir = await tempDir();
  await Deno.writeTextFile(`${dir}/r.conf`, "hz 5\nsave 900 1\ntimeout 3\n");
  const srv = await startMain(
    [`${dir}/r.conf`, "--port", "0", "--hz", "8", "--save", "60", "10", "--requirepass", "--x--"],
    dir,
  );
  const r = ioredis(srv.port, "--x--");
  try {
    deepStrictEqual(asRecord(await r.config("GET", "hz", "save", "timeout") as string[]), {
      hz: "8",
      save: "900 1 60 10",
      timeout: "3",
    });
  } finally {
    await r.quit();
    await srv.stop();
  }
  if (hasRedis) {
    // redis-server too keeps the file's save line and adds the command line's.
    const real = await spawnReady("redis-server", [
      `${dir}/r.conf`,
      "--port",
      String(freePort()),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--save",
      "60",
      "10",
    ], dir);
    const c = ioredis(real.port);
    try {
      deepStrictEqual(await c.config("GET", "save"), ["save", "900 1 60 10"]);
    } finally {
      await c.quit();
      await real.stop();
    }
  } else {
    skipBecause("redis-server is not installed: save accumulation not compared");
  }
  const bad = await runToExit([`${dir}/r.conf`, "--timeout", "-5"], dir);
  strictEqual(bad.code, 1);
  // The command-line directives come after the file's 4 lines (3 + the final empty one).
  strictEqual(
    bad.output,
    "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 5\n" +
      `>>> 'timeout "-5"'\nargument must be between 0 and 2147483647 inclusive\n`,
  );
  const noValue = await runToExit(["--port"], dir);
  strictEqual(noValue.code, 1);
  match(noValue.output, />>> 'port'\nwrong number of arguments\n$/);
  const version = await runToExit(["-v"], dir);
  strictEqual(version.code, 0);
  match(version.output, /^Redis server v=7\.0\.15 /);
  const help = await runToExit(["--help"], dir);
  strictEqual(help.code, 1);
  match(help.output, /^Usage: /);
});

Deno.test("CONFIG REWRITE: rewrites in place, restart keeps the values; error without a config file", async () => {
  const dir = await tempDir();
  const conf = `${dir}/redis.conf`;
  await Deno.writeTextFile(
    conf,
    `# my settings\nmaxmemory 1mb\ntimeout 5\nsave 900 1\ndir ${dir}\n`,
  );
  let srv = await startMain([conf, "--port", "0"], dir);
  let r = ioredis(srv.port);
  try {
    strictEqual(
      await r.config("SET", "maxmemory", "3mb", "timeout", "0", "hz", "15", "save", ""),
      "OK",
    );
    strictEqual(await r.config("REWRITE"), "OK");
  } finally {
    await r.quit();
    await srv.stop();
  }
  const text = await Deno.readTextFile(conf);
  const lines = text.split("\n");
  strictEqual(lines[0], "# my settings");
  strictEqual(lines[1], "maxmemory 3mb");
  strictEqual(lines[2], "timeout 0");
  strictEqual(lines[3], 'save ""');
  strictEqual(lines[4], `dir ${JSON.stringify(await Deno.realPath(dir))}`);
  ok(lines.includes("# Generated by CONFIG REWRITE"), text);
  ok(lines.includes("hz 15"), text);
  // No temporary file left behind.
  deepStrictEqual(
    [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.startsWith("redis.conf.")),
    [],
  );
  srv = await startMain([conf, "--port", "0"], dir);
  r = ioredis(srv.port);
  try {
    deepStrictEqual(
      asRecord(await r.config("GET", "maxmemory", "timeout", "hz", "save") as string[]),
      {
        maxmemory: "3145728",
        timeout: "0",
        hz: "15",
        save: "",
      },
    );
  } finally {
    await r.quit();
    await srv.stop();
  }
  await withServer([], async (plain) => {
    const c = ioredis(plain.port);
    try {
      strictEqual(
        await errorOf(c.config("REWRITE")),
        "ERR The server is running without a config file",
      );
    } finally {
      await c.quit();
    }
  });
});

/** INFO as name → value. */
async function info(r: Redis, section: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const line of (await r.info(section)).split("\r\n")) {
    const i = line.indexOf(":");
    if (i > 0 && !line.startsWith("#")) out.set(line.slice(0, i), line.slice(i + 1));
  }
  return out;
}

/** INFO stats counters compared with redis-server after CONFIG RESETSTAT. */
const COUNTERS =
  /^(total_(connections_received|commands_processed|error_replies)|keyspace_(hits|misses)|rejected_connections|expired_keys)$/;

/** Runs a few commands (calls, an error, hits and misses), then CONFIG RESETSTAT. */
async function statsAfterReset(
  port: number,
): Promise<{ cmds: string[]; stats: Map<string, string>; errors: Map<string, string> }> {
  const r = ioredis(port);
  try {
    await r.set("k", "v");
    await r.get("k");
    await r.get("missing");
    await r.call("NOSUCHCOMMAND").catch(() => {});
    await r.call("GET").catch(() => {});
    const before = await info(r, "commandstats");
    ok(before.has("cmdstat_get"), "commandstats did not count GET");
    strictEqual(await r.config("RESETSTAT"), "OK");
    const cmds = [...(await info(r, "commandstats")).entries()].map(([k, v]) =>
      `${k}:${v.replace(/usec=[^,]*,usec_per_call=[^,]*/, "usec=*")}`
    );
    return { cmds, stats: await info(r, "stats"), errors: await info(r, "errorstats") };
  } finally {
    await r.quit();
  }
}

Deno.test("CONFIG RESETSTAT zeroes the counters INFO reports (commandstats, stats, errorstats)", async () => {
  await withServer([], async (srv) => {
    const ours = await statsAfterReset(srv.port);
    deepStrictEqual(ours.cmds, [
      "cmdstat_config|resetstat:calls=1,usec=*,rejected_calls=0,failed_calls=0",
    ]);
    for (
      const field of [
        "total_connections_received",
        "keyspace_hits",
        "keyspace_misses",
        "total_error_replies",
        "rejected_connections",
      ]
    ) {
      if (ours.stats.has(field)) strictEqual(ours.stats.get(field), "0", field);
    }
    // RESETSTAT itself and INFO commandstats ran since.
    strictEqual(ours.stats.get("total_commands_processed"), "2");
    deepStrictEqual([...ours.errors.keys()], []);
    if (!hasRedis) return void skipBecause("redis-server is not installed: not compared");
    const real = await withRedis([], (r) => statsAfterReset(r.port));
    deepStrictEqual(ours.cmds, real.cmds);
    for (const [field, value] of real.stats) {
      if (ours.stats.has(field) && COUNTERS.test(field)) {
        strictEqual(ours.stats.get(field), value, field);
      }
    }
  });
});

Deno.test("loglevel changes at run time; logfile is immutable, as in Redis 7.0", async () => {
  const dir = await tempDir();
  const logfile = `${dir}/server.log`;
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      `${ROOT}main.ts`,
      "--port",
      String(port),
      "--dir",
      dir,
      "--logfile",
      logfile,
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const log = () => {
    try {
      return Deno.readTextFileSync(logfile);
    } catch {
      return "";
    }
  };
  try {
    const deadline = Date.now() + 30000;
    while (!log().includes("Ready to accept connections") && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    match(log(), new RegExp(`Running mode=standalone, port=${port}\\.`));
    const r = ioredis(port);
    try {
      // A protocol error is logged at verbose level only.
      const bad = async () => {
        const c = await RawClient.connect(port);
        try {
          await c.roundTrip("*1\r\n$x\r\n", Infinity, 300);
        } finally {
          await c.close();
        }
      };
      await bad();
      ok(!log().includes("Protocol error"), "verbose line written at notice level");
      strictEqual(await r.config("SET", "loglevel", "verbose"), "OK");
      await bad();
      match(log(), /Protocol error/);
      strictEqual(
        await errorOf(r.config("SET", "logfile", `${dir}/other.log`)),
        "ERR CONFIG SET failed (possibly related to argument 'logfile') - can't set immutable config",
      );
      deepStrictEqual(await r.config("GET", "logfile"), ["logfile", logfile]);
      strictEqual(await r.config("SET", "loglevel", "warning"), "OK");
      const before = log().length;
      await bad();
      strictEqual(log().length, before);
    } finally {
      await r.quit();
    }
  } finally {
    child.kill("SIGTERM");
    await child.status;
  }
  match(log(), /Redis is now ready to exit, bye bye/);
});

Deno.test("--port 0 binds a free port that INFO-style lines and CONFIG GET report; redis-cli CONFIG works", async () => {
  const srv = await startServer([]);
  try {
    const m = /Running mode=standalone, port=(\d+)\./.exec(srv.output());
    ok(m && Number(m[1]) > 0, srv.output());
    const r = ioredis(srv.port);
    try {
      deepStrictEqual(await r.config("GET", "port"), ["port", String(srv.port)]);
    } finally {
      await r.quit();
    }
    if (!hasRedisCli) return void skipBecause("redis-cli is not installed");
    const out = await new Deno.Command("redis-cli", {
      args: ["-p", String(srv.port), "config", "get", "hz"],
      stdout: "piped",
    }).output();
    strictEqual(new TextDecoder().decode(out.stdout), "hz\n10\n");
  } finally {
    await srv.stop();
  }
});

Deno.test("a multi-argument directive given as one argument is split on spaces, as Redis 7.0 does", async () => {
  await withServer(
    ["--client-output-buffer-limit", "pubsub 1mb 512kb 1", "--save", "900 1 300 10"],
    async (srv) => {
      const r = new Redis({ port: srv.port, lazyConnect: false, maxRetriesPerRequest: 1 });
      try {
        deepStrictEqual(await r.config("GET", "client-output-buffer-limit"), [
          "client-output-buffer-limit",
          "normal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 524288 1",
        ]);
        deepStrictEqual(await r.config("GET", "save"), ["save", "900 1 300 10"]);
      } finally {
        await r.quit();
      }
    },
  );
});
