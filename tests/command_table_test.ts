import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { allCommands, buildCommandTable } from "../src/commands/table.ts";
import { type DocArg, parseSyntax, renderSyntax } from "../src/commands/docs.ts";
import { aclCategories, findKeys, legacyKeys } from "../src/commands/command_meta.ts";
import type { CommandFlag, CommandSpec, KeySpecDecl } from "../src/commands/types.ts";
import {
  hasRedis,
  hasRedisCli,
  skipBecause,
  which,
  withRedis,
  withServer,
} from "./support/servers.ts";
import { RespConnection } from "./support/resp_connection.ts";
import { type RespValue, text } from "./support/resp.ts";
import { rawReplies } from "./support/compare.ts";

// ---------------------------------------------------------------------------
// Decoding COMMAND DOCS replies (RESP3) into argument trees.

function s(v: RespValue): string {
  if (v.type === "bulk" && v.value !== null) return text(v.value);
  if (v.type === "simple") return v.value;
  throw new Error(`not a string: ${JSON.stringify(v)}`);
}

/** A RESP3 map, or its RESP2 form (a flat array of pairs). */
function mapOf(v: RespValue): Map<string, RespValue> {
  if (v.type === "map") return new Map(v.value.map(([k, x]) => [s(k), x]));
  const flat = listOf(v);
  const m = new Map<string, RespValue>();
  for (let i = 0; i + 1 < flat.length; i += 2) m.set(s(flat[i]), flat[i + 1]);
  return m;
}

function listOf(v: RespValue): RespValue[] {
  if (v.type === "array" && v.value !== null) return v.value;
  if (v.type === "set") return v.value;
  throw new Error(`not a list: ${v.type}`);
}

/** A documented argument as COMMAND DOCS sent it. */
function toDocArg(v: RespValue): DocArg {
  const m = mapOf(v);
  const a: DocArg = { name: s(m.get("name")!), type: s(m.get("type")!) as DocArg["type"] };
  if (m.has("token")) a.token = s(m.get("token")!);
  const flags = m.has("flags") ? listOf(m.get("flags")!).map(s) : [];
  if (flags.includes("optional")) a.optional = true;
  if (flags.includes("multiple")) a.multiple = true;
  if (flags.includes("multiple_token")) a.multipleToken = true;
  if (m.has("arguments")) a.arguments = listOf(m.get("arguments")!).map(toDocArg);
  return a;
}

/** Every command's (and subcommand's) documented arguments from a COMMAND DOCS reply. */
function docsByName(reply: RespValue): Map<string, DocArg[]> {
  const out = new Map<string, DocArg[]>();
  const visit = (name: string, doc: RespValue) => {
    const m = mapOf(doc);
    out.set(name, m.has("arguments") ? listOf(m.get("arguments")!).map(toDocArg) : []);
    if (m.has("subcommands")) {
      for (const [k, v] of mapOf(m.get("subcommands")!)) visit(k, v);
    }
  };
  for (const [k, v] of mapOf(reply)) visit(k, v);
  return out;
}

/**
 * An argument tree as a comparable string. Without `names`, group and token
 * names are left out: the notation does not carry them, so they are guessed.
 */
function shape(args: readonly DocArg[], names: boolean): string {
  return args.map((a) => {
    const inner = a.arguments ? `(${shape(a.arguments, names)})` : "";
    const f = `${a.optional ? "o" : ""}${a.multiple ? "m" : ""}${a.multipleToken ? "t" : ""}`;
    const name = names || (!a.arguments && a.type !== "pure-token") ? a.name : "";
    return `${name}:${a.type}:${a.token ?? ""}:${f}${inner}`;
  }).join(" ");
}

// ---------------------------------------------------------------------------
// The syntax parser.

Deno.test("syntax parser: SET's full syntax gives Redis' argument tree", () => {
  const args = parseSyntax(
    "key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds | " +
      "PXAT unix-time-milliseconds | KEEPTTL]",
  );
  const pure = (t: string): DocArg => ({ name: t.toLowerCase(), type: "pure-token", token: t });
  deepStrictEqual(args, [
    { name: "key", type: "key" },
    { name: "value", type: "string" },
    { name: "condition", type: "oneof", optional: true, arguments: [pure("NX"), pure("XX")] },
    { ...pure("GET"), optional: true },
    {
      name: "expiration",
      type: "oneof",
      optional: true,
      arguments: [
        { name: "seconds", type: "integer", token: "EX" },
        { name: "milliseconds", type: "integer", token: "PX" },
        { name: "unix-time-seconds", type: "unix-time", token: "EXAT" },
        { name: "unix-time-milliseconds", type: "unix-time", token: "PXAT" },
        pure("KEEPTTL"),
      ],
    },
  ]);
});

Deno.test("syntax parser: repetitions, token blocks, nested groups", () => {
  const cases: [string, string][] = [
    ["key [key ...]", "key:key::m"],
    ["[key [key ...]]", "key:key::om"],
    [
      "key [NX | XX] [CH] score member [score member ...]",
      "key:key:: condition:oneof::o(nx:pure-token:NX: xx:pure-token:XX:) " +
      "ch:pure-token:CH:o score_member:block::m(score:double:: member:string::)",
    ],
    ["[LIMIT offset count]", "offset_count:block:LIMIT:o(offset:integer:: count:integer::)"],
    ["[GET pattern [GET pattern ...]]", "pattern:pattern:GET:omt"],
    ["[ID client-id [client-id ...]]", "client-id:integer:ID:om"],
    [
      "GROUP group consumer [COUNT count] STREAMS key [key ...] id [id ...]",
      "group_consumer:block:GROUP:(group:string:: consumer:string::) count:integer:COUNT:o " +
      "key_id:block:STREAMS:(key:key::m id:string::m)",
    ],
    [
      "[TYPE <NORMAL | PUBSUB>]",
      "normal_pubsub:oneof:TYPE:o(normal:pure-token:NORMAL: pubsub:pure-token:PUBSUB:)",
    ],
    [
      "[FULL [COUNT count]]",
      "full:block:FULL:o(count:integer:COUNT:o)",
    ],
    ["<ON | OFF>", "enabled:oneof::(on:pure-token:ON: off:pure-token:OFF:)"],
    ["[section [section ...]]", "section:string::om"],
  ];
  for (const [syntax, expected] of cases) {
    strictEqual(shape(parseSyntax(syntax), true), expected, syntax);
    // Rendering the tree gives back the notation.
    strictEqual(renderSyntax(parseSyntax(syntax)), syntax.replace(/^<(.*)>$/, "<$1>"), syntax);
  }
});

Deno.test("syntax parser rejects unbalanced notation; every declared syntax parses", () => {
  let threw = false;
  try {
    parseSyntax("key [NX | XX");
  } catch {
    threw = true;
  }
  ok(threw, "missing ']' is an error");
  for (const cmd of allCommands(buildCommandTable())) {
    const spec = cmd.spec;
    if (spec.syntax === undefined) continue;
    const args = parseSyntax(spec.syntax, spec.name);
    ok(args.length > 0, `${cmd.fullName}: syntax '${spec.syntax}' gives no arguments`);
  }
});

Deno.test("every command spec is well formed", () => {
  for (const cmd of allCommands(buildCommandTable())) {
    const spec = cmd.spec;
    const where = cmd.fullName;
    ok(spec.arity !== 0, `${where}: arity 0`);
    ok(spec.summary && spec.since && spec.group, `${where}: summary, since and group`);
    ok(spec.handler !== undefined || spec.subcommands !== undefined, `${where}: no handler`);
    if (cmd.parent) {
      ok(Math.abs(spec.arity) >= 2, `${where}: a subcommand's arity counts both words`);
    }
    ok(aclCategories(spec).includes("fast") !== aclCategories(spec).includes("slow"), where);
  }
});

Deno.test("syntax parser vs every Redis 7.0 command: same argument structure", async () => {
  if (!hasRedis) return void skipBecause("redis-server not installed");
  const reply = await withRedis([], async (srv) => {
    const c = await RespConnection.connect(srv.port);
    try {
      await c.call(["HELLO", "3"]);
      return (await c.call(["COMMAND", "DOCS"])).value;
    } finally {
      await c.close();
    }
  });
  // Where Redis' own documentation is inconsistent or its notation ambiguous.
  const known = new Set([
    "client|list", // `[ID client-id [client-id ...]]` is a block here, a plain argument elsewhere
    "config|get", // a one-member block
    "psubscribe", // a one-member block
    "module|loadex",
    "xtrim", // a required block that the notation cannot show
    "migrate", // the empty-string token ""
  ]);
  let compared = 0;
  for (const [name, expected] of docsByName(reply)) {
    if (expected.length === 0 || known.has(name)) continue;
    const syntax = renderSyntax(expected);
    const got = parseSyntax(syntax);
    const norm = (a: readonly DocArg[]) =>
      shape(a, false).replace(/:(integer|double|string|key|pattern|unix-time):/g, ":T:");
    strictEqual(norm(got), norm(expected), `${name}: ${syntax}`);
    compared++;
  }
  ok(compared > 250, `compared ${compared} commands`);
});

/** A key spec from a COMMAND INFO reply, as a declaration. */
function toKeySpec(v: RespValue): KeySpecDecl {
  const m = mapOf(v);
  const num = (x: RespValue) => (x.type === "integer" ? Number(x.value) : NaN);
  const bs = mapOf(m.get("begin_search")!);
  const bspec = mapOf(bs.get("spec")!);
  const fk = mapOf(m.get("find_keys")!);
  const fspec = mapOf(fk.get("spec")!);
  const btype = s(bs.get("type")!);
  const ftype = s(fk.get("type")!);
  const out: KeySpecDecl = {
    flags: listOf(m.get("flags")!).map(s),
    begin: btype === "index"
      ? { index: num(bspec.get("index")!) }
      : btype === "keyword"
      ? { keyword: s(bspec.get("keyword")!), startFrom: num(bspec.get("startfrom")!) }
      : "unknown",
    find: ftype === "range"
      ? {
        lastKey: num(fspec.get("lastkey")!),
        keyStep: num(fspec.get("keystep")!),
        limit: num(fspec.get("limit")!),
      }
      : ftype === "keynum"
      ? {
        keyNumIdx: num(fspec.get("keynumidx")!),
        firstKey: num(fspec.get("firstkey")!),
        keyStep: num(fspec.get("keystep")!),
      }
      : "unknown",
  };
  if (m.has("notes")) out.notes = s(m.get("notes")!);
  return out;
}

/** Sample commands whose keys COMMAND GETKEYS finds from key specs alone. */
const GETKEYS_SAMPLES = [
  ["mset", "a", "1", "b", "2"],
  ["lmove", "src", "dst", "LEFT", "RIGHT"],
  ["zunionstore", "d", "2", "a", "b", "WEIGHTS", "1", "2"],
  ["xread", "COUNT", "1", "STREAMS", "s1", "s2", "0", "0"],
  ["eval", "return 1", "2", "k1", "k2", "arg"],
  ["blpop", "l1", "l2", "0"],
  ["bitop", "AND", "dest", "s1", "s2"],
  ["smove", "a", "b", "m"],
  ["rename", "old", "new"],
  ["georadius", "k", "0", "0", "1", "km", "STORE", "dst"],
  ["object", "encoding", "k"],
];

Deno.test("key specs: legacy range, movablekeys and GETKEYS computed as Redis 7.0 does", async () => {
  if (!hasRedis) return void skipBecause("redis-server not installed");
  const { infos, getkeys } = await withRedis([], async (srv) => {
    const c = await RespConnection.connect(srv.port);
    try {
      await c.call(["HELLO", "3"]);
      const infos = listOf((await c.call(["COMMAND", "INFO"])).value);
      const getkeys: (string[] | null)[] = [];
      for (const sample of GETKEYS_SAMPLES) {
        const r = (await c.call(["COMMAND", "GETKEYSANDFLAGS", ...sample])).value;
        getkeys.push(
          r.type === "array"
            ? listOf(r).map((e) => {
              const [key, flags] = listOf(e);
              return JSON.stringify([s(key), listOf(flags).map(s).join(",")]);
            })
            : null,
        );
      }
      return { infos, getkeys };
    } finally {
      await c.close();
    }
  });
  const specs = new Map<string, CommandSpec>();
  const visit = (e: RespValue) => {
    const f = listOf(e);
    const name = s(f[0]);
    const flags = listOf(f[2]).map(s);
    const spec: CommandSpec = {
      name: name.split("|").pop()!,
      arity: Number((f[1] as { value: bigint }).value),
      flags: flags.filter((x) => x !== "movablekeys") as CommandFlag[],
      keySpecs: listOf(f[8]).map(toKeySpec),
      group: "generic",
      summary: "-",
      since: "-",
    };
    const want = [2, 3, 4].map((i) => Number((f[i + 1] as { value: bigint }).value));
    deepStrictEqual([...legacyKeys(spec).keys], want, `${name}: first/last/step`);
    strictEqual(legacyKeys(spec).movable, flags.includes("movablekeys"), `${name}: movablekeys`);
    specs.set(name, spec);
    for (const sub of listOf(f[9])) visit(sub);
  };
  for (const e of infos) visit(e);
  GETKEYS_SAMPLES.forEach((sample, i) => {
    const name = specs.has(sample[0]) && !specs.has(`${sample[0]}|${sample[1]}`)
      ? sample[0]
      : `${sample[0]}|${sample[1]}`;
    const args = sample.map((a) => new TextEncoder().encode(a));
    const keys = findKeys(specs.get(name)!, args);
    const ours = keys === null
      ? null
      : keys.map((k) => JSON.stringify([sample[k.pos], k.flags.join(",")]));
    deepStrictEqual(ours, getkeys[i], sample.join(" "));
  });
});

// ---------------------------------------------------------------------------
// COMMAND against a running server.

/** Reads `command` on a RESP3 connection. */
async function call3(port: number, ...args: string[]): Promise<RespValue> {
  const c = await RespConnection.connect(port);
  try {
    await c.call(["HELLO", "3"]);
    return (await c.call(args)).value;
  } finally {
    await c.close();
  }
}

Deno.test("COMMAND, COUNT, LIST, INFO and DOCS cover the whole table", async () => {
  const table = buildCommandTable();
  const all = [...allCommands(table)].map((c) => c.fullName);
  await withServer([], async (srv) => {
    const count = await call3(srv.port, "COMMAND", "COUNT");
    deepStrictEqual(count, { type: "integer", value: BigInt(table.size) });
    deepStrictEqual(listOf(await call3(srv.port, "COMMAND", "LIST")).map(s), all);
    const infos = listOf(await call3(srv.port, "COMMAND"));
    strictEqual(infos.length, table.size);
    deepStrictEqual(infos.map((e) => s(listOf(e)[0])), [...table.keys()]);
    const named = listOf(await call3(srv.port, "COMMAND", "INFO", ...all));
    deepStrictEqual(named.map((e) => s(listOf(e)[0])), all);
    const docs = docsByName(await call3(srv.port, "COMMAND", "DOCS"));
    deepStrictEqual([...docs.keys()].sort(), [...all].sort());
    // Unknown names: null in INFO, left out of DOCS; names are case-insensitive.
    const mixed = listOf(await call3(srv.port, "COMMAND", "INFO", "nosuch", "CLIENT|ID"));
    strictEqual(mixed[0].type, "null");
    strictEqual(s(listOf(mixed[1])[0]), "client|id");
    deepStrictEqual(
      [...docsByName(await call3(srv.port, "COMMAND", "DOCS", "nosuch", "Ping")).keys()],
      ["ping"],
    );
  });
});

/** Commands declared by the server/client/COMMAND families, whose every byte of COMMAND INFO must match Redis. */
const SAME_INFO = [
  "client|id",
  "client|getname",
  "client|setname",
  "client|list",
  "client|info",
  "client|kill",
  "client|no-evict",
  "client|reply",
  "client|help",
  "command|count",
  "command|docs",
  "command|info",
  "command|list",
  "command|getkeys",
  "command|help",
  "slowlog|get",
  "slowlog|len",
  "slowlog|reset",
  "slowlog|help",
  "latency|latest",
  "latency|history",
  "latency|reset",
  "latency|doctor",
  "latency|graph",
  "info",
  "monitor",
  "lastsave",
  "role",
  "shutdown",
  "debug",
  "nosuchcommand",
];

/** Of those, the ones whose COMMAND DOCS (without per-argument `since`/history) match Redis exactly. */
const SAME_DOCS = [
  "client|id",
  "client|getname",
  "client|setname",
  "client|info",
  "client|no-evict",
  "client|reply",
  "command|count",
  "command|docs",
  "command|info",
  "command|list",
  "command|getkeys",
  "slowlog|len",
  "slowlog|reset",
  "slowlog|get",
  "latency|latest",
  "latency|doctor",
  "latency|graph",
  "latency|history",
  "latency|reset",
  "monitor",
  "lastsave",
  "role",
  "info",
];

Deno.test("COMMAND INFO / DOCS of this family equal Redis 7.0's, in RESP2 and RESP3", async () => {
  const run = async (port: number) => {
    const out: string[] = [];
    for (const proto of ["2", "3"]) {
      const c = await RespConnection.connect(port);
      try {
        await c.call(["HELLO", proto]);
        for (const name of SAME_INFO) {
          out.push(text((await c.call(["COMMAND", "INFO", name])).raw));
        }
        for (const name of SAME_DOCS) {
          const d = (await c.call(["COMMAND", "DOCS", name])).value;
          const m = mapOf(mapOf(d).get(name)!);
          const fields = ["summary", "since", "group", "complexity"].map((f) =>
            m.has(f) ? s(m.get(f)!) : null
          );
          // Redis adds `since` to some arguments and `history` to some commands.
          out.push(JSON.stringify([fields, docsByName(d).get(name)]));
        }
      } finally {
        await c.close();
      }
    }
    return out;
  };
  const ours = await withServer([], (srv) => run(srv.port));
  if (!hasRedis) return void skipBecause("redis-server not installed: no differential check");
  const real = await withRedis([], (srv) => run(srv.port));
  const names = [...SAME_INFO.map((n) => `INFO ${n}`), ...SAME_DOCS.map((n) => `DOCS ${n}`)];
  for (let i = 0; i < ours.length; i++) {
    strictEqual(
      ours[i],
      real[i],
      `${i < names.length ? "RESP2" : "RESP3"} ${names[i % names.length]}`,
    );
  }
});

const EXACT: string[][] = [
  ["COMMAND", "GETKEYS"],
  ["COMMAND", "GETKEYS", "get"],
  ["COMMAND", "GETKEYS", "nosuch", "a"],
  ["COMMAND", "GETKEYS", "get", "a"],
  ["COMMAND", "GETKEYS", "GET", "a", "b"],
  ["COMMAND", "GETKEYS", "set", "k", "v"],
  ["COMMAND", "GETKEYS", "ping", "x"],
  ["COMMAND", "GETKEYS", "client", "kill"],
  ["COMMAND", "GETKEYS", "client", "nosuch"],
  ["COMMAND", "GETKEYSANDFLAGS", "get", "a"],
  ["COMMAND", "LIST", "FILTERBY"],
  ["COMMAND", "LIST", "FILTERBY", "aclcat"],
  ["COMMAND", "LIST", "FILTERBY", "aclcat", "nope"],
  ["COMMAND", "LIST", "FILTERBY", "module", "x"],
  ["COMMAND", "LIST", "FILTERBY", "pattern"],
  ["COMMAND", "LIST", "FILTERBY", "foo", "x"],
  ["COMMAND", "LIST", "foo"],
  ["COMMAND", "LIST", "FILTERBY", "pattern", "x", "y"],
  ["COMMAND", "COUNT", "x"],
  ["COMMAND", "FOO"],
  ["COMMAND", "INFO", "nosuch"],
  ["COMMAND", "DOCS", "nosuch"],
  ["COMMAND", "DOCS", "a|b|c"],
];

Deno.test("COMMAND GETKEYS / LIST errors and results match Redis byte for byte", async () => {
  const ours = await withServer([], (srv) => rawReplies(srv.port, EXACT));
  strictEqual(ours[5], "*1\r\n$1\r\nk\r\n");
  strictEqual(ours[2], "-ERR Invalid command specified\r\n");
  strictEqual(ours[12], "*0\r\n");
  if (!hasRedis) return void skipBecause("redis-server not installed: no differential check");
  const real = await withRedis([], (srv) => rawReplies(srv.port, EXACT));
  for (let i = 0; i < EXACT.length; i++) strictEqual(ours[i], real[i], EXACT[i].join(" "));
});

Deno.test("COMMAND LIST FILTERBY: our commands among Redis' for a pattern and a category", async () => {
  const filters = [["PATTERN", "cl*"], ["ACLCAT", "connection"], ["aclcat", "ADMIN"], [
    "pattern",
    "*|help",
  ]];
  const run = async (port: number) => {
    const out: string[][] = [];
    for (const f of filters) {
      out.push(listOf(await call3(port, "COMMAND", "LIST", "FILTERBY", ...f)).map(s).sort());
    }
    return out;
  };
  const ours = await withServer([], (srv) => run(srv.port));
  ok(ours[0].includes("client|kill") && ours[0].includes("client"));
  ok(!ours[1].includes("client"), "a container has no @connection");
  if (!hasRedis) return void skipBecause("redis-server not installed: no differential check");
  const real = await withRedis([], (srv) => run(srv.port));
  const mine = new Set([...allCommands(buildCommandTable())].map((c) => c.fullName));
  // client|setinfo is Redis 7.2's.
  mine.delete("client|setinfo");
  for (let i = 0; i < filters.length; i++) {
    deepStrictEqual(
      ours[i].filter((n) => n !== "client|setinfo"),
      real[i].filter((n) => mine.has(n)),
      filters[i].join(" "),
    );
  }
});

Deno.test("redis-cli: commands and COMMAND DOCS output; redis-py reads COMMAND", async () => {
  await withServer([], async (srv) => {
    if (hasRedisCli) {
      const cli = async (...args: string[]) => {
        const out = await new Deno.Command("redis-cli", { args: ["-p", String(srv.port), ...args] })
          .output();
        strictEqual(out.code, 0);
        return new TextDecoder().decode(out.stdout);
      };
      strictEqual(await cli("set", "a", "b"), "OK\n");
      strictEqual(await cli("get", "a"), "b\n");
      const docs = await cli("--no-raw", "command", "docs", "get");
      ok(docs.includes('"summary"') && docs.includes('"key_spec_index"'), docs);
      strictEqual(await cli("command", "count"), `${buildCommandTable().size}\n`);
    } else skipBecause("redis-cli not installed");
    try {
      await Deno.stat("/usr/bin/python3");
    } catch {
      return void skipBecause("/usr/bin/python3 not installed");
    }
    const script = `
import redis
r = redis.Redis(port=${srv.port})
cmds = r.command()
assert cmds["get"]["arity"] == 2 and cmds["get"]["first_key_pos"] == 1, cmds["get"]
assert r.command_count() == len(cmds)
assert [k if isinstance(k, str) else k.decode() for k in r.command_getkeys("set", "k", "v")] == ["k"]
print("ok")
`;
    const out = await new Deno.Command("/usr/bin/python3", { args: ["-c", script] }).output();
    strictEqual(
      new TextDecoder().decode(out.stdout).trim(),
      "ok",
      new TextDecoder().decode(out.stderr),
    );
  });
});

Deno.test("redis-cli interactive mode shows argument hints from COMMAND DOCS", async () => {
  if (!hasRedisCli || which("tmux") === null) {
    return void skipBecause("redis-cli or tmux not installed");
  }
  await withServer([], async (srv) => {
    const session = `hints-${srv.port}`;
    const tmux = (...args: string[]) => new Deno.Command("tmux", { args }).output();
    await tmux(
      "new-session",
      "-d",
      "-s",
      session,
      "-x",
      "200",
      "-y",
      "10",
      `redis-cli -p ${srv.port}`,
    );
    try {
      await new Promise((r) => setTimeout(r, 500));
      await tmux("send-keys", "-t", session, "client no-evict ");
      let screen = "";
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline && !screen.includes("ON|OFF")) {
        await new Promise((r) => setTimeout(r, 100));
        screen = new TextDecoder().decode((await tmux("capture-pane", "-t", session, "-p")).stdout);
      }
      ok(screen.includes(`127.0.0.1:${srv.port}> client no-evict ON|OFF`), screen);
    } finally {
      await tmux("kill-session", "-t", session);
    }
  });
});
