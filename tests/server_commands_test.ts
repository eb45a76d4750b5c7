import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import { createClient } from "redis";
import { Redis } from "ioredis";
import {
  hasRedis,
  hasRedisCli,
  skipBecause,
  startServer,
  withRedis,
  withServer,
} from "./support/servers.ts";
import { RawClient } from "./support/raw_client.ts";
import { RespConnection } from "./support/resp_connection.ts";
import { type RespValue, text } from "./support/resp.ts";
import { fieldNames, rawReplies, redisReplies } from "./support/compare.ts";
import { EXTRA_STATS_FIELDS } from "../src/server/info.ts";

/** The text of a bulk or verbatim reply. */
function str(v: RespValue): string {
  if (v.type === "bulk" && v.value !== null) return text(v.value);
  if (v.type === "verbatim") return text(v.value);
  throw new Error(`not a string reply: ${JSON.stringify(v)}`);
}

/** Runs INFO with `args` and returns its text. */
async function info(c: RespConnection, ...args: string[]): Promise<string> {
  return str((await c.call(["INFO", ...args])).value);
}

/** One field of an INFO text. */
function field(infoText: string, name: string): string | undefined {
  const line = infoText.split("\r\n").find((l) => l.startsWith(name + ":"));
  return line?.slice(name.length + 1);
}

/** Section titles of an INFO text, in order. */
function headers(infoText: string): string[] {
  return infoText.split("\r\n").filter((l) => l.startsWith("# "));
}

/** The text of one section (without its title). */
function section(infoText: string, title: string): string {
  const start = infoText.indexOf(`# ${title}\r\n`);
  if (start < 0) return "";
  const end = infoText.indexOf("\r\n\r\n", start);
  return infoText.slice(start, end < 0 ? undefined : end);
}

/** Fails clearly when the server ignored a start-up argument a test depends on. */
async function requireConfig(port: number, infoField: string, expected: string): Promise<void> {
  const c = await RespConnection.connect(port);
  try {
    const got = field(await info(c, "everything"), infoField);
    strictEqual(got, expected, `server ignored its start-up argument (${infoField})`);
  } finally {
    await c.close();
  }
}

const INFO_ARGS: string[][] = [
  [],
  ["default"],
  ["all"],
  ["everything"],
  ["server", "clients"],
  ["CPU", "cpu", "Cpu"],
  ["keyspace", "server"],
  ["foo"],
  ["modules"],
  ["commandstats"],
];

/** Sections whose field names are fixed (the others list commands, errors or databases). */
const FIXED_SECTIONS = [
  "Server",
  "Clients",
  "Memory",
  "Persistence",
  "Stats",
  "Replication",
  "CPU",
  "Modules",
  "Cluster",
];

Deno.test("INFO: sections and field names as Redis 7.0 prints them", async () => {
  const ours = await withServer([], async (srv) => {
    const c = await RespConnection.connect(srv.port);
    try {
      const out: string[] = [];
      for (const a of INFO_ARGS) out.push(await info(c, ...a));
      return out;
    } finally {
      await c.close();
    }
  });
  deepStrictEqual(headers(ours[0]), [
    "# Server",
    "# Clients",
    "# Memory",
    "# Persistence",
    "# Stats",
    "# Replication",
    "# CPU",
    "# Modules",
    "# Errorstats",
    "# Cluster",
    "# Keyspace",
  ]);
  strictEqual(ours[7], "", "unknown section: empty reply");
  strictEqual(ours[8], "# Modules\r\n");
  ok(ours[0].endsWith("\r\n") && !ours[0].endsWith("\r\n\r\n"));
  strictEqual(field(ours[0], "redis_version"), "7.0.15");
  strictEqual(field(ours[0], "redis_mode"), "standalone");
  strictEqual(field(ours[0], "role"), "master");
  match(field(ours[0], "process_id")!, /^\d+$/);
  match(field(ours[0], "run_id")!, /^[0-9a-f]{40}$/);
  match(field(ours[0], "used_memory_human")!, /^\d+(\.\d\d[KMGTP])?B?$/);

  if (!hasRedis) return void skipBecause("redis-server not installed: no differential check");
  const real = await withRedis([], async (srv) => {
    const c = await RespConnection.connect(srv.port);
    try {
      const out: string[] = [];
      for (const a of INFO_ARGS) out.push(await info(c, ...a));
      return out;
    } finally {
      await c.close();
    }
  });
  for (let i = 0; i < INFO_ARGS.length; i++) {
    deepStrictEqual(headers(ours[i]), headers(real[i]), `INFO ${INFO_ARGS[i].join(" ")}`);
  }
  for (const title of FIXED_SECTIONS) {
    deepStrictEqual(
      fieldNames(section(ours[3], title), ":").filter((f) => !EXTRA_STATS_FIELDS.includes(f)),
      fieldNames(section(real[3], title), ":"),
      `fields of # ${title}`,
    );
  }
});

Deno.test("INFO values follow the server: clients, commands, keyspace, errors, command stats", async () => {
  await withServer([], async (srv) => {
    const c = await RespConnection.connect(srv.port);
    try {
      strictEqual(field(await info(c, "clients"), "connected_clients"), "1");
      const other = await RespConnection.connect(srv.port);
      await other.call(["PING"]);
      strictEqual(field(await info(c, "clients"), "connected_clients"), "2");
      await other.close();
      // Commands processed: INFO itself counts once it has run.
      const before = Number(field(await info(c, "stats"), "total_commands_processed"));
      for (let i = 0; i < 3; i++) await c.call(["PING"]);
      const after = Number(field(await info(c, "stats"), "total_commands_processed"));
      strictEqual(after, before + 4);

      strictEqual(section(await info(c, "keyspace"), "Keyspace"), "# Keyspace\r\n");
      await c.call(["SET", "a", "1"]);
      await c.call(["SET", "b", "2"]);
      await c.call(["SELECT", "2"]);
      await c.call(["SET", "c", "3"]);
      await c.call(["EXPIRE", "c", "100"]);
      const ks = await info(c, "keyspace");
      strictEqual(field(ks, "db0"), "keys=2,expires=0,avg_ttl=0");
      match(field(ks, "db2")!, /^keys=1,expires=1,avg_ttl=(9\d{4}|100000)$/);
      strictEqual(field(await info(c, "persistence"), "rdb_changes_since_last_save") !== "0", true);

      await c.call(["NOSUCHCOMMAND"]);
      await c.call(["GET"]);
      await c.call(["GET", "a"]);
      await c.call(["CLIENT", "ID"]);
      const all = await info(c, "all");
      strictEqual(field(all, "errorstat_ERR"), "count=2");
      strictEqual(field(all, "total_error_replies"), "2");
      match(
        field(all, "cmdstat_get")!,
        /^calls=1,usec=\d+,usec_per_call=\d+\.\d\d,rejected_calls=1,failed_calls=0$/,
      );
      match(field(all, "cmdstat_client|id")!, /^calls=1,usec=\d+,/);
      // GET a ran in db 2, where there is no "a".
      strictEqual(field(all, "keyspace_hits"), "0");
      strictEqual(field(all, "keyspace_misses"), "1");

      // RESP3: a verbatim string of format txt.
      await c.call(["HELLO", "3"]);
      const r3 = (await c.call(["INFO", "server"])).value;
      strictEqual(r3.type, "verbatim");
      if (r3.type === "verbatim") strictEqual(r3.format, "txt");
    } finally {
      await c.close();
    }
  });
});

Deno.test("INFO through ioredis, node-redis RESP3 and redis-cli", async () => {
  await withServer([], async (srv) => {
    const io = new Redis({ port: srv.port, lazyConnect: false, maxRetriesPerRequest: 1 });
    try {
      ok((await io.info("server")).includes("redis_version:7.0.15"));
    } finally {
      await io.quit();
    }
    const nr = createClient({ socket: { port: srv.port, host: "127.0.0.1" }, RESP: 3 });
    await nr.connect();
    try {
      ok(String(await nr.info("keyspace")).startsWith("# Keyspace"));
    } finally {
      nr.destroy();
    }
    if (!hasRedisCli) return void skipBecause("redis-cli not installed");
    const out = await new Deno.Command("redis-cli", {
      args: ["-p", String(srv.port), "info", "server"],
    }).output();
    ok(new TextDecoder().decode(out.stdout).includes(`tcp_port:${srv.port}`));
  });
});

/** MONITOR lines with the timestamp and client port replaced, so runs compare. */
function normalizeMonitor(raw: string): string[] {
  return raw.split("\r\n").filter((l) => l !== "").map((l) =>
    l.replace(/^\+\d+\.\d{6} /, "+T ").replace(/127\.0\.0\.1:\d+\]/, "ADDR]")
  );
}

/** Runs a MONITOR session: the monitor's raw output after another client's commands. */
async function monitorSession(port: number): Promise<string> {
  const mon = await RawClient.connect(port);
  const other = await RespConnection.connect(port);
  try {
    strictEqual(await mon.roundTrip("MONITOR\r\n", 5), "+OK\r\n");
    // A second MONITOR gets no reply at all.
    await mon.send("MONITOR\r\n");
    await other.call(["SET", "a b", 'c"d']);
    await other.call(["SELECT", "3"]);
    await other.call(["GET", "\xff\x01\n"]);
    await other.call(["SLOWLOG", "LEN"]); // admin: hidden
    await other.call(["NOSUCHCOMMAND"]); // rejected: not shown
    await other.call(["CLIENT", "ID"]);
    await mon.send("PING\r\n"); // a monitor sees its own commands
    return await mon.read(Infinity, 300);
  } finally {
    await Promise.all([mon.close(), other.close()]);
  }
}

Deno.test("MONITOR sees other clients' commands in Redis' line format", async () => {
  const ours = await withServer([], (srv) => monitorSession(srv.port));
  const lines = ours.split("\r\n").filter((l) => l !== "");
  match(lines[0], /^\+\d{10}\.\d{6} \[0 127\.0\.0\.1:\d+\] "SET" "a b" "c\\"d"$/);
  deepStrictEqual(normalizeMonitor(ours), [
    '+T [0 ADDR] "SET" "a b" "c\\"d"',
    '+T [3 ADDR] "SELECT" "3"',
    '+T [3 ADDR] "GET" "\\xff\\x01\\n"',
    '+T [3 ADDR] "CLIENT" "ID"',
    "+PONG",
    '+T [0 ADDR] "PING"',
  ]);
  if (!hasRedis) return void skipBecause("redis-server not installed: no differential check");
  const real = await withRedis([], (srv) => monitorSession(srv.port));
  deepStrictEqual(normalizeMonitor(ours), normalizeMonitor(real));
});

const DEBUG_ON = ["--enable-debug-command", "yes"];

Deno.test("SLOWLOG records DEBUG SLEEP with Redis' entry shape; GET/LEN/RESET", async () => {
  await withServer(DEBUG_ON, async (srv) => {
    const c = await RespConnection.connect(srv.port);
    try {
      await c.call(["CLIENT", "SETNAME", "sleeper"]);
      strictEqual(text((await c.call(["DEBUG", "SLEEP", "0.05"])).raw), "+OK\r\n");
      strictEqual(text((await c.call(["SLOWLOG", "LEN"])).raw), ":1\r\n");
      const got = (await c.call(["SLOWLOG", "GET"])).value;
      if (got.type !== "array" || got.value === null) throw new Error("not an array");
      strictEqual(got.value.length, 1);
      const e = got.value[0];
      if (e.type !== "array" || e.value === null) throw new Error("entry not an array");
      const [id, ts, dur, args, addr, name] = e.value;
      deepStrictEqual(id, { type: "integer", value: 0n });
      ok(ts.type === "integer" && Math.abs(Number(ts.value) - Date.now() / 1000) < 10);
      if (dur.type !== "integer") throw new Error("duration not an integer");
      ok(dur.value >= 45000n, `duration ${dur.value}`);
      deepStrictEqual(
        args.type === "array" ? args.value?.map((a) => str(a)) : null,
        ["DEBUG", "SLEEP", "0.05"],
      );
      match(str(addr), /^127\.0\.0\.1:\d+$/);
      strictEqual(str(name), "sleeper");
      strictEqual(text((await c.call(["SLOWLOG", "GET", "0"])).raw), "*0\r\n");
      strictEqual(text((await c.call(["SLOWLOG", "RESET"])).raw), "+OK\r\n");
      strictEqual(text((await c.call(["SLOWLOG", "LEN"])).raw), ":0\r\n");
    } finally {
      await c.close();
    }
  });
});

const SLOW_ALL = ["--slowlog-log-slower-than", "0"];
const LONG = "x".repeat(200);
const MANY = Array.from({ length: 40 }, (_, i) => String(i + 1000));
const SLOWLOG_EXACT: string[][] = [
  ["SLOWLOG", "GET", "-2"],
  ["SLOWLOG", "GET", "abc"],
  ["SLOWLOG", "LEN", "x"],
  ["SLOWLOG"],
  ["SLOWLOG", "FOO"],
  ["SLOWLOG", "RESET"],
  ["ECHO", LONG],
  ["CLIENT", "LIST", "ID", ...MANY],
  ["SLOWLOG", "LEN"],
];

Deno.test("SLOWLOG errors and argument trimming match Redis", async () => {
  const run = async (port: number) => {
    const replies = await rawReplies(port, SLOWLOG_EXACT);
    // The trimmed arguments of the two newest entries (CLIENT LIST..., ECHO ...).
    const c = await RespConnection.connect(port);
    try {
      const v = (await c.call(["SLOWLOG", "GET", "3"])).value;
      if (v.type !== "array" || v.value === null) throw new Error("not an array");
      const argsOf = (e: RespValue) => {
        if (e.type !== "array" || e.value === null) throw new Error("bad entry");
        const a = e.value[3];
        return a.type === "array" ? a.value!.map(str) : [];
      };
      return { replies, entries: v.value.map(argsOf) };
    } finally {
      await c.close();
    }
  };
  const ours = await withServer(SLOW_ALL, (srv) => run(srv.port));
  strictEqual(ours.replies[0], "-ERR count should be greater than or equal to -1\r\n");
  strictEqual(ours.replies[3], "-ERR wrong number of arguments for 'slowlog' command\r\n");
  strictEqual(ours.replies[8], ":3\r\n", "every command is logged with a threshold of 0");
  const [len, list, echo] = ours.entries;
  deepStrictEqual(len, ["SLOWLOG", "LEN"]);
  strictEqual(list.length, 32);
  strictEqual(list[31], "... (12 more arguments)");
  deepStrictEqual(echo, ["ECHO", "x".repeat(128) + "... (72 more bytes)"]);
  if (!hasRedis) return void skipBecause("redis-server not installed: no differential check");
  const real = await withRedis(SLOW_ALL, (srv) => run(srv.port));
  deepStrictEqual(ours, real);
});

Deno.test("DEBUG SLEEP blocks the whole server", async () => {
  await withServer(DEBUG_ON, async (srv) => {
    const sleeper = await RespConnection.connect(srv.port);
    const other = await RespConnection.connect(srv.port);
    try {
      await other.call(["PING"]);
      const slept = sleeper.call(["DEBUG", "SLEEP", "0.4"]);
      await new Promise((r) => setTimeout(r, 50));
      const t0 = performance.now();
      await other.call(["PING"]);
      const waited = performance.now() - t0;
      ok(waited >= 250, `PING answered after ${waited.toFixed(0)} ms during DEBUG SLEEP 0.4`);
      strictEqual(text((await slept).raw), "+OK\r\n");
    } finally {
      await Promise.all([sleeper.close(), other.close()]);
    }
  });
});

const DEBUG_EXACT: string[][] = [
  ["DEBUG", "SLEEP"],
  ["DEBUG", "SLEEP", "0", "1"],
  ["DEBUG", "SLEEP", "abc"],
  ["DEBUG", "SLEEP", "0"],
  ["DEBUG", "FOO"],
  ["DEBUG", "SET-ACTIVE-EXPIRE", "0"],
  ["DEBUG", "SET-ACTIVE-EXPIRE", "1"],
  ["DEBUG", "LOG", "hello"],
  ["DEBUG"],
];

Deno.test("DEBUG: refused by default, subcommand errors as Redis", async () => {
  const refused = await withServer([], (srv) => rawReplies(srv.port, [["DEBUG", "SLEEP", "0"]]));
  strictEqual(
    refused[0],
    '-ERR DEBUG command not allowed. If the enable-debug-command option is set to "local", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.\r\n',
  );
  const ours = await withServer(DEBUG_ON, (srv) => rawReplies(srv.port, DEBUG_EXACT));
  strictEqual(
    ours[0],
    "-ERR unknown subcommand or wrong number of arguments for 'SLEEP'. Try DEBUG HELP.\r\n",
  );
  strictEqual(ours[3], "+OK\r\n");
  const real = await redisReplies(DEBUG_EXACT, DEBUG_ON);
  if (real === null) return void skipBecause("redis-server not installed: no differential check");
  deepStrictEqual(ours, real);
  deepStrictEqual(await redisReplies([["DEBUG", "SLEEP", "0"]]), refused);
});

Deno.test("DEBUG SET-ACTIVE-EXPIRE 0 leaves expired keys to lazy expiry", async () => {
  await withServer(DEBUG_ON, async (srv) => {
    const c = await RespConnection.connect(srv.port);
    try {
      await c.call(["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
      await c.call(["SET", "k", "v"]);
      await c.call(["PEXPIRE", "k", "50"]);
      await new Promise((r) => setTimeout(r, 400));
      strictEqual(field(await info(c, "keyspace"), "db0"), "keys=1,expires=1,avg_ttl=0");
      await c.call(["DEBUG", "SET-ACTIVE-EXPIRE", "1"]);
      await new Promise((r) => setTimeout(r, 400));
      strictEqual(field(await info(c, "keyspace"), "db0"), undefined);
      strictEqual(field(await info(c, "stats"), "expired_keys"), "1");
    } finally {
      await c.close();
    }
  });
});

const MISC_EXACT: string[][] = [
  ["LATENCY", "LATEST"],
  ["LATENCY", "HISTORY", "command"],
  ["LATENCY", "HISTORY"],
  ["LATENCY", "RESET"],
  ["LATENCY", "RESET", "command", "fork"],
  ["LATENCY", "GRAPH", "command"],
  ["LATENCY", "DOCTOR"],
  ["LATENCY", "FOO"],
  ["ROLE"],
  ["ROLE", "x"],
  ["LASTSAVE", "x"],
  ["MONITOR", "x"],
  ["SHUTDOWN", "ABORT"],
  ["SHUTDOWN", "foo"],
  ["SHUTDOWN", "NOSAVE", "SAVE"],
  ["SHUTDOWN", "ABORT", "NOW"],
  ["SHUTDOWN", "NOW", "ABORT"],
  ["INFO", "foo"],
];

Deno.test("LATENCY, ROLE, LASTSAVE, SHUTDOWN errors match Redis", async () => {
  const ours = await withServer([], async (srv) => {
    const replies = await rawReplies(srv.port, MISC_EXACT);
    const last = await rawReplies(srv.port, [["LASTSAVE"]]);
    const t = Number(/^:(\d+)\r\n$/.exec(last[0])![1]);
    ok(Math.abs(t - Date.now() / 1000) < 60, `LASTSAVE ${t}`);
    return replies;
  });
  strictEqual(ours[0], "*0\r\n");
  strictEqual(ours[8], "*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n");
  strictEqual(ours[12], "-ERR No shutdown in progress.\r\n");
  const real = await redisReplies(MISC_EXACT);
  if (real === null) return void skipBecause("redis-server not installed: no differential check");
  deepStrictEqual(ours, real);
});

Deno.test("SHUTDOWN NOSAVE stops the server process", async () => {
  const srv = await startServer([]);
  try {
    const c = await RawClient.connect(srv.port);
    try {
      strictEqual(await c.roundTrip("PING\r\n", 7), "+PONG\r\n");
      await c.send("SHUTDOWN NOSAVE\r\n");
      ok(await c.closedByServer(5000), "connection closed");
      strictEqual(await c.read(Infinity, 50), "", "no reply to SHUTDOWN");
    } finally {
      await c.close();
    }
    const status = await Promise.race([
      srv.process.status,
      new Promise<null>((r) => setTimeout(() => r(null), 5000)),
    ]);
    ok(status !== null, "process exited");
    strictEqual(status!.code, 0);
  } finally {
    await srv.stop();
  }
});

Deno.test("maxclients: one connection too many gets Redis' error and is closed", async () => {
  await withServer(["--maxclients", "2"], async (srv) => {
    await requireConfig(srv.port, "maxclients", "2");
    const a = await RawClient.connect(srv.port);
    const b = await RawClient.connect(srv.port);
    try {
      strictEqual(await a.roundTrip("PING\r\n", 7), "+PONG\r\n");
      strictEqual(await b.roundTrip("PING\r\n", 7), "+PONG\r\n");
      const c = await RawClient.connect(srv.port);
      try {
        strictEqual(await c.read(Infinity, 500), "-ERR max number of clients reached\r\n");
        ok(await c.closedByServer(2000));
      } finally {
        await c.close();
      }
      await b.close();
      await new Promise((r) => setTimeout(r, 100));
      const d = await RawClient.connect(srv.port);
      try {
        strictEqual(await d.roundTrip("PING\r\n", 7), "+PONG\r\n");
        strictEqual(
          await d.roundTrip("INFO stats\r\n").then((s) => field(s, "rejected_connections")),
          "1",
        );
      } finally {
        await d.close();
      }
    } finally {
      await a.close();
    }
  });
});

Deno.test("timeout: idle clients are closed, subscribers and busy clients are not", async () => {
  await withServer(["--timeout", "1"], async (srv) => {
    const idle = await RawClient.connect(srv.port);
    const subscriber = await RawClient.connect(srv.port);
    const busy = await RespConnection.connect(srv.port);
    try {
      strictEqual(await idle.roundTrip("PING\r\n", 7), "+PONG\r\n");
      ok((await subscriber.roundTrip("SUBSCRIBE ch\r\n")).startsWith("*3\r\n"));
      const deadline = Date.now() + 2600;
      while (Date.now() < deadline) {
        await busy.call(["PING"]);
        await new Promise((r) => setTimeout(r, 200));
      }
      ok(await idle.closedByServer(2000), "idle client closed");
      ok(!(await subscriber.closedByServer(0)), "subscriber kept");
      strictEqual(text((await busy.call(["PING"])).raw), "+PONG\r\n");
    } finally {
      await Promise.all([idle.close(), subscriber.close(), busy.close()]);
    }
  });
});
