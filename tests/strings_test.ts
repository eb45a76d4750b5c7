/**
 * String commands against a running server: SET's option rules and errors,
 * the GET/SET variants, ranges, counters with exact 64-bit arithmetic,
 * INCRBYFLOAT's long double format, size limits, binary safety, keyspace
 * events and INFO counters — through ioredis, node-redis (RESP2 and RESP3)
 * and raw RESP, and byte for byte against redis-server where installed.
 *
 * @module
 */

import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { Buffer } from "node:buffer";
import { hasRedis, skipBecause, withRedis, withServer } from "./support/servers.ts";
import { rawReplies } from "./support/compare.ts";
import { RespConnection } from "./support/resp_connection.ts";
import { show, text } from "./support/resp.ts";
import {
  expectCounterDeltas,
  expectEvents,
  sameAsRedis,
  withClients,
} from "./support/keyspace_util.ts";

const SET_CASES: string[][] = [
  ["SET", "a", "1", "NX", "GET"],
  ["SET", "a", "2", "NX", "GET"],
  ["SET", "a", "3", "XX", "GET"],
  ["SET", "b", "3", "XX", "GET"],
  ["SET", "a", "1", "EX", "0"],
  ["SET", "a", "1", "EX", "-1"],
  ["SET", "a", "1", "EX", "9223372036854775"],
  ["SET", "a", "1", "PX", "9223372036854775807"],
  ["SET", "a", "1", "EXAT", "9223372036854775"],
  ["SET", "a", "1", "EXAT", "9223372036854776"],
  ["SET", "a", "1", "EX", "abc"],
  ["SET", "a", "1", "NX", "XX"],
  ["SET", "a", "1", "xx", "nx"],
  ["SET", "a", "1", "EX", "10", "PX", "10"],
  ["SET", "a", "1", "EX", "10", "KEEPTTL"],
  ["SET", "a", "1", "KEEPTTL", "PXAT", "10"],
  ["SET", "a", "1", "EX"],
  ["SET", "a", "1", "foo"],
  ["SET", "a", "1", "PERSIST"],
  ["SET", "a", "1", "get", "ex", "10", "EX", "20"],
  ["TTL", "a"],
  ["SET", "a", "1", "KEEPTTL"],
  ["TTL", "a"],
  ["SET", "a", "1"],
  ["TTL", "a"],
  ["SETEX", "a", "0", "v"],
  ["SETEX", "a", "-5", "v"],
  ["SETEX", "a", "abc", "v"],
  ["PSETEX", "a", "0", "v"],
  ["SETEX", "a", "100", "v"],
  ["TTL", "a"],
  ["PSETEX", "a", "100000", "w"],
  ["GET", "a"],
  ["GETEX", "nokey", "EX", "abc"],
  ["GETEX", "a", "EX", "0"],
  ["GETEX", "a", "PERSIST", "EX", "10"],
  ["GETEX", "a", "EX", "10", "PERSIST"],
  ["GETEX", "a", "KEEPTTL"],
  ["GETEX", "a", "foo"],
  ["GETEX", "a", "PERSIST"],
  ["TTL", "a"],
  ["GETEX", "a", "EXAT", "1"],
  ["EXISTS", "a"],
  ["SETNX", "a", "1"],
  ["SETNX", "a", "2"],
  ["GETSET", "a", "3"],
  ["GETSET", "nokey2", "x"],
  ["GETDEL", "a"],
  ["GETDEL", "a"],
  ["MSET", "x", "1", "y"],
  ["MSETNX", "x", "1", "y"],
  ["MSET", "x", "1", "y", "2"],
  ["MSETNX", "x", "1", "z", "2"],
  ["MSETNX", "q", "1", "q", "2"],
  ["MGET", "x", "y", "nokey", "q"],
];

Deno.test("SET / GETEX / GETSET / MSET options and errors match Redis byte for byte", async () => {
  const ours = await sameAsRedis(SET_CASES);
  const at = (cmd: string) => ours[SET_CASES.findIndex((c) => c.join(" ") === cmd)];
  strictEqual(at("SET a 1 NX GET"), "$-1\r\n");
  strictEqual(at("SET a 2 NX GET"), "$1\r\n1\r\n");
  strictEqual(at("SET a 1 EX 0"), "-ERR invalid expire time in 'set' command\r\n");
  strictEqual(at("SET a 1 EX 9223372036854775"), "-ERR invalid expire time in 'set' command\r\n");
  strictEqual(at("SET a 1 EXAT 9223372036854775"), "+OK\r\n");
  strictEqual(at("SET a 1 NX XX"), "-ERR syntax error\r\n");
  strictEqual(at("SET a 1 EX 10 KEEPTTL"), "-ERR syntax error\r\n");
  strictEqual(at("SET a 1 EX abc"), "-ERR value is not an integer or out of range\r\n");
  strictEqual(at("SETEX a -5 v"), "-ERR invalid expire time in 'setex' command\r\n");
  strictEqual(at("PSETEX a 0 v"), "-ERR invalid expire time in 'psetex' command\r\n");
  strictEqual(at("GETEX nokey EX abc"), "$-1\r\n");
  strictEqual(at("GETEX a EX 0"), "-ERR invalid expire time in 'getex' command\r\n");
  strictEqual(at("GETEX a PERSIST EX 10"), "-ERR syntax error\r\n");
  strictEqual(at("MSET x 1 y"), "-ERR wrong number of arguments for 'mset' command\r\n");
  strictEqual(at("MSETNX q 1 q 2"), ":1\r\n");
  strictEqual(at("MGET x y nokey q"), "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n$1\r\n2\r\n");
});

const RANGE_CASES: string[][] = [
  ["APPEND", "s", "hello"],
  ["APPEND", "s", ""],
  ["APPEND", "empty", ""],
  ["STRLEN", "s"],
  ["STRLEN", "nokey"],
  ["GETRANGE", "s", "0", "-1"],
  ["GETRANGE", "s", "-3", "-1"],
  ["GETRANGE", "s", "-1", "-3"],
  ["GETRANGE", "s", "3", "1"],
  ["GETRANGE", "s", "100", "200"],
  ["GETRANGE", "s", "-100", "2"],
  ["GETRANGE", "s", "-9223372036854775808", "9223372036854775807"],
  ["GETRANGE", "nokey", "0", "1"],
  ["GETRANGE", "s", "a", "1"],
  ["GETRANGE", "nokey", "0", "b"],
  ["SUBSTR", "s", "1", "2"],
  ["SETRANGE", "r", "5", "abc"],
  ["GET", "r"],
  ["SETRANGE", "r", "-1", "a"],
  ["SETRANGE", "r", "x", "a"],
  ["SETRANGE", "r2", "0", ""],
  ["EXISTS", "r2"],
  ["SETRANGE", "r", "100", ""],
  ["SETRANGE", "r", "1", "ZZ"],
  ["GET", "r"],
  ["SETRANGE", "r", "536870912", "a"],
  ["SETRANGE", "r", "536870911", ""],
  ["SETRANGE", "r3", "536870912", ""],
  ["SETRANGE", "r3", "9223372036854775807", "x"],
  ["SETRANGE", "r3", "9223372036854775808", "x"],
  ["SET", "n", "123"],
  ["GETRANGE", "n", "1", "1"],
  ["SETRANGE", "n", "0", "9"],
  ["GET", "n"],
];

Deno.test("APPEND / STRLEN / GETRANGE / SUBSTR / SETRANGE match Redis byte for byte", async () => {
  const ours = await sameAsRedis(RANGE_CASES);
  const at = (cmd: string) => ours[RANGE_CASES.findIndex((c) => c.join(" ") === cmd)];
  strictEqual(at("GETRANGE s -3 -1"), "$3\r\nllo\r\n");
  strictEqual(at("GETRANGE nokey 0 1"), "$0\r\n\r\n");
  strictEqual(at("GET r"), "$8\r\n\x00\x00\x00\x00\x00abc\r\n");
  strictEqual(at("SETRANGE r -1 a"), "-ERR offset is out of range\r\n");
  strictEqual(at("SETRANGE r2 0 "), ":0\r\n");
  strictEqual(
    at("SETRANGE r 536870912 a"),
    "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n",
  );
  strictEqual(at("SETRANGE r3 536870912 "), ":0\r\n");
  strictEqual(at("GET n"), "$3\r\n923\r\n");
});

const COUNTER_CASES: string[][] = [
  ["INCR", "n"],
  ["INCRBY", "n", "9223372036854775806"],
  ["INCR", "n"],
  ["DECRBY", "n", "-9223372036854775808"],
  ["INCRBY", "m", "-9223372036854775808"],
  ["DECR", "m"],
  ["DECRBY", "m", "1"],
  ["SET", "big", "9007199254740992"],
  ["INCR", "big"],
  ["INCRBY", "big", "9007199254740993"],
  ["DECRBY", "big", "-1"],
  ["GET", "big"],
  ["SET", "s", " 1"],
  ["INCR", "s"],
  ["SET", "s", "01"],
  ["INCR", "s"],
  ["SET", "s", "1.0"],
  ["INCR", "s"],
  ["SET", "s", ""],
  ["DECR", "s"],
  ["SET", "s", "12345678901234567890"],
  ["INCR", "s"],
  ["INCRBY", "t", "abc"],
  ["INCRBY", "t", "+5"],
  ["INCRBY", "t", "-0"],
  ["INCRBY", "t", "99999999999999999999"],
  ["DECR", "fresh"],
  ["INCRBYFLOAT", "f", "1.5"],
  ["INCRBYFLOAT", "f", "abc"],
  ["INCRBYFLOAT", "f", "inf"],
  ["INCRBYFLOAT", "f", "-infinity"],
  ["INCRBYFLOAT", "f", "nan"],
  ["INCRBYFLOAT", "f", " 1"],
  ["INCRBYFLOAT", "f", "1 "],
  ["INCRBYFLOAT", "f", "1e"],
  ["INCRBYFLOAT", "f", "."],
  ["INCRBYFLOAT", "f", "1\x00"],
  ["INCRBYFLOAT", "f", "1e-5000"],
  ["INCRBYFLOAT", "f", "1.1897314953572317651e+4932"],
  ["SET", "g", "abc"],
  ["INCRBYFLOAT", "g", "1"],
  ["INCR", "f"],
];

Deno.test("INCR family: exact 64-bit arithmetic and Redis' errors, byte for byte", async () => {
  const ours = await sameAsRedis(COUNTER_CASES);
  const at = (cmd: string) => ours[COUNTER_CASES.findIndex((c) => c.join(" ") === cmd)];
  strictEqual(at("INCRBY n 9223372036854775806"), ":9223372036854775807\r\n");
  strictEqual(at("INCR n"), ":1\r\n");
  strictEqual(at("DECRBY n -9223372036854775808"), "-ERR decrement would overflow\r\n");
  strictEqual(at("DECR m"), "-ERR increment or decrement would overflow\r\n");
  strictEqual(at("INCR big"), ":9007199254740993\r\n");
  strictEqual(at("GET big"), "$17\r\n18014398509481987\r\n");
  strictEqual(at("INCRBYFLOAT f inf"), "-ERR increment would produce NaN or Infinity\r\n");
  strictEqual(at("INCRBYFLOAT f abc"), "-ERR value is not a valid float\r\n");
});

const WRONGTYPE_CASES: string[][] = [
  ["HSET", "h", "f", "v"],
  ["GET", "h"],
  ["SET", "h", "x", "GET"],
  ["SET", "h", "x", "NX", "GET"],
  ["GETSET", "h", "x"],
  ["GETDEL", "h"],
  ["GETEX", "h", "PERSIST"],
  ["MGET", "h", "x"],
  ["SETRANGE", "h", "0", ""],
  ["APPEND", "h", "x"],
  ["STRLEN", "h"],
  ["GETRANGE", "h", "0", "1"],
  ["INCR", "h"],
  ["DECRBY", "h", "1"],
  ["INCRBYFLOAT", "h", "1"],
  ["SET", "h", "x"],
  ["GET", "h"],
];

Deno.test("string commands on a key of another type reply WRONGTYPE, as Redis", async () => {
  const hashes = await withServer([], async (srv) => {
    const r = await rawReplies(srv.port, [["HSET", "h", "f", "v"]]);
    return !r[0].startsWith("-ERR unknown command");
  });
  if (!hashes) return void skipBecause("HSET is not implemented yet: no non-string key to use");
  const ours = await sameAsRedis(WRONGTYPE_CASES);
  const wrong = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
  for (const i of [1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14]) strictEqual(ours[i], wrong);
  strictEqual(ours[7], "*2\r\n$-1\r\n$-1\r\n");
  strictEqual(ours[16], "$1\r\nx\r\n");
});

/** [start value (null: no key), increment, Redis 7.0's reply]: checked against redis-server. */
const FLOAT_CASES: [string | null, string, string][] = [
  ["0.1", "0.2", "0.3"],
  [null, "3.0e-5", "0.00003"],
  [null, "1e20", "100000000000000000000"],
  ["10.5", "0.1", "10.6"],
  ["-0", "0", "0"],
  [null, "-0.0", "0"],
  ["0.1", "0.1", "0.2"],
  ["10", "-10.5", "-0.5"],
  [null, "-1e-18", "0"],
  [null, "1.5e-17", "0.00000000000000002"],
  [null, "0.000000000000000025", "0.00000000000000002"],
  [null, "123456789.123456789", "123456789.12345678899873747"],
  ["5000", "1.23456789012345678901234", "5001.23456789012345691"],
  ["9223372036854775807", "1", "9223372036854775808"],
  [null, "0x1.8p1", "3"],
  [null, ".5e1", "5"],
  [null, "+.5", "0.5"],
  [null, "5.", "5"],
  [null, "00012", "12"],
  [null, "1E2", "100"],
  ["1e-4950", "0", "0"],
  [null, "0x1p-16445", "0"],
  [
    null,
    "1e300",
    "1000000000000000000008997324079559193870523944273290747938260082321265646596180935755849152083750497190350372508614274835903592556184672983913096260520748646287327135641843653294084255107606016789726652932370030551382947620994540294772781889620606179267611627097410650567187386105690089424915104006144",
  ],
  [
    "1.7976931348623157e308",
    "1.7976931348623157e308",
    "359538626972463139991842093548208868096772893888658356970628841530353257046248792709403737216774171128857586838851041378617416726902272110715794556052955234146997955372576789671236326588091188869859074894581254961338834769297758245552436667197907705664206565009503223382416235440319971852753604933726679072768",
  ],
];

Deno.test("INCRBYFLOAT prints Redis' %.17Lf long double format (ioredis, node-redis)", async () => {
  await withClients(async ({ io, nr2, nr3 }) => {
    for (const [i, [start, incr, expected]] of FLOAT_CASES.entries()) {
      const key = `f${i}`;
      if (start !== null) await io.set(key, start);
      strictEqual(await io.incrbyfloat(key, incr), expected, `${start} + ${incr}`);
      strictEqual(await io.get(key), expected);
    }
    strictEqual(await nr2.incrByFloat("nf", 0.1), "0.1");
    strictEqual(await nr3.incrByFloat("nf", 0.2), "0.3");
    await rejects(nr3.sendCommand(["INCRBYFLOAT", "nf", "nan"]), /ERR value is not a valid float/);
    const huge = await io.incrbyfloat("big", "1e4000");
    strictEqual(huge.length, 4000);
    ok(huge.startsWith("99999999999999999999654638730996237849"));
  });
});

/** A small seeded generator (xorshift) so the random cases are the same every run. */
function* floatStrings(seed: number): Generator<string> {
  let x = seed;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
  const digits = (n: number) => Array.from({ length: n }, () => Math.floor(next() * 10)).join("");
  while (true) {
    switch (Math.floor(next() * 6)) {
      case 0:
        yield `${digits(1 + Math.floor(next() * 6))}.${digits(1 + Math.floor(next() * 25))}`;
        break;
      case 1:
        yield `-0.${digits(Math.floor(next() * 20))}${digits(2)}`;
        break;
      case 2:
        yield `${digits(1 + Math.floor(next() * 3))}e${Math.floor(next() * 80) - 40}`;
        break;
      case 3:
        yield String((next() - 0.5) * 10 ** Math.floor(next() * 30));
        break;
      case 4:
        yield `0x${Math.floor(next() * 2 ** 40).toString(16)}p-${Math.floor(next() * 60)}`;
        break;
      default:
        yield `${Math.floor(next() * 2000) - 1000}.${digits(1)}5`;
    }
  }
}

Deno.test("INCRBYFLOAT agrees with redis-server on 400 generated sums", async () => {
  if (!hasRedis) return void skipBecause("redis-server not installed");
  const gen = floatStrings(20240601);
  const commands: string[][] = [];
  for (let i = 0; i < 400; i++) {
    commands.push(["SET", `k${i}`, gen.next().value!], ["INCRBYFLOAT", `k${i}`, gen.next().value!]);
  }
  const ours = await withServer([], (srv) => rawReplies(srv.port, commands));
  const real = await withRedis([], (srv) => rawReplies(srv.port, commands));
  for (let i = 1; i < commands.length; i += 2) {
    strictEqual(ours[i], real[i], `${commands[i - 1][2]} + ${commands[i][2]}`);
  }
});

Deno.test("string commands through ioredis and node-redis (RESP2 and RESP3)", async () => {
  await withClients(async ({ io, nr2, nr3 }) => {
    // ioredis
    strictEqual(await io.set("k", "v", "EX", 100, "GET"), null);
    strictEqual(await io.ttl("k"), 100);
    strictEqual(await io.set("k", "w", "KEEPTTL"), "OK");
    strictEqual(await io.ttl("k"), 100);
    strictEqual(await io.getset("k", "x"), "w");
    strictEqual(await io.ttl("k"), -1);
    strictEqual(await io.getex("k", "PX", 5000), "x");
    ok((await io.pttl("k")) > 4000);
    strictEqual(await io.getex("k", "PERSIST"), "x");
    strictEqual(await io.ttl("k"), -1);
    strictEqual(await io.setnx("k", "y"), 0);
    strictEqual(await io.setnx("k2", "y"), 1);
    strictEqual(await io.setex("k3", 10, "z"), "OK");
    strictEqual(await io.psetex("k4", 10000, "z"), "OK");
    ok((await io.pttl("k4")) > 9000);
    strictEqual(await io.mset({ a: "1", b: "2" }), "OK");
    strictEqual(await io.msetnx("a", "3", "c", "4"), 0);
    deepStrictEqual(await io.mget("a", "b", "c"), ["1", "2", null]);
    strictEqual(await io.getdel("a"), "1");
    strictEqual(await io.exists("a"), 0);
    strictEqual(await io.append("b", "34"), 3);
    strictEqual(await io.strlen("b"), 3);
    strictEqual(await io.getrange("b", 1, -1), "34");
    strictEqual(await io.setrange("b", 5, "!"), 6);
    strictEqual(await io.get("b"), "234\0\0!");
    strictEqual(await io.incr("cnt"), 1);
    strictEqual(await io.incrby("cnt", 41), 42);
    strictEqual(await io.decr("cnt"), 41);
    strictEqual(await io.decrby("cnt", 50), -9);
    await rejects(io.incr("b"), /ERR value is not an integer or out of range/);
    // node-redis, both protocols
    for (const [nr, tag] of [[nr2, "r2"], [nr3, "r3"]] as const) {
      strictEqual(await nr.get(`${tag}:missing`), null);
      strictEqual(await nr.set(`${tag}:k`, "v", { NX: true }), "OK");
      strictEqual(await nr.set(`${tag}:k`, "v", { NX: true }), null);
      strictEqual(await nr.set(`${tag}:k`, "v2", { GET: true }), "v");
      strictEqual(await nr.getEx(`${tag}:k`, { type: "EX", value: 50 }), "v2");
      strictEqual(await nr.ttl(`${tag}:k`), 50);
      strictEqual(await nr.getDel(`${tag}:k`), "v2");
      strictEqual(await nr.getDel(`${tag}:k`), null);
      strictEqual(await nr.mSet([[`${tag}:a`, "1"], [`${tag}:b`, "x"]]), "OK");
      strictEqual(await nr.mSetNX([[`${tag}:a`, "1"], [`${tag}:c`, "2"]]), 0);
      deepStrictEqual(await nr.mGet([`${tag}:a`, `${tag}:b`, `${tag}:c`]), ["1", "x", null]);
      strictEqual(await nr.incrBy(`${tag}:a`, 9), 10);
      strictEqual(await nr.append(`${tag}:b`, "yz"), 3);
      strictEqual(await nr.getRange(`${tag}:b`, 0, 1), "xy");
      strictEqual(await nr.setRange(`${tag}:b`, 1, "Q"), 3);
      strictEqual(await nr.get(`${tag}:b`), "xQz");
      strictEqual(await nr.strLen(`${tag}:b`), 3);
      await rejects(
        nr.set(`${tag}:e`, "v", { expiration: { type: "EX", value: 0 } }),
        /invalid expire time in 'set' command/,
      );
      await rejects(nr.incr(`${tag}:b`), /not an integer/);
    }
  });
});

Deno.test("keys and values are binary safe: every byte value, CR LF and NUL", async () => {
  await withClients(async ({ io }) => {
    const key = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const value = Buffer.from("a\r\nb\0c\r\n\xff", "latin1");
    strictEqual(await io.set(key, value), "OK");
    deepStrictEqual(await io.getBuffer(key), value);
    strictEqual(await io.strlen(key), value.length);
    strictEqual(await io.append(key, Buffer.from([0, 13, 10])), value.length + 3);
    deepStrictEqual(
      await io.getrangeBuffer(key, -4, -1),
      Buffer.from([0xff, 0, 13, 10]),
    );
    const other = Buffer.from([0, 0xff, 0x80, 13, 10]);
    strictEqual(await io.mset(other, value), "OK");
    deepStrictEqual(await io.mgetBuffer(key, other), [
      Buffer.concat([value, Buffer.from([0, 13, 10])]),
      value,
    ]);
    deepStrictEqual(await io.getsetBuffer(other, Buffer.from([0])), value);
    deepStrictEqual(await io.getdelBuffer(other), Buffer.from([0]));
  });
  // Raw RESP: the key and value bytes come back unchanged.
  await withServer([], async (srv) => {
    const c = await RespConnection.connect(srv.port);
    try {
      const key = String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i));
      await c.call(["SET", key, "\r\n\x00"]);
      strictEqual(show((await c.call(["GET", key])).raw), show("$3\r\n\r\n\x00\r\n"));
    } finally {
      await c.close();
    }
  });
});

Deno.test("APPEND grows a string correctly, and a COPY or earlier value is never changed", async () => {
  await withServer([], async (srv) => {
    const c = await RespConnection.connect(srv.port);
    try {
      let expected = "";
      for (let i = 0; i < 400; i++) {
        const chunk = String.fromCharCode(i % 256).repeat(1 + (i * 37) % 300);
        expected += chunk;
        const r = (await c.call(["APPEND", "s", chunk])).value;
        deepStrictEqual(r, { type: "integer", value: BigInt(expected.length) });
        if (i === 200) {
          await c.call(["COPY", "s", "copy"]);
          await c.call(["SET", "snap", expected]);
        }
      }
      const got = (await c.call(["GET", "s"])).value;
      strictEqual(got.type === "bulk" && got.value ? text(got.value) : null, expected);
      // The copy and the SET snapshot must not see later appends.
      const snapshot = (await c.call(["GET", "snap"])).value;
      const copy = (await c.call(["GET", "copy"])).value;
      deepStrictEqual(copy, snapshot);
      await c.call(["APPEND", "copy", "XYZ"]);
      const after = (await c.call(["GETRANGE", "s", "0", "-1"])).value;
      strictEqual(after.type === "bulk" && after.value ? text(after.value) : null, expected);
      const copied = (await c.call(["GETRANGE", "copy", "-3", "-1"])).value;
      strictEqual(copied.type === "bulk" && copied.value ? text(copied.value) : null, "XYZ");
      // SETRANGE over appended bytes, then APPEND again.
      await c.call(["SETRANGE", "s", "1", "##"]);
      await c.call(["APPEND", "s", "END"]);
      const final = (await c.call(["GET", "s"])).value;
      strictEqual(
        final.type === "bulk" && final.value ? text(final.value) : null,
        expected[0] + "##" + expected.slice(3) + "END",
      );
    } finally {
      await c.close();
    }
  });
});

Deno.test("proto-max-bulk-len bounds APPEND and SETRANGE results", async () => {
  await withServer([], async (srv) => {
    const c = await RespConnection.connect(srv.port);
    try {
      const tooBig = "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n";
      strictEqual(text((await c.call(["SETRANGE", "k", "536870912", "a"])).raw), tooBig);
      strictEqual(
        text((await c.call(["CONFIG", "SET", "proto-max-bulk-len", "1048576"])).raw),
        "+OK\r\n",
      );
      strictEqual(text((await c.call(["SETRANGE", "k", "1048575", "a"])).raw), ":1048576\r\n");
      strictEqual(text((await c.call(["APPEND", "k", "b"])).raw), tooBig);
      strictEqual(text((await c.call(["SETRANGE", "k", "1048576", "a"])).raw), tooBig);
      strictEqual(text((await c.call(["SETRANGE", "k", "1048576", ""])).raw), ":1048576\r\n");
      strictEqual(text((await c.call(["STRLEN", "k"])).raw), ":1048576\r\n");
    } finally {
      await c.close();
    }
  });
});

Deno.test("string commands emit Redis' keyspace events", async () => {
  await expectEvents(
    [
      ["SET", "a", "1", "EX", "100"],
      ["SET", "a", "2", "NX"],
      ["SET", "a", "3", "XX", "KEEPTTL"],
      ["SETNX", "b", "1"],
      ["SETEX", "c", "10", "v"],
      ["MSET", "a", "1", "d", "2"],
      ["MSETNX", "e", "1", "e", "2"],
      ["GETSET", "f", "1"],
      ["GETDEL", "f"],
      ["GETEX", "a", "PX", "100000"],
      ["GETEX", "a", "PERSIST"],
      ["GETEX", "a", "PERSIST"],
      ["GETEX", "a", "EXAT", "1"],
      ["APPEND", "g", "x"],
      ["APPEND", "g", ""],
      ["SETRANGE", "g", "0", ""],
      ["SETRANGE", "g", "3", "y"],
      ["INCR", "n"],
      ["DECRBY", "n", "5"],
      ["INCRBYFLOAT", "n", "1.5"],
      ["GET", "missing"],
      ["MGET", "missing", "n"],
      ["SET", "h", "1", "PXAT", "1"],
      ["GET", "h"],
    ],
    [
      "0:new:a",
      "0:set:a",
      "0:expire:a",
      "0:set:a",
      "0:new:b",
      "0:set:b",
      "0:new:c",
      "0:set:c",
      "0:expire:c",
      "0:set:a",
      "0:new:d",
      "0:set:d",
      "0:new:e",
      "0:set:e",
      "0:set:e",
      "0:keymiss:f",
      "0:new:f",
      "0:set:f",
      "0:del:f",
      "0:expire:a",
      "0:persist:a",
      "0:del:a",
      "0:new:g",
      "0:append:g",
      "0:append:g",
      "0:setrange:g",
      "0:new:n",
      "0:incrby:n",
      "0:incrby:n",
      "0:incrbyfloat:n",
      "0:keymiss:missing",
      "0:keymiss:missing",
      "0:new:h",
      "0:set:h",
      "0:expire:h",
      "0:expired:h",
      "0:keymiss:h",
    ],
  );
});

Deno.test("string commands count keyspace hits, misses and dirty keys as Redis does", async () => {
  await expectCounterDeltas(
    [
      ["SET", "a", "1"],
      ["GET", "a"],
      ["GET", "nokey"],
      ["MGET", "a", "nokey", "a"],
      ["SET", "a", "2", "GET"],
      ["SET", "a", "2", "NX"],
      ["SET", "b", "2", "XX"],
      ["MSET", "a", "1", "b", "2", "c", "3"],
      ["MSETNX", "a", "1", "z", "2"],
      ["INCR", "n"],
      ["INCRBYFLOAT", "n", "0.5"],
      ["APPEND", "a", ""],
      ["SETRANGE", "a", "0", ""],
      ["STRLEN", "a"],
      ["GETRANGE", "nokey", "0", "1"],
      ["GETEX", "a"],
      ["GETEX", "a", "EX", "100"],
      ["GETDEL", "a"],
      ["GETSET", "a", "x"],
    ],
    [
      [0, 0, 1],
      [1, 0, 0],
      [0, 1, 0],
      [2, 1, 0],
      [1, 0, 1],
      [0, 0, 0],
      [0, 0, 0],
      [0, 0, 3],
      [0, 0, 0],
      [0, 0, 1],
      [0, 0, 1],
      [0, 0, 1],
      [0, 0, 0],
      [1, 0, 0],
      [0, 1, 0],
      [1, 0, 0],
      [1, 0, 1],
      [1, 0, 1],
      [0, 1, 1],
    ],
  );
});
