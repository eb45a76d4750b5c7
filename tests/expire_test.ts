/**
 * Expiry against a running server: EXPIRE / PEXPIRE / EXPIREAT / PEXPIREAT
 * with NX / XX / GT / LT, TTL / PTTL / EXPIRETIME / PEXPIRETIME, PERSIST,
 * TTLs kept or cleared by other commands, TTLs in the past (a `del`), lazy
 * expiry (an `expired`, counted once) and active expiry of keys nobody
 * touches — through ioredis, node-redis (RESP2 and RESP3) and raw RESP, and
 * byte for byte against redis-server where installed.
 *
 * @module
 */

import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { Redis } from "ioredis";
import { withServer } from "./support/servers.ts";
import { RespConnection } from "./support/resp_connection.ts";
import { text } from "./support/resp.ts";
import {
  counters,
  expectCounterDeltas,
  expectEvents,
  keyEvents,
  sameAsRedis,
  sleep,
  withClients,
} from "./support/keyspace_util.ts";

const EXPIRE_CASES: string[][] = [
  ["SET", "a", "1"],
  ["TTL", "nokey"],
  ["PTTL", "nokey"],
  ["EXPIRETIME", "nokey"],
  ["PEXPIRETIME", "nokey"],
  ["TTL", "a"],
  ["PTTL", "a"],
  ["EXPIRETIME", "a"],
  ["PEXPIRETIME", "a"],
  ["EXPIRE", "a", "100", "NX", "XX"],
  ["EXPIRE", "a", "100", "GT", "LT"],
  ["EXPIRE", "a", "100", "NX", "GT"],
  ["EXPIRE", "a", "100", "NX", "LT"],
  ["EXPIRE", "a", "100", "XX", "GT"],
  ["EXPIRE", "a", "100", "foo"],
  ["EXPIRE", "a", "100", "nx", "bar"],
  ["EXPIRE", "a", "abc"],
  ["EXPIRE", "a", "abc", "foo"],
  ["EXPIRE", "nokey", "100"],
  ["EXPIRE", "nokey", "100", "foo"],
  ["EXPIRE", "nokey", "9223372036854775"],
  ["EXPIRE", "a", "100", "xx"],
  ["EXPIRE", "a", "100", "nx", "nx"],
  ["EXPIRE", "a", "100", "NX"],
  ["EXPIRE", "a", "50", "GT"],
  ["EXPIRE", "a", "50", "LT"],
  ["EXPIRE", "a", "200", "gt"],
  ["TTL", "a"],
  ["EXPIRE", "a", "300", "LT"],
  ["EXPIRE", "a", "9223372036854775"],
  ["EXPIRE", "a", "-9223372036854776"],
  ["PEXPIRE", "a", "9223372036854775807"],
  ["EXPIREAT", "a", "9223372036854776"],
  ["PEXPIREAT", "a", "9223372036854775807"],
  ["PEXPIRETIME", "a"],
  ["EXPIRETIME", "a"],
  ["EXPIREAT", "a", "9223372036854775"],
  ["EXPIRETIME", "a"],
  ["PERSIST", "a"],
  ["PERSIST", "a"],
  ["PERSIST", "nokey"],
  ["TTL", "a"],
  ["EXPIRE", "a", "100", "LT"],
  ["PERSIST", "a"],
  ["EXPIRE", "a", "100", "GT"],
  ["EXPIRE", "a", "-1", "GT"],
  ["EXPIRE", "a", "-1", "LT"],
  ["EXISTS", "a"],
  ["SET", "b", "1"],
  ["EXPIRE", "b", "0"],
  ["EXISTS", "b"],
  ["SET", "b", "1"],
  ["PEXPIREAT", "b", "1"],
  ["EXISTS", "b"],
  ["SET", "b", "1"],
  ["EXPIRE", "b", "-9223372036854775"],
  ["EXISTS", "b"],
];

Deno.test("expire commands: replies and errors match Redis byte for byte", async () => {
  const ours = await sameAsRedis(EXPIRE_CASES);
  // The reply to the first `cmd` after the first `after` command.
  const at = (cmd: string, after = "") => {
    const from = after === "" ? 0 : EXPIRE_CASES.findIndex((c) => c.join(" ") === after);
    return ours[EXPIRE_CASES.findIndex((c, i) => i >= from && c.join(" ") === cmd)];
  };
  strictEqual(at("TTL nokey"), ":-2\r\n");
  strictEqual(at("PEXPIRETIME a"), ":-1\r\n");
  strictEqual(at("PEXPIRETIME a", "PEXPIREAT a 9223372036854775807"), ":9223372036854775807\r\n");
  strictEqual(
    at("EXPIRE a 100 NX XX"),
    "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n",
  );
  strictEqual(
    at("EXPIRE a 100 GT LT"),
    "-ERR GT and LT options at the same time are not compatible\r\n",
  );
  strictEqual(at("EXPIRE a 100 foo"), "-ERR Unsupported option foo\r\n");
  strictEqual(at("EXPIRE a abc foo"), "-ERR Unsupported option foo\r\n");
  strictEqual(
    at("EXPIRE nokey 9223372036854775"),
    "-ERR invalid expire time in 'expire' command\r\n",
  );
  strictEqual(
    at("PEXPIRE a 9223372036854775807"),
    "-ERR invalid expire time in 'pexpire' command\r\n",
  );
  strictEqual(
    at("EXPIREAT a 9223372036854776"),
    "-ERR invalid expire time in 'expireat' command\r\n",
  );
  strictEqual(at("TTL a", "EXPIRE a 200 gt"), ":200\r\n");
  strictEqual(at("EXPIRETIME a", "EXPIREAT a 9223372036854775"), ":9223372036854775\r\n");
  strictEqual(at("EXPIRE a -1 GT"), ":0\r\n");
  strictEqual(at("EXPIRE a -1 LT"), ":1\r\n");
  strictEqual(at("EXISTS b"), ":0\r\n");
});

Deno.test("PEXPIREAT at the int64 limit reads back exactly", async () => {
  await sameAsRedis([
    ["SET", "k", "v"],
    ["PEXPIREAT", "k", "9223372036854775807"],
    ["PEXPIRETIME", "k"],
    ["EXPIRETIME", "k"],
    ["SET", "k", "v", "PXAT", "9223372036854775807"],
    ["PEXPIRETIME", "k"],
    ["SET", "k", "v", "EXAT", "9223372036854775"],
    ["PEXPIRETIME", "k"],
  ]).then((ours) => {
    strictEqual(ours[2], ":9223372036854775807\r\n");
    strictEqual(ours[3], ":9223372036854776\r\n");
    strictEqual(ours[5], ":9223372036854775807\r\n");
    strictEqual(ours[7], ":9223372036854775000\r\n");
  });
});

Deno.test("TTLs through ioredis and node-redis (RESP2 and RESP3)", async () => {
  await withClients(async ({ io, nr2, nr3 }) => {
    await io.set("k", "v");
    strictEqual(await io.ttl("k"), -1);
    strictEqual(await io.pttl("nokey"), -2);
    strictEqual(await io.expire("k", 100), 1);
    strictEqual(await io.ttl("k"), 100);
    const pttl = await io.pttl("k");
    ok(pttl > 99000 && pttl <= 100000, `pttl ${pttl}`);
    strictEqual(await io.expire("k", 50, "GT"), 0);
    strictEqual(await io.expire("k", 50, "LT"), 1);
    strictEqual(await io.expire("k", 70, "NX"), 0);
    strictEqual(await io.pexpire("k", 80000, "XX"), 1);
    const at = Math.floor(Date.now() / 1000) + 500;
    strictEqual(await io.expireat("k", at), 1);
    strictEqual(await io.expiretime("k"), at);
    strictEqual(await io.pexpireat("k", at * 1000 + 123), 1);
    strictEqual(await io.pexpiretime("k"), at * 1000 + 123);
    strictEqual(await io.persist("k"), 1);
    strictEqual(await io.persist("k"), 0);
    await rejects(io.call("EXPIRE", "k", "10", "NX", "XX"), /not compatible/);
    for (const [nr, tag] of [[nr2, "r2"], [nr3, "r3"]] as const) {
      await nr.set(`${tag}:k`, "v");
      strictEqual(await nr.expire(`${tag}:k`, 100), 1);
      strictEqual(await nr.expire(`${tag}:k`, 100, "NX"), 0);
      strictEqual(await nr.ttl(`${tag}:k`), 100);
      strictEqual(await nr.pExpire(`${tag}:k`, 5000, "LT"), 1);
      ok((await nr.pTTL(`${tag}:k`)) <= 5000);
      strictEqual(await nr.persist(`${tag}:k`), 1);
      strictEqual(await nr.ttl(`${tag}:k`), -1);
      strictEqual(await nr.expireTime(`${tag}:k`), -1);
      strictEqual(await nr.pExpireTime(`${tag}:nokey`), -2);
      strictEqual(await nr.expireAt(`${tag}:k`, 1), 1);
      strictEqual(await nr.exists(`${tag}:k`), 0);
      await rejects(nr.sendCommand(["EXPIRE", `${tag}:k`, "1", "FOO"]), /Unsupported option FOO/);
    }
  });
});

Deno.test("writes keep or clear a TTL as Redis does", async () => {
  const ours = await sameAsRedis([
    ["SET", "k", "v", "EX", "1000"],
    ["SET", "k", "w"],
    ["TTL", "k"],
    ["SET", "k", "v", "EX", "1000"],
    ["SET", "k", "w", "KEEPTTL"],
    ["TTL", "k"],
    ["APPEND", "k", "x"],
    ["SETRANGE", "k", "0", "y"],
    ["INCRBYFLOAT", "k", "0"],
    ["SET", "n", "1", "PX", "1000000"],
    ["INCR", "n"],
    ["INCRBYFLOAT", "n", "1.5"],
    ["TTL", "n"],
    ["GETSET", "n", "1"],
    ["TTL", "n"],
    ["SETEX", "k", "1000", "v"],
    ["GETEX", "k"],
    ["TTL", "k"],
    ["RENAME", "k", "k2"],
    ["TTL", "k2"],
    ["COPY", "k2", "k3"],
    ["TTL", "k3"],
    ["MOVE", "k3", "1"],
    ["SELECT", "1"],
    ["TTL", "k3"],
    ["SELECT", "0"],
    ["MSET", "k2", "x"],
    ["TTL", "k2"],
    ["SET", "k", "v", "EX", "1000"],
    ["GETEX", "k", "PERSIST"],
    ["TTL", "k"],
  ]);
  strictEqual(ours[2], ":-1\r\n");
  strictEqual(ours[5], ":1000\r\n");
  strictEqual(ours[12], ":1000\r\n");
  strictEqual(ours[14], ":-1\r\n");
  strictEqual(ours[19], ":1000\r\n");
  strictEqual(ours[21], ":1000\r\n");
  strictEqual(ours[24], ":1000\r\n");
  strictEqual(ours[27], ":-1\r\n");
  strictEqual(ours[30], ":-1\r\n");
});

Deno.test("a TTL in the past deletes at once (a del event), a TTL that runs out is expired", async () => {
  await expectEvents(
    [
      ["SET", "a", "1"],
      ["EXPIRE", "a", "-1"],
      ["SET", "a", "1"],
      ["PEXPIREAT", "a", "1"],
      ["SET", "a", "1"],
      ["GETEX", "a", "EXAT", "1"],
      ["SET", "a", "1"],
      ["EXPIRE", "a", "100"],
      ["PERSIST", "a"],
      ["PEXPIRE", "a", "100000", "NX"],
      ["PEXPIRE", "a", "100000", "NX"],
    ],
    [
      "0:new:a",
      "0:set:a",
      "0:del:a",
      "0:new:a",
      "0:set:a",
      "0:del:a",
      "0:new:a",
      "0:set:a",
      "0:del:a",
      "0:new:a",
      "0:set:a",
      "0:expire:a",
      "0:persist:a",
      "0:expire:a",
    ],
  );
  await expectCounterDeltas(
    [
      ["SET", "a", "1"],
      ["EXPIRE", "a", "-1"],
      ["EXPIRE", "a", "100"],
      ["SET", "a", "1"],
      ["EXPIRE", "a", "100"],
      ["EXPIRE", "a", "100", "NX"],
      ["PERSIST", "a"],
      ["PERSIST", "a"],
      ["TTL", "a"],
      ["TTL", "nokey"],
      ["PEXPIRETIME", "a"],
    ],
    [
      [0, 0, 1],
      [0, 0, 1],
      [0, 0, 0],
      [0, 0, 1],
      [0, 0, 1],
      [0, 0, 0],
      [0, 0, 1],
      [0, 0, 0],
      [
        1,
        0,
        0,
      ],
      [0, 1, 0],
      [1, 0, 0],
    ],
  );
});

Deno.test("lazy expiry: an expired key is gone for every command, counted and reported once", async () => {
  await withServer(["--enable-debug-command", "yes"], async (srv) => {
    const c = await RespConnection.connect(srv.port);
    try {
      const call = async (...args: string[]) => text((await c.call(args)).raw);
      strictEqual(await call("DEBUG", "SET-ACTIVE-EXPIRE", "0"), "+OK\r\n");
      const before = await counters(c);
      const names = ["get", "exists", "ttl", "type", "incr", "append", "set", "keys", "scan"];
      for (const n of names) await call("SET", n, "5", "PX", "30");
      await sleep(80);
      strictEqual(await call("DBSIZE"), `:${names.length}\r\n`, "not reclaimed without access");
      strictEqual(await call("GET", "get"), "$-1\r\n");
      strictEqual(await call("EXISTS", "exists"), ":0\r\n");
      strictEqual(await call("TTL", "ttl"), ":-2\r\n");
      strictEqual(await call("TYPE", "type"), "+none\r\n");
      strictEqual(await call("INCR", "incr"), ":1\r\n");
      strictEqual(await call("APPEND", "append", "x"), ":1\r\n");
      strictEqual(await call("SET", "set", "1", "XX"), "$-1\r\n");
      strictEqual(await call("KEYS", "keys"), "*0\r\n", "KEYS skips expired keys");
      // incr and append were made again; keys and scan are expired but still held.
      strictEqual(await call("DBSIZE"), ":4\r\n", "KEYS does not reclaim");
      strictEqual(
        await call("SCAN", "0", "COUNT", "100"),
        "*2\r\n$1\r\n0\r\n*2\r\n$4\r\nincr\r\n$6\r\nappend\r\n",
      );
      strictEqual(await call("DBSIZE"), ":2\r\n");
      const after = await counters(c);
      strictEqual(
        after.expired - before.expired,
        names.length,
        "expired_keys counts each key once",
      );
      // The SETs, INCR and APPEND; expiring is not a dirty change.
      strictEqual(after.dirty - before.dirty, names.length + 2);
      strictEqual(await call("GET", "get"), "$-1\r\n");
      strictEqual((await counters(c)).expired, after.expired);
    } finally {
      await c.close();
    }
  });
  // The events: `expired` when the key is reclaimed, then the command's own.
  await withServer(["--enable-debug-command", "yes"], async (srv) => {
    const events = await keyEvents(srv.port, [
      ["DEBUG", "SET-ACTIVE-EXPIRE", "0"],
      ["SET", "a", "1", "PX", "1"],
      ["DEBUG", "SLEEP", "0.02"],
      ["GET", "a"],
      ["SET", "a", "2", "PX", "1"],
      ["DEBUG", "SLEEP", "0.02"],
      ["SET", "a", "3"],
    ]);
    deepStrictEqual(events, [
      "0:new:a",
      "0:set:a",
      "0:expire:a",
      "0:expired:a",
      "0:keymiss:a",
      "0:new:a",
      "0:set:a",
      "0:expire:a",
      "0:expired:a",
      "0:new:a",
      "0:set:a",
    ]);
  });
});

Deno.test("active expiry reclaims 10000 keys nobody touches, each counted once", async () => {
  await withServer([], async (srv) => {
    const io = new Redis({ port: srv.port, host: "127.0.0.1", maxRetriesPerRequest: 1 });
    const c = await RespConnection.connect(srv.port);
    try {
      const base = await counters(c);
      for (let i = 0; i < 10000; i += 500) {
        const p = io.pipeline();
        for (let j = i; j < i + 500; j++) p.set(`t:${j}`, "v", "PX", 100);
        await p.exec();
      }
      await io.set("keep", "v");
      await io.set("later", "v", "EX", 100);
      const start = Date.now();
      while ((await io.dbsize()) > 2) {
        if (Date.now() - start > 2500) throw new Error(`dbsize still ${await io.dbsize()}`);
        await sleep(50);
      }
      strictEqual((await counters(c)).expired - base.expired, 10000);
      deepStrictEqual((await io.keys("*")).sort(), ["keep", "later"]);
      strictEqual(await io.ttl("later"), 100);
    } finally {
      io.disconnect();
      await c.close();
    }
  });
});
