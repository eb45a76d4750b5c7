/**
 * Generic key commands against a running server: DEL / UNLINK / EXISTS /
 * TOUCH / TYPE / KEYS / SCAN / RANDOMKEY / RENAME / RENAMENX / COPY / MOVE /
 * SWAPDB / FLUSHDB / FLUSHALL / OBJECT — replies and errors byte for byte
 * against redis-server where installed, through ioredis and node-redis
 * (RESP2 and RESP3), SCAN's guarantee under concurrent writes, binary keys,
 * keyspace events and INFO counters.
 *
 * @module
 */

import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Redis } from "ioredis";
import { withServer } from "./support/servers.ts";
import { RespConnection } from "./support/resp_connection.ts";
import { text } from "./support/resp.ts";
import {
  expectCounterDeltas,
  expectEvents,
  sameAsRedis,
  withClients,
} from "./support/keyspace_util.ts";

const KEY_CASES: string[][] = [
  ["SET", "a", "1"],
  ["SET", "b", "2"],
  ["EXISTS", "a", "a", "b", "nokey"],
  ["TOUCH", "a", "b", "a", "nokey"],
  ["TYPE", "a"],
  ["TYPE", "nokey"],
  ["RENAME", "a", "c"],
  ["RENAME", "a", "c"],
  ["RENAME", "c", "c"],
  ["RENAME", "nokey", "nokey"],
  ["RENAMENX", "c", "b"],
  ["RENAMENX", "c", "c"],
  ["RENAMENX", "nokey", "x"],
  ["RENAMENX", "c", "d"],
  ["COPY", "d", "e"],
  ["COPY", "d", "e"],
  ["COPY", "d", "e", "REPLACE"],
  ["COPY", "d", "e", "DB", "1"],
  ["COPY", "d", "e", "db", "1", "replace"],
  ["COPY", "d", "e", "DB", "16"],
  ["COPY", "d", "e", "DB", "-1"],
  ["COPY", "d", "e", "DB", "abc"],
  ["COPY", "d", "e", "DB", "99999999999"],
  ["COPY", "d", "e", "DB"],
  ["COPY", "d", "e", "foo"],
  ["COPY", "d", "d"],
  ["COPY", "nokey", "e"],
  ["COPY", "d", "d", "DB", "1"],
  ["MOVE", "d", "1"],
  ["MOVE", "e", "1"],
  ["MOVE", "e", "0"],
  ["MOVE", "e", "16"],
  ["MOVE", "e", "abc"],
  ["MOVE", "e", "99999999999"],
  ["MOVE", "nokey", "1"],
  ["SWAPDB", "0", "1"],
  ["EXISTS", "d", "e", "b"],
  ["SWAPDB", "0", "16"],
  ["SWAPDB", "a", "1"],
  ["SWAPDB", "0", "b"],
  ["SWAPDB", "0", "99999999999"],
  ["SWAPDB", "0", "0"],
  ["SWAPDB", "1", "0"],
  ["DEL", "b", "b", "nokey"],
  ["UNLINK", "e", "e"],
  ["KEYS", "*"],
  ["RANDOMKEY"],
  ["FLUSHDB", "foo"],
  ["FLUSHDB", "sync", "async"],
  ["FLUSHALL", "foo"],
  ["FLUSHDB", "ASYNC"],
  ["RANDOMKEY"],
  ["SELECT", "1"],
  ["DBSIZE"],
  ["FLUSHALL", "sync"],
  ["DBSIZE"],
  ["SCAN", "abc"],
  ["SCAN", "-"],
  ["SCAN", " 0"],
  ["SCAN", "1.5"],
  ["SCAN", "18446744073709551616"],
  ["SCAN", "0", "COUNT", "0"],
  ["SCAN", "0", "COUNT", "-1"],
  ["SCAN", "0", "COUNT", "abc"],
  ["SCAN", "0", "COUNT", "9223372036854775808"],
  ["SCAN", "0", "MATCH"],
  ["SCAN", "0", "foo", "bar"],
  ["SCAN", "0", "TYPE"],
  ["SCAN", "abc", "COUNT", "0"],
  ["SCAN", "0", "TYPE", "nosuchtype"],
  ["SCAN", ""],
  ["OBJECT"],
  ["OBJECT", "HELP"],
  ["OBJECT", "help", "extra"],
  ["OBJECT", "foo"],
  ["OBJECT", "ENCODING"],
  ["OBJECT", "ENCODING", "a", "b"],
  ["OBJECT", "ENCODING", "nokey"],
  ["OBJECT", "REFCOUNT", "nokey"],
  ["OBJECT", "IDLETIME", "nokey"],
  ["OBJECT", "FREQ", "nokey"],
  ["SET", "x", "1"],
  ["OBJECT", "FREQ", "x"],
  ["OBJECT", "IDLETIME", "x"],
];

Deno.test("key commands: replies and errors match Redis byte for byte", async () => {
  const ours = await sameAsRedis(KEY_CASES);
  const at = (cmd: string) => ours[KEY_CASES.findIndex((c) => c.join(" ") === cmd)];
  strictEqual(at("EXISTS a a b nokey"), ":3\r\n");
  strictEqual(at("TYPE nokey"), "+none\r\n");
  strictEqual(at("RENAME a c"), "+OK\r\n");
  strictEqual(at("RENAME nokey nokey"), "-ERR no such key\r\n");
  strictEqual(at("COPY d d"), "-ERR source and destination objects are the same\r\n");
  strictEqual(at("COPY d e DB 16"), "-ERR DB index is out of range\r\n");
  strictEqual(
    at("COPY d e DB 99999999999"),
    "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n",
  );
  strictEqual(at("MOVE e 0"), "-ERR source and destination objects are the same\r\n");
  strictEqual(at("SWAPDB a 1"), "-ERR invalid first DB index\r\n");
  strictEqual(at("SWAPDB 0 99999999999"), "-ERR invalid second DB index\r\n");
  strictEqual(at("DEL b b nokey"), ":1\r\n");
  strictEqual(at("SCAN abc"), "-ERR invalid cursor\r\n");
  strictEqual(at("SCAN 0 COUNT 0"), "-ERR syntax error\r\n");
  strictEqual(at("OBJECT foo"), "-ERR unknown subcommand 'foo'. Try OBJECT HELP.\r\n");
  ok(at("OBJECT FREQ x").startsWith("-ERR An LFU maxmemory policy is not selected"));
});

/** Ways of producing a string value, and the OBJECT ENCODING / REFCOUNT Redis 7.0 reports. */
const ENCODING_CASES: [string[], string, number][] = [
  [["SET", "k", "123"], "int", 2147483647],
  [["SET", "k", "12345"], "int", 1],
  [["SET", "k", "-1"], "int", 1],
  [["SET", "k", "9223372036854775807"], "int", 1],
  [["SET", "k", "9223372036854775808"], "embstr", 1],
  [["SET", "k", "01"], "embstr", 1],
  [["SET", "k", "x".repeat(44)], "embstr", 1],
  [["SET", "k", "x".repeat(45)], "raw", 1],
  [["MSET", "k", "12"], "int", 2147483647],
  [["APPEND", "k", "3"], "raw", 1],
  [["SETRANGE", "k", "0", "5"], "raw", 1],
  [["INCR", "k"], "int", 2147483647],
  [["INCRBY", "k", "100000"], "int", 1],
  [["INCRBYFLOAT", "k", "1.5"], "embstr", 1],
  [["INCRBYFLOAT", "k", "0.5"], "embstr", 1],
  [["INCRBYFLOAT", "k", "1e50"], "raw", 1],
  [["GETSET", "k", "7"], "int", 2147483647],
  [["SETEX", "k", "100", "8"], "int", 2147483647],
  [["SET", "k", "x"], "embstr", 1],
  [["APPEND", "k", ""], "raw", 1],
  [["SET", "src", "12"], "int", 2147483647],
  [["COPY", "src", "k", "REPLACE"], "int", 1],
  [["RENAME", "src", "k"], "int", 2147483647],
  [["DEL", "k"], "", 0],
  [["APPEND", "k", "42"], "int", 2147483647],
  [["SETRANGE", "new", "0", "1"], "raw", 1],
  [["SETNX", "k2", "99999"], "int", 1],
  [["MSETNX", "k3", "1"], "int", 2147483647],
];

Deno.test("OBJECT ENCODING / REFCOUNT report what Redis reports for each way a value is made", async () => {
  const commands: string[][] = [];
  for (const [cmd] of ENCODING_CASES) {
    const key = cmd[0] === "COPY" || cmd[0] === "RENAME"
      ? cmd[2]
      : cmd[0] === "SETRANGE" && cmd[1] === "new"
      ? "new"
      : cmd[1];
    commands.push(cmd, ["OBJECT", "ENCODING", key], ["OBJECT", "REFCOUNT", key]);
  }
  const ours = await sameAsRedis(commands);
  ENCODING_CASES.forEach(([cmd, enc, refcount], i) => {
    if (enc === "") return;
    strictEqual(ours[3 * i + 1], `$${enc.length}\r\n${enc}\r\n`, cmd.join(" "));
    strictEqual(ours[3 * i + 2], `:${refcount}\r\n`, cmd.join(" "));
  });
});

Deno.test("key commands through ioredis and node-redis (RESP2 and RESP3)", async () => {
  await withClients(async ({ srv, io, nr2, nr3 }) => {
    await io.mset("a", "1", "b", "2", "c", "3");
    strictEqual(await io.exists("a", "a", "nokey"), 2);
    strictEqual(await io.touch("a", "b", "nokey"), 2);
    strictEqual(await io.type("a"), "string");
    strictEqual(await io.type("nokey"), "none");
    deepStrictEqual((await io.keys("*")).sort(), ["a", "b", "c"]);
    deepStrictEqual(await io.keys("[ab]"), ["a", "b"]);
    strictEqual(await io.rename("a", "A"), "OK");
    await rejects(io.rename("a", "A"), /ERR no such key/);
    strictEqual(await io.renamenx("A", "b"), 0);
    strictEqual(await io.renamenx("A", "a"), 1);
    strictEqual(await io.copy("a", "a2"), 1);
    strictEqual(await io.copy("a", "a2"), 0);
    strictEqual(await io.copy("a", "a2", "DB", 2, "REPLACE"), 1);
    strictEqual(await io.move("a2", 2), 0);
    strictEqual(await io.move("a2", 3), 1);
    strictEqual(await io.exists("a2"), 0);
    strictEqual(await io.swapdb(0, 3), "OK");
    deepStrictEqual(await io.keys("*"), ["a2"]);
    strictEqual(await io.swapdb(3, 0), "OK");
    strictEqual(await io.del("a", "b", "nokey"), 2);
    strictEqual(await io.unlink("c"), 1);
    strictEqual(await io.randomkey(), null);
    strictEqual(await io.set("k", "v"), "OK");
    strictEqual(await io.randomkey(), "k");
    strictEqual(await io.object("ENCODING", "k"), "embstr");
    strictEqual(await io.object("REFCOUNT", "k"), 1);
    strictEqual(await io.object("IDLETIME", "k"), 0);
    strictEqual(await io.object("ENCODING", "nokey"), null);
    ok((await io.object("HELP") as string[]).includes("FREQ <key>"));
    strictEqual(await io.flushdb("ASYNC"), "OK");
    strictEqual(await io.dbsize(), 0);
    strictEqual(await io.select(3), "OK");
    strictEqual(await io.dbsize(), 1);
    strictEqual(await io.flushall("SYNC"), "OK");
    strictEqual(await io.dbsize(), 0);
    await io.select(0);

    for (const [nr, tag] of [[nr2, "r2"], [nr3, "r3"]] as const) {
      await nr.mSet([[`${tag}:a`, "1"], [`${tag}:b`, "2"]]);
      strictEqual(await nr.exists([`${tag}:a`, `${tag}:b`, `${tag}:a`]), 3);
      strictEqual(await nr.type(`${tag}:a`), "string");
      strictEqual(await nr.rename(`${tag}:a`, `${tag}:c`), "OK");
      strictEqual(await nr.renameNX(`${tag}:c`, `${tag}:b`), 0);
      strictEqual(await nr.copy(`${tag}:c`, `${tag}:d`), 1);
      strictEqual(await nr.objectEncoding(`${tag}:d`), "int");
      strictEqual(await nr.objectRefCount(`${tag}:d`), 1);
      strictEqual(await nr.objectEncoding(`${tag}:nokey`), null);
      strictEqual(await nr.move(`${tag}:d`, 5), 1);
      deepStrictEqual((await nr.keys(`${tag}:*`)).sort(), [`${tag}:b`, `${tag}:c`]);
      strictEqual(await nr.del([`${tag}:b`, `${tag}:c`]), 2);
      strictEqual(await nr.touch(`${tag}:b`), 0);
      await rejects(nr.rename(`${tag}:zz`, `${tag}:yy`), /no such key/);
      await rejects(nr.sendCommand(["SCAN", "x"]), /invalid cursor/);
    }
    strictEqual(await nr3.randomKey(), null);
    strictEqual(await nr2.swapDb(0, 5), "OK");
    strictEqual(await nr2.dbSize(), 2);
    strictEqual(await nr3.flushAll(), "OK");
    strictEqual(await nr3.dbSize(), 0);
    ok(srv.port > 0);
  });
});

Deno.test("OBJECT FREQ and IDLETIME follow maxmemory-policy (LFU vs LRU)", async () => {
  await withClients(async ({ io }) => {
    await io.set("k", "v");
    await rejects(io.object("FREQ", "k"), /An LFU maxmemory policy is not selected/);
    await new Promise((r) => setTimeout(r, 1100));
    ok((await io.object("IDLETIME", "k") as number) >= 1);
    await io.get("k");
    strictEqual(await io.object("IDLETIME", "k"), 0);
    await io.config("SET", "maxmemory-policy", "allkeys-lfu");
    await rejects(io.object("IDLETIME", "k"), /An LFU maxmemory policy is selected/);
    const before = await io.object("FREQ", "k") as number;
    ok(before >= 0 && before <= 255);
    for (let i = 0; i < 200; i++) await io.get("k");
    ok((await io.object("FREQ", "k") as number) > before, "frequent reads raise the counter");
    await io.config("SET", "maxmemory-policy", "noeviction");
    strictEqual(await io.object("IDLETIME", "k"), 0);
  });
});

Deno.test("SCAN returns every key present for the whole scan despite concurrent writes", async () => {
  await withServer([], async (srv) => {
    const writer = new Redis({ port: srv.port, host: "127.0.0.1", maxRetriesPerRequest: 1 });
    const scanner = await RespConnection.connect(srv.port);
    try {
      const stable: string[] = [];
      for (let i = 0; i < 10000; i++) stable.push(`stable:${i}`);
      for (let i = 0; i < stable.length; i += 1000) {
        await writer.mset(...stable.slice(i, i + 1000).flatMap((k) => [k, "v"]));
      }
      let writing = true;
      let churn = 0;
      const churner = (async () => {
        while (writing) {
          const p = writer.pipeline();
          for (let j = 0; j < 50; j++) {
            p.set(`temp:${churn + j}`, "x");
            if (churn + j >= 100) p.del(`temp:${churn + j - 100}`);
          }
          churn += 50;
          await p.exec();
        }
      })();
      const seen = new Map<string, number>();
      let cursor = "0";
      let calls = 0;
      do {
        const r = (await scanner.call(["SCAN", cursor, "COUNT", "10"])).value;
        if (r.type !== "array" || !r.value) throw new Error("bad SCAN reply");
        const [next, keys] = r.value;
        cursor = next.type === "bulk" && next.value ? text(next.value) : "0";
        if (keys.type !== "array" || !keys.value) throw new Error("bad SCAN keys");
        for (const k of keys.value) {
          const name = k.type === "bulk" && k.value ? text(k.value) : "";
          seen.set(name, (seen.get(name) ?? 0) + 1);
        }
        calls++;
        // A scan of a bounded collection must end, however fast keys come and go.
        if (calls > 20000) throw new Error("SCAN did not terminate");
        // Give the writer room to interleave its pipelines with the scan.
        if (calls % 20 === 0) await new Promise((r) => setTimeout(r, 0));
      } while (cursor !== "0");
      writing = false;
      await churner;
      ok(churn > 500, `the writer made progress during the scan (${churn} writes)`);
      const missing = stable.filter((k) => !seen.has(k));
      deepStrictEqual(missing, [], "stable keys missing from the scan");
      const repeated = stable.filter((k) => seen.get(k)! > 1);
      deepStrictEqual(repeated, [], "stable keys returned twice");
      ok(calls >= 1000, `COUNT 10 means many calls (${calls})`);
    } finally {
      writer.disconnect();
      await scanner.close();
    }
  });
});

Deno.test("SCAN MATCH / TYPE / COUNT, and the clients' scan iterators", async () => {
  await withClients(async ({ io, nr2, nr3 }) => {
    const keys: string[] = [];
    for (let i = 0; i < 500; i++) keys.push(`user:${i}`, `item:${i}`);
    await io.mset(...keys.flatMap((k) => [k, "1"]));
    const viaStream: string[] = await new Promise((resolve, reject) => {
      const found: string[] = [];
      io.scanStream({ match: "user:*", count: 37 })
        .on("data", (batch: string[]) => found.push(...batch))
        .on("end", () => resolve(found))
        .on("error", reject);
    });
    deepStrictEqual(viaStream.sort(), keys.filter((k) => k.startsWith("user:")).sort());
    for (const nr of [nr2, nr3]) {
      const found: string[] = [];
      for await (const batch of nr.scanIterator({ MATCH: "item:1*", COUNT: 50, TYPE: "string" })) {
        found.push(...batch);
      }
      deepStrictEqual(found.sort(), keys.filter((k) => k.startsWith("item:1")).sort());
      const none: string[] = [];
      for await (const batch of nr.scanIterator({ TYPE: "list" })) none.push(...batch);
      deepStrictEqual(none, []);
    }
    const [cursor, page] = await io.scan("0", "COUNT", 1000000);
    strictEqual(cursor, "0");
    strictEqual(page.length, 1000);
  });
});

Deno.test("binary keys with every byte value survive KEYS, SCAN, RENAME, COPY and MOVE", async () => {
  await withClients(async ({ io }) => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const keys = [
      all,
      Buffer.from([0]),
      Buffer.from([0xff, 13, 10]),
      Buffer.from("*?[]\\", "latin1"),
    ];
    for (const k of keys) await io.set(k, k);
    const listed = (await io.keysBuffer("*")).map((b) => b.toString("hex")).sort();
    deepStrictEqual(listed, keys.map((k) => k.toString("hex")).sort());
    const [, page] = await io.scanBuffer("0", "COUNT", 100);
    deepStrictEqual(page.map((b) => b.toString("hex")).sort(), listed);
    deepStrictEqual(await io.keysBuffer("\\*?\\[\\]\\\\"), [keys[3]]);
    const renamed = Buffer.concat([all, Buffer.from([0])]);
    strictEqual(await io.rename(all, renamed), "OK");
    deepStrictEqual(await io.getBuffer(renamed), all);
    strictEqual(await io.copy(renamed, Buffer.from([1, 2, 0])), 1);
    strictEqual(await io.move(Buffer.from([1, 2, 0]), 1), 1);
    await io.select(1);
    deepStrictEqual(await io.getBuffer(Buffer.from([1, 2, 0])), all);
    deepStrictEqual(await io.randomkeyBuffer(), Buffer.from([1, 2, 0]));
    strictEqual(await io.type(Buffer.from([1, 2, 0])), "string");
    strictEqual(await io.del(Buffer.from([1, 2, 0])), 1);
    await io.select(0);
  });
});

Deno.test("RANDOMKEY returns every key sometimes, and skips deleted and expired ones", async () => {
  await withClients(async ({ io }) => {
    await io.mset("a", "1", "b", "2", "c", "3");
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) seen.add((await io.randomkey())!);
    deepStrictEqual([...seen].sort(), ["a", "b", "c"]);
    const many: string[] = [];
    for (let i = 0; i < 2000; i++) many.push(`d${i}`, "x");
    await io.mset(...many);
    for (let i = 0; i < 2000; i += 500) {
      await io.del(...Array.from({ length: 500 }, (_, j) => `d${i + j}`));
    }
    await io.del("a", "b");
    await io.set("gone", "1", "PX", 1);
    await new Promise((r) => setTimeout(r, 20));
    for (let i = 0; i < 20; i++) strictEqual(await io.randomkey(), "c");
  }, ["--hz", "1"]);
});

Deno.test("key commands emit Redis' keyspace events", async () => {
  await expectEvents(
    [
      ["SET", "a", "1"],
      ["SET", "b", "1"],
      ["RENAME", "a", "c"],
      ["RENAME", "c", "b"],
      ["RENAME", "b", "b"],
      ["RENAMENX", "b", "d"],
      ["COPY", "d", "e"],
      ["COPY", "d", "e", "REPLACE"],
      ["COPY", "d", "e", "DB", "2"],
      ["COPY", "nokey", "x"],
      ["MOVE", "e", "3"],
      ["DEL", "d", "nokey", "e"],
      ["UNLINK", "d"],
      ["EXISTS", "nokey"],
      ["TOUCH", "nokey"],
      ["TYPE", "nokey"],
      ["OBJECT", "ENCODING", "nokey"],
      ["SWAPDB", "0", "2"],
      ["FLUSHDB"],
      ["FLUSHALL"],
    ],
    [
      "0:new:a",
      "0:set:a",
      "0:new:b",
      "0:set:b",
      "0:new:c",
      "0:rename_from:a",
      "0:rename_to:c",
      "0:new:b",
      "0:rename_from:c",
      "0:rename_to:b",
      "0:new:d",
      "0:rename_from:b",
      "0:rename_to:d",
      "0:new:e",
      "0:copy_to:e",
      "0:new:e",
      "0:copy_to:e",
      "2:new:e",
      "2:copy_to:e",
      "0:keymiss:nokey",
      "3:new:e",
      "0:move_from:e",
      "3:move_to:e",
      "0:del:d",
      "0:keymiss:nokey",
      "0:keymiss:nokey",
      "0:keymiss:nokey",
    ],
  );
});

Deno.test("key commands count keyspace hits, misses and dirty keys as Redis does", async () => {
  await expectCounterDeltas(
    [
      ["MSET", "a", "1", "b", "2"],
      ["EXISTS", "a", "nokey", "a"],
      ["TOUCH", "a", "nokey"],
      ["TYPE", "a"],
      ["TYPE", "nokey"],
      ["OBJECT", "ENCODING", "a"],
      ["OBJECT", "ENCODING", "nokey"],
      ["RENAME", "a", "c"],
      ["COPY", "c", "d"],
      ["COPY", "nokey", "d"],
      ["MOVE", "d", "1"],
      ["KEYS", "*"],
      ["SCAN", "0"],
      ["SCAN", "0", "TYPE", "string"],
      ["RANDOMKEY"],
      ["DEL", "b", "c", "nokey"],
      ["SWAPDB", "0", "1"],
      ["SET", "x", "1"],
      ["FLUSHDB"],
      ["SET", "x", "1"],
      ["FLUSHALL"],
      ["FLUSHALL"],
    ],
    [
      [0, 0, 2],
      [2, 1, 0],
      [1, 1, 0],
      [1, 0, 0],
      [0, 1, 0],
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
      [1, 0, 1],
      [0, 1, 0],
      [0, 0, 1],
      [0, 0, 0],
      [0, 0, 0],
      [2, 0, 0],
      [0, 0, 0],
      [0, 0, 2],
      [0, 0, 1],
      [0, 0, 1],
      [0, 0, 2],
      [0, 0, 1],
      [0, 0, 1],
      [0, 0, 0],
    ],
  );
});
