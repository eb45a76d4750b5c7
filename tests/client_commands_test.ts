import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import { Redis } from "ioredis";
import { createClient } from "redis";
import { hasRedis, skipBecause, withRedis, withServer } from "./support/servers.ts";
import { RawClient } from "./support/raw_client.ts";
import { RespConnection } from "./support/resp_connection.ts";
import { type RespValue, text } from "./support/resp.ts";
import { fieldNames, rawReplies, redisReplies } from "./support/compare.ts";

/** The text of a bulk or verbatim reply. */
function str(v: RespValue): string {
  if (v.type === "bulk" && v.value !== null) return text(v.value);
  if (v.type === "verbatim") return text(v.value);
  if (v.type === "simple" || v.type === "error") return v.value;
  throw new Error(`not a string reply: ${JSON.stringify(v)}`);
}

/** The value of an integer reply, as a string. */
function int(v: RespValue): string {
  if (v.type !== "integer") throw new Error(`not an integer reply: ${JSON.stringify(v)}`);
  return String(v.value);
}

/** Parses a CLIENT LIST / CLIENT INFO line into its fields. */
function parseLine(line: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const f of line.trim().split(" ")) {
    const eq = f.indexOf("=");
    m.set(f.slice(0, eq), f.slice(eq + 1));
  }
  return m;
}

/** Every CLIENT LIST line of `reply`, parsed. */
function parseList(reply: string): Map<string, string>[] {
  return reply.split("\n").filter((l) => l !== "").map(parseLine);
}

/** Commands whose exact replies (mostly errors) must match Redis 7.0 byte for byte. */
const EXACT: string[][] = [
  ["CLIENT", "GETNAME"],
  ["CLIENT", "SETNAME", "a b"],
  ["CLIENT", "SETNAME", "x\ny"],
  ["CLIENT", "SETNAME", "myname"],
  ["CLIENT", "GETNAME"],
  ["CLIENT", "SETNAME", ""],
  ["CLIENT", "GETNAME"],
  ["CLIENT", "ID", "x"],
  ["CLIENT", "INFO", "x"],
  ["CLIENT", "LIST", "TYPE", "foo"],
  ["CLIENT", "LIST", "TYPE"],
  ["CLIENT", "LIST", "ID"],
  ["CLIENT", "LIST", "ID", "abc"],
  ["CLIENT", "LIST", "foo", "bar"],
  ["CLIENT", "LIST", "TYPE", "normal", "ID", "3"],
  ["CLIENT", "LIST", "ID", "999999", "888888"],
  ["CLIENT", "KILL"],
  ["CLIENT", "KILL", "1.2.3.4:5"],
  ["CLIENT", "KILL", "ID", "abc"],
  ["CLIENT", "KILL", "ID", "0"],
  ["CLIENT", "KILL", "ID", "-5"],
  ["CLIENT", "KILL", "TYPE", "bogus"],
  ["CLIENT", "KILL", "USER", "bob"],
  ["CLIENT", "KILL", "SKIPME", "maybe"],
  ["CLIENT", "KILL", "foo", "bar"],
  ["CLIENT", "KILL", "ID", "5", "TYPE"],
  ["CLIENT", "KILL", "LADDR", "1.1.1.1:1"],
  ["CLIENT", "KILL", "ID", "999999", "SKIPME", "no"],
  ["CLIENT", "REPLY", "maybe"],
  ["CLIENT", "NO-EVICT", "maybe"],
  ["CLIENT", "NO-EVICT", "on"],
  ["CLIENT", "NO-EVICT", "OFF"],
  ["CLIENT", "FOO"],
  ["CLIENT"],
  ["client", "setname"],
];

Deno.test("CLIENT replies and errors match Redis 7.0 byte for byte", async () => {
  const ours = await withServer([], (srv) => rawReplies(srv.port, EXACT));
  strictEqual(ours[0], "$-1\r\n");
  strictEqual(
    ours[1],
    "-ERR Client names cannot contain spaces, newlines or special characters.\r\n",
  );
  strictEqual(ours[4], "$6\r\nmyname\r\n");
  strictEqual(ours[6], "$-1\r\n");
  strictEqual(ours[15], "$0\r\n\r\n");
  strictEqual(ours[17], "-ERR No such client\r\n");
  strictEqual(ours[26], ":0\r\n");
  strictEqual(ours[32], "-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n");
  const real = await redisReplies(EXACT);
  if (real === null) return void skipBecause("redis-server not installed: no differential check");
  for (let i = 0; i < EXACT.length; i++) {
    strictEqual(ours[i], real[i], `reply to ${EXACT[i].join(" ")}`);
  }
});

Deno.test("CLIENT INFO has Redis 7.0's fields in order and tracks the connection's state", async () => {
  await withServer([], async (srv) => {
    const c = await RespConnection.connect(srv.port);
    try {
      const id = int((await c.call(["CLIENT", "ID"])).value);
      await c.call(["CLIENT", "SETNAME", "conn-1"]);
      await c.call(["SELECT", "3"]);
      const line = str((await c.call(["CLIENT", "INFO"])).value);
      ok(line.endsWith("\n") && !line.endsWith("\n\n"), "one line ending with a newline");
      const f = parseLine(line);
      strictEqual(f.get("id"), id);
      strictEqual(f.get("name"), "conn-1");
      strictEqual(f.get("db"), "3");
      strictEqual(f.get("flags"), "N");
      strictEqual(f.get("cmd"), "client|info");
      strictEqual(f.get("user"), "default");
      strictEqual(f.get("resp"), "2");
      strictEqual(f.get("multi"), "-1");
      strictEqual(f.get("laddr"), `127.0.0.1:${srv.port}`);
      match(f.get("addr")!, /^127\.0\.0\.1:\d+$/);
      match(f.get("argv-mem")!, /^[1-9]\d*$/, "argv-mem counts the running command");
      // RESP3: a verbatim string.
      await c.call(["HELLO", "3"]);
      const r3 = (await c.call(["CLIENT", "INFO"])).value;
      strictEqual(r3.type, "verbatim");
      strictEqual(parseLine(str(r3)).get("resp"), "3");
      const real = hasRedis ? await redisReplies([["CLIENT", "INFO"]]) : null;
      if (real !== null) {
        const body = real[0].slice(real[0].indexOf("\r\n") + 2, -2);
        deepStrictEqual(fieldNames(line, "="), fieldNames(body, "="));
      } else skipBecause("redis-server not installed: field names checked against values only");
    } finally {
      await c.close();
    }
  });
});

Deno.test("CLIENT LIST: all clients, TYPE and ID filters, last command, flags", async () => {
  await withServer([], async (srv) => {
    const a = await RespConnection.connect(srv.port);
    const b = await RespConnection.connect(srv.port);
    const sub = await RespConnection.connect(srv.port);
    try {
      const ida = int((await a.call(["CLIENT", "ID"])).value);
      const idb = int((await b.call(["CLIENT", "ID"])).value);
      const ids = int((await sub.call(["CLIENT", "ID"])).value);
      await b.call(["PING"]);
      await sub.call(["SUBSCRIBE", "news"]);
      const all = parseList(str((await a.call(["CLIENT", "LIST"])).value));
      deepStrictEqual(all.map((l) => l.get("id")).sort(), [ida, idb, ids].sort());
      const lineB = all.find((l) => l.get("id") === idb)!;
      strictEqual(lineB.get("cmd"), "ping");
      strictEqual(lineB.get("argv-mem"), "0");
      const lineS = all.find((l) => l.get("id") === ids)!;
      strictEqual(lineS.get("flags"), "P");
      strictEqual(lineS.get("sub"), "1");
      strictEqual(all.find((l) => l.get("id") === ida)!.get("cmd"), "client|list");

      const pubsub = parseList(str((await a.call(["CLIENT", "LIST", "TYPE", "pubsub"])).value));
      deepStrictEqual(pubsub.map((l) => l.get("id")), [ids]);
      const normal = parseList(str((await a.call(["client", "list", "type", "NORMAL"])).value));
      deepStrictEqual(normal.map((l) => l.get("id")).sort(), [ida, idb].sort());
      strictEqual(str((await a.call(["CLIENT", "LIST", "TYPE", "replica"])).value), "");
      strictEqual(str((await a.call(["CLIENT", "LIST", "TYPE", "master"])).value), "");

      const byId = str((await a.call(["CLIENT", "LIST", "ID", idb, "424242", ida])).value);
      deepStrictEqual(parseList(byId).map((l) => l.get("id")), [idb, ida]);
    } finally {
      await Promise.all([a.close(), b.close(), sub.close()]);
    }
  });
});

/** Opens `n` connections and returns them with their ids and addresses. */
async function connections(port: number, n: number) {
  const out: { c: RespConnection; id: string; addr: string }[] = [];
  for (let i = 0; i < n; i++) {
    const c = await RespConnection.connect(port);
    const line = parseLine(str((await c.call(["CLIENT", "INFO"])).value));
    out.push({ c, id: line.get("id")!, addr: line.get("addr")! });
  }
  return out;
}

/** True once the server closed `c` (a PING then gets no reply). */
async function isClosed(c: RespConnection): Promise<boolean> {
  try {
    await c.call(["PING"], 1000);
    return false;
  } catch {
    return true;
  }
}

Deno.test("CLIENT KILL: old addr form, ID, ADDR, LADDR, USER, TYPE, SKIPME", async () => {
  await withServer([], async (srv) => {
    const cs = await connections(srv.port, 6);
    try {
      const [me, b, c, d, e, f] = cs;
      // Old form: +OK, and the target is gone.
      strictEqual(text((await me.c.call(["CLIENT", "KILL", b.addr])).raw), "+OK\r\n");
      ok(await isClosed(b.c));
      // ID filter: an integer count.
      strictEqual(text((await me.c.call(["CLIENT", "KILL", "ID", c.id])).raw), ":1\r\n");
      ok(await isClosed(c.c));
      // ADDR filter.
      strictEqual(text((await me.c.call(["CLIENT", "KILL", "ADDR", d.addr])).raw), ":1\r\n");
      ok(await isClosed(d.c));
      // TYPE pubsub only matches subscribers.
      await e.c.call(["SUBSCRIBE", "ch"]);
      strictEqual(text((await me.c.call(["CLIENT", "KILL", "TYPE", "pubsub"])).raw), ":1\r\n");
      ok(await isClosed(e.c));
      // Own address with the default SKIPME yes: nothing killed.
      strictEqual(text((await me.c.call(["CLIENT", "KILL", "ADDR", me.addr])).raw), ":0\r\n");
      // LADDR and USER select everyone else here.
      strictEqual(
        text((await me.c.call(["CLIENT", "KILL", "LADDR", `127.0.0.1:${srv.port}`])).raw),
        ":1\r\n",
      );
      ok(await isClosed(f.c));
      const [g, h] = await connections(srv.port, 2);
      cs.push(g, h);
      strictEqual(text((await me.c.call(["CLIENT", "KILL", "USER", "default"])).raw), ":2\r\n");
      ok(await isClosed(g.c));
      ok(await isClosed(h.c));
      // SKIPME no: the caller gets its reply, then its connection closes.
      const reply = await me.c.call(["CLIENT", "KILL", "ID", me.id, "SKIPME", "no"]);
      strictEqual(text(reply.raw), ":1\r\n");
      ok(await isClosed(me.c));
    } finally {
      await Promise.all(cs.map((x) => x.c.close()));
    }
  });
});

Deno.test("CLIENT KILL with the old form may kill the caller itself", async () => {
  await withServer([], async (srv) => {
    const [me] = await connections(srv.port, 1);
    try {
      strictEqual(text((await me.c.call(["CLIENT", "KILL", me.addr])).raw), "+OK\r\n");
      ok(await isClosed(me.c));
    } finally {
      await me.c.close();
    }
  });
});

/** Raw pipelines for CLIENT REPLY; the bytes that come back must equal Redis'. */
const REPLY_PIPELINES = [
  "CLIENT REPLY OFF\r\nPING\r\nSET k v\r\nGET k\r\nCLIENT REPLY ON\r\nPING\r\n",
  "CLIENT REPLY SKIP\r\nECHO one\r\nECHO two\r\nECHO three\r\n",
  "CLIENT REPLY OFF\r\nCLIENT REPLY SKIP\r\nECHO one\r\nCLIENT REPLY ON\r\nECHO two\r\n",
  "CLIENT REPLY SKIP\r\nCLIENT REPLY SKIP\r\nECHO one\r\nECHO two\r\n",
  "CLIENT REPLY OFF\r\nNOSUCHCOMMAND\r\nCLIENT REPLY ON\r\n",
  "CLIENT REPLY SKIP\r\nNOSUCHCOMMAND\r\nECHO two\r\n",
];
const REPLY_EXPECTED = [
  "+OK\r\n+PONG\r\n",
  "$3\r\ntwo\r\n$5\r\nthree\r\n",
  "+OK\r\n$3\r\ntwo\r\n",
  "$3\r\ntwo\r\n",
  "+OK\r\n",
  "$3\r\ntwo\r\n",
];

async function rawRun(port: number, data: string): Promise<string> {
  const c = await RawClient.connect(port);
  try {
    return await c.roundTrip(data, Infinity, 300);
  } finally {
    await c.close();
  }
}

Deno.test("CLIENT REPLY OFF / SKIP / ON over a raw socket", async () => {
  await withServer([], async (srv) => {
    for (let i = 0; i < REPLY_PIPELINES.length; i++) {
      strictEqual(
        await rawRun(srv.port, REPLY_PIPELINES[i]),
        REPLY_EXPECTED[i],
        REPLY_PIPELINES[i],
      );
    }
  });
  if (!hasRedis) return void skipBecause("redis-server not installed: expectations not re-checked");
  await withRedis([], async (srv) => {
    for (let i = 0; i < REPLY_PIPELINES.length; i++) {
      strictEqual(await rawRun(srv.port, REPLY_PIPELINES[i]), REPLY_EXPECTED[i], "real Redis");
    }
  });
});

Deno.test("CLIENT SETINFO sets lib-name / lib-ver shown by CLIENT INFO", async () => {
  await withServer([], async (srv) => {
    const c = await RespConnection.connect(srv.port);
    try {
      strictEqual(text((await c.call(["CLIENT", "INFO"])).raw).includes("lib-name"), false);
      strictEqual(text((await c.call(["CLIENT", "SETINFO", "LIB-NAME", "mylib"])).raw), "+OK\r\n");
      strictEqual(text((await c.call(["CLIENT", "SETINFO", "lib-ver", "1.2.3"])).raw), "+OK\r\n");
      const line = str((await c.call(["CLIENT", "INFO"])).value);
      ok(line.trimEnd().endsWith(" resp=2 lib-name=mylib lib-ver=1.2.3"), line);
      strictEqual(
        text((await c.call(["CLIENT", "SETINFO", "foo", "x"])).raw),
        "-ERR Unrecognized option 'foo'\r\n",
      );
      strictEqual(
        text((await c.call(["CLIENT", "SETINFO", "lib-name", "a b"])).raw),
        "-ERR lib-name cannot contain spaces, newlines or special characters.\r\n",
      );
      strictEqual(
        text((await c.call(["CLIENT", "SETINFO", "lib-name"])).raw),
        "-ERR wrong number of arguments for 'client|setinfo' command\r\n",
      );
    } finally {
      await c.close();
    }
  });
});

Deno.test("node-redis (RESP2 and RESP3) and ioredis connect; their CLIENT calls work", async () => {
  await withServer([], async (srv) => {
    for (const RESP of [2, 3] as const) {
      const nr = createClient({ socket: { port: srv.port, host: "127.0.0.1" }, RESP });
      await nr.connect();
      try {
        strictEqual(await nr.ping(), "PONG");
        strictEqual(await nr.clientSetName(`nr${RESP}`), "OK");
        strictEqual(await nr.clientGetName(), `nr${RESP}`);
        const info = await nr.clientInfo();
        strictEqual(info.name, `nr${RESP}`);
        strictEqual(Number(info.resp), RESP);
        strictEqual(info.libName, "node-redis");
        const list = String(await nr.sendCommand(["CLIENT", "LIST"]));
        ok(list.includes(`name=nr${RESP} `), list);
      } finally {
        nr.destroy();
      }
    }
    const io = new Redis({ port: srv.port, lazyConnect: false, maxRetriesPerRequest: 1 });
    try {
      strictEqual(await io.client("SETNAME", "io"), "OK");
      strictEqual(await io.client("GETNAME"), "io");
      strictEqual(typeof await io.client("ID"), "number");
      ok(String(await io.client("LIST")).includes("name=io "));
    } finally {
      await io.quit();
    }
  });
});

Deno.test("redis-py parses CLIENT LIST / INFO and kills by id", async () => {
  try {
    await Deno.stat("/usr/bin/python3");
  } catch {
    return void skipBecause("/usr/bin/python3 not installed");
  }
  await withServer([], async (srv) => {
    const script = `
import redis, sys
r = redis.Redis(port=${srv.port})
r.client_setname("py")
me = r.client_id()
other = redis.Redis(port=${srv.port})
other.ping()
oid = other.client_id()
clients = r.client_list()
assert sorted(int(c["id"]) for c in clients) == sorted([me, oid]), clients
assert [c for c in clients if int(c["id"]) == me][0]["name"] == "py"
assert r.client_info()["name"] == "py"
assert r.client_kill_filter(_id=oid) == 1
assert [int(c["id"]) for c in r.client_list()] == [me]
print("ok")
`;
    const out = await new Deno.Command("/usr/bin/python3", { args: ["-c", script] }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    if (stderr.includes("No module named 'redis'")) return void skipBecause("redis-py missing");
    strictEqual(new TextDecoder().decode(out.stdout).trim(), "ok", stderr);
  });
});
