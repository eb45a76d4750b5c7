/**
 * RDB persistence modules: CRC64, LZF, the RDB writer and reader, their
 * round trips, damage detection, and interoperability with a real
 * redis-server 7.0 (loading our files, reading its files, redis-check-rdb).
 *
 * @module
 */

import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import fc from "fast-check";
import { Redis } from "ioredis";
import { Crc64, crc64, update } from "../src/persistence/crc64.ts";
import { lzfCompress, lzfDecompress } from "../src/persistence/lzf.ts";
import {
  encodeRdbString,
  keyspaceSource,
  rdbBytes,
  rdbChunks,
  type RdbDb,
  type RdbEntry,
  snapshotKeyspace,
} from "../src/persistence/rdb_writer.ts";
import { type RdbContents, RdbError, readRdb } from "../src/persistence/rdb_reader.ts";
import { Keyspace } from "../src/keyspace/keyspace.ts";
import { bytesOf, latin1 } from "../src/protocol/latin1.ts";
import { hasRedis, skipBecause, which, withRedis } from "./support/servers.ts";
import { RespConnection } from "./support/resp_connection.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const unhex = (s: string) => Uint8Array.from(s.match(/../g)!.map((h) => parseInt(h, 16)));

/** Bit-by-bit BigInt CRC64 (reflected Jones), the reference for the table version. */
function crc64Reference(bytes: Uint8Array): bigint {
  const poly = 0x95ac9329ac4bc9b5n; // 0xad93d23594c935a9 bit-reversed
  let crc = 0n;
  for (const b of bytes) {
    crc ^= BigInt(b);
    for (let k = 0; k < 8; k++) crc = crc & 1n ? (crc >> 1n) ^ poly : crc >> 1n;
  }
  return crc;
}

// ---------------------------------------------------------------- CRC64

Deno.test("crc64: check value and empty input", () => {
  strictEqual(crc64(enc("123456789")), 0xe9c6d914c4b8d9can);
  strictEqual(crc64(new Uint8Array(0)), 0n);
  strictEqual(crc64Reference(enc("123456789")), 0xe9c6d914c4b8d9can);
});

Deno.test("crc64: matches the BigInt reference and is incremental", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), (data, cut) => {
      const whole = crc64(data);
      strictEqual(whole, crc64Reference(data));
      const at = data.length === 0 ? 0 : cut % (data.length + 1);
      strictEqual(update(update(0n, data.subarray(0, at)), data.subarray(at)), whole);
      const c = new Crc64();
      for (let i = 0; i < data.length; i += 7) c.update(data.subarray(i, i + 7));
      strictEqual(c.value(), whole);
    }),
    { numRuns: 300 },
  );
});

// ---------------------------------------------------------------- LZF

/** A DUMP payload from Redis 7.0.15 of "a"*77 + "abc"*4: LZF string, RDB version 10, CRC64. */
const REDIS_DUMP = unhex("00c30e405901616" + "1e0430001626" + "3a0020162630a0097e0bf6794646339");
const REDIS_DUMP_VALUE = "a".repeat(77) + "abc".repeat(4);

Deno.test("lzf: decodes a string Redis compressed, and its DUMP checksum", () => {
  strictEqual(REDIS_DUMP[1], 0xc3);
  const clen = REDIS_DUMP[2], ulen = ((REDIS_DUMP[3] & 0x3f) << 8) | REDIS_DUMP[4];
  const out = lzfDecompress(REDIS_DUMP.subarray(5, 5 + clen), ulen);
  strictEqual(latin1(out), REDIS_DUMP_VALUE);
  const body = REDIS_DUMP.subarray(0, REDIS_DUMP.length - 8);
  const stored = new DataView(REDIS_DUMP.buffer).getBigUint64(REDIS_DUMP.length - 8, true);
  strictEqual(crc64(body), stored);
  // Our encoder produces the same bytes for this value.
  deepStrictEqual(hex(encodeRdbString(bytesOf(REDIS_DUMP_VALUE))), hex(body.subarray(1, 5 + clen)));
});

/** Byte arrays that compress: runs and repeats over a small alphabet, plus random noise. */
const compressible = fc.oneof(
  fc.uint8Array({ maxLength: 2000 }),
  fc.array(fc.constantFrom(97, 98, 99), { maxLength: 3000 }).map((a) => Uint8Array.from(a)),
  fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 400 }))
    .map(([u, n]) => {
      const out = new Uint8Array(u.length * n);
      for (let i = 0; i < n; i++) out.set(u, i * u.length);
      return out;
    }),
);

Deno.test("lzf: compress/decompress round trips (fast-check)", () => {
  fc.assert(
    fc.property(compressible, fc.integer({ min: -4, max: 100 }), (data, slack) => {
      const max = data.length + slack;
      const c = lzfCompress(data, max);
      if (c === null) return; // did not fit: allowed
      ok(c.length <= max, `compressed ${c.length} > limit ${max}`);
      deepStrictEqual(lzfDecompress(c, data.length), data);
    }),
    { numRuns: 500 },
  );
  // Generous room always succeeds (LZF's worst case is 1 + n + n/32 bytes).
  fc.assert(
    fc.property(compressible.filter((d) => d.length > 0), (data) => {
      const c = lzfCompress(data, data.length + Math.ceil(data.length / 32) + 4);
      ok(c !== null);
      deepStrictEqual(lzfDecompress(c, data.length), data);
    }),
    { numRuns: 300 },
  );
});

Deno.test("lzf: compresses long repeats and finds overlapping references", () => {
  const data = new Uint8Array(10000).fill(120);
  const c = lzfCompress(data, data.length - 4)!;
  ok(c.length < 200, `${c.length}`);
  deepStrictEqual(lzfDecompress(c, data.length), data);
});

Deno.test("lzf: malformed input throws", () => {
  throws(() => lzfDecompress(new Uint8Array([5, 1, 2]), 6), /truncated/); // literal run past the end
  throws(() => lzfDecompress(new Uint8Array([0x20, 0x00]), 3), /before the start/);
  throws(() => lzfDecompress(new Uint8Array([0, 65]), 2), /expands to 1 bytes/);
  throws(() => lzfDecompress(new Uint8Array([2, 65, 66, 67]), 2), /overflows/);
  throws(() => lzfDecompress(new Uint8Array([0, 65, 0x20]), 4), /truncated/);
});

// ---------------------------------------------------------------- writer and reader

const EDGE_VALUES: string[] = [
  "",
  "0",
  "-1",
  "-128",
  "127",
  "128",
  "-129",
  "-32768",
  "32767",
  "32768",
  "-32769",
  "2147483647",
  "2147483648",
  "-2147483648",
  "-2147483649",
  "007",
  "-0",
  "+1",
  " 1",
  "12345678901",
  "-1234567890",
  "9223372036854775807",
  "a".repeat(20),
  "a".repeat(21),
  "ab".repeat(500),
  "hello world ".repeat(100),
  String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i)),
];

/** The expected first bytes of a few encodings (rdbSaveRawString). */
const EXPECTED_ENCODING: [string, string][] = [
  ["", "00"],
  ["0", "c000"],
  ["-128", "c080"],
  ["127", "c07f"],
  ["128", "c18000"],
  ["-32768", "c10080"],
  ["32767", "c1ff7f"],
  ["32768", "c200800000"],
  ["2147483647", "c2ffffff7f"],
  ["2147483648", "0a" + hex(enc("2147483648"))],
  ["007", "03303037"],
  ["-0", "022d30"],
  ["12345678901", "0b" + hex(enc("12345678901"))],
  ["a".repeat(20), "14" + "61".repeat(20)],
];

Deno.test("rdb: string encodings follow rdbSaveRawString", () => {
  for (const [v, h] of EXPECTED_ENCODING) strictEqual(hex(encodeRdbString(bytesOf(v))), h, v);
  // Longer than 20 and compressible: LZF; with compression off: plain.
  strictEqual(encodeRdbString(bytesOf("a".repeat(21)))[0], 0xc3);
  strictEqual(encodeRdbString(bytesOf("a".repeat(21)), false)[0], 21);
  // Incompressible: plain even with compression on.
  const noise = bytesOf(
    String.fromCharCode(...Array.from({ length: 64 }, (_, i) => (i * 97) % 256)),
  );
  strictEqual(encodeRdbString(noise)[0], 64);
  // 14-bit and 32-bit lengths.
  strictEqual(hex(encodeRdbString(new Uint8Array(300), false).subarray(0, 2)), "412c");
  strictEqual(hex(encodeRdbString(new Uint8Array(70000), false).subarray(0, 5)), "8000011170");
});

/** A dataset in several dbs: every edge value as a key and as a value, some with TTLs. */
function edgeDataset(now: number): Map<number, RdbEntry[]> {
  const dbs = new Map<number, RdbEntry[]>();
  const put = (db: number, e: RdbEntry) => {
    if (!dbs.has(db)) dbs.set(db, []);
    dbs.get(db)!.push(e);
  };
  EDGE_VALUES.forEach((v, i) => {
    put(0, { key: `k${i}`, type: "string", value: bytesOf(v), expireAt: 0 });
    put(1, { key: v, type: "string", value: bytesOf(`key-${i}`), expireAt: 0 });
    put(3, { key: `ttl${i}`, type: "string", value: bytesOf(v), expireAt: now + 100000 + i });
  });
  put(15, { key: "past", type: "string", value: bytesOf("x"), expireAt: now - 5000 });
  put(15, { key: "far", type: "string", value: bytesOf("y"), expireAt: 2n ** 62n });
  return dbs;
}

function toSource(dbs: Map<number, RdbEntry[]>): RdbDb[] {
  return [...dbs].map(([index, entries]) => ({
    index,
    size: entries.length,
    expires: entries.filter((e) => e.expireAt !== 0).length,
    entries,
  }));
}

function assertSameData(got: RdbContents, want: Map<number, RdbEntry[]>, now: number) {
  deepStrictEqual([...got.dbs.keys()].sort(), [...want.keys()].sort());
  for (const [db, entries] of want) {
    const read = got.dbs.get(db)!;
    strictEqual(read.length, entries.length, `db ${db}`);
    entries.forEach((e, i) => {
      strictEqual(read[i].key, e.key);
      deepStrictEqual(read[i].value, e.value as Uint8Array);
      strictEqual(BigInt(read[i].expireAt), BigInt(e.expireAt));
      strictEqual(read[i].expired, e.expireAt !== 0 && BigInt(e.expireAt) <= BigInt(now));
    });
  }
}

Deno.test("rdb: writer -> reader round trip of edge values, compression and checksum on/off", () => {
  const now = Date.now();
  const data = edgeDataset(now);
  for (const compression of [true, false]) {
    for (const checksum of [true, false]) {
      const file = rdbBytes(toSource(data), { compression, checksum, ctime: 1700000000 });
      strictEqual(latin1(file.subarray(0, 9)), "REDIS0010");
      const got = readRdb(file, { now });
      strictEqual(got.version, 10);
      strictEqual(got.checksum, checksum ? "ok" : "absent");
      strictEqual(got.aux.get("redis-ver"), "7.0.15");
      strictEqual(got.aux.get("redis-bits"), "64");
      strictEqual(got.aux.get("ctime"), "1700000000");
      strictEqual(got.aux.get("aof-base"), "0");
      deepStrictEqual(got.resize.get(3), { size: EDGE_VALUES.length, expires: EDGE_VALUES.length });
      assertSameData(got, data, now);
    }
  }
});

Deno.test("rdb: random datasets round trip (fast-check)", () => {
  const entry = fc.record({
    key: fc.uint8Array({ maxLength: 30 }).map(latin1),
    value: fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.integer({ min: -3e9, max: 3e9 }).map((n) => bytesOf(String(n))),
      fc.string({ maxLength: 5 }).map((s) => bytesOf(s.repeat(20))),
    ),
    expireAt: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2 ** 45 })),
  });
  fc.assert(
    fc.property(fc.array(entry, { maxLength: 40 }), fc.integer({ min: 0, max: 15 }), (es, db) => {
      const unique = [...new Map(es.map((e) => [e.key, e])).values()]
        .map((e): RdbEntry => ({ ...e, type: "string" }));
      const data = new Map(unique.length ? [[db, unique]] : []);
      assertSameData(readRdb(rdbBytes(toSource(data)), { now: 1 }), data, 1);
    }),
    { numRuns: 200 },
  );
});

Deno.test("rdb: chunked output equals one-shot output; chunks are independent arrays", () => {
  const data = edgeDataset(1_000_000);
  const opts = { ctime: 1, chunkSize: 64 };
  const whole = rdbBytes(toSource(data), opts);
  const chunks = [...rdbChunks(toSource(data), opts)];
  ok(chunks.length > 10, `${chunks.length} chunks`);
  const joined = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let p = 0;
  for (const c of chunks) {
    joined.set(c, p);
    p += c.length;
  }
  deepStrictEqual(joined, whole);
});

Deno.test("rdb: writes a Keyspace (live and snapshot), skipping empty dbs", () => {
  const ks = new Keyspace(16);
  ks.dbs[0].set("a", "string", bytesOf("1"));
  ks.dbs[0].set("b", "string", bytesOf("x".repeat(100)));
  ks.dbs[0].setExpire("b", 4102444800000);
  ks.dbs[5].set("c", "string", new Uint8Array([0, 255, 13, 10]));
  ks.dbs[5].setExpire("c", 2n ** 60n);
  for (const src of [keyspaceSource(ks), snapshotKeyspace(ks)]) {
    const got = readRdb(rdbBytes(src), { now: 0 });
    deepStrictEqual([...got.dbs.keys()], [0, 5]);
    deepStrictEqual(got.resize.get(0), { size: 2, expires: 1 });
    deepStrictEqual(got.dbs.get(0)!.map((e) => [e.key, latin1(e.value), e.expireAt]), [
      ["a", "1", 0],
      ["b", "x".repeat(100), 4102444800000],
    ]);
    deepStrictEqual(got.dbs.get(5)![0].expireAt, 2n ** 60n);
    deepStrictEqual(got.dbs.get(5)![0].value, new Uint8Array([0, 255, 13, 10]));
  }
  // Non-string values are refused, not silently dropped.
  ks.dbs[2].set("l", "list", []);
  throws(() => rdbBytes(keyspaceSource(ks)), /cannot save key of type list/);
});

Deno.test("rdb: LRU/LFU info is written when asked and read back", () => {
  const e: RdbEntry = {
    key: "k",
    type: "string",
    value: bytesOf("v"),
    expireAt: 0,
    atime: 1000,
    freq: 7,
  };
  const src = () => toSource(new Map([[0, [e]]]));
  const lru = readRdb(rdbBytes(src(), { evictionInfo: "lru", now: 61000 }));
  strictEqual(lru.dbs.get(0)![0].idle, 60);
  const lfu = readRdb(rdbBytes(src(), { evictionInfo: "lfu" }));
  strictEqual(lfu.dbs.get(0)![0].freq, 7);
});

// ---------------------------------------------------------------- damage

function smallFile(): Uint8Array {
  const data = new Map<number, RdbEntry[]>([[0, [
    { key: "int", type: "string", value: bytesOf("12345"), expireAt: 0 },
    { key: "lzf", type: "string", value: bytesOf("abc".repeat(30)), expireAt: 0 },
  ]], [2, [{ key: "ttl", type: "string", value: bytesOf("plain"), expireAt: 4102444800000 }]]]);
  return rdbBytes(toSource(data), { ctime: 1700000000 });
}

Deno.test("rdb: a truncated file always throws an error naming the offset", () => {
  const file = smallFile();
  readRdb(file); // the whole file is fine
  for (let n = 0; n < file.length; n++) {
    throws(() => readRdb(file.subarray(0, n)), (e: unknown) => {
      ok(e instanceof RdbError, String(e));
      ok(/at byte offset \d+/.test(e.message), e.message);
      ok(e.offset <= n, `offset ${e.offset} beyond the cut ${n}`);
      return true;
    }, `cut at ${n}`);
  }
});

Deno.test("rdb: any flipped byte is detected (checksum or structure), naming the offset", () => {
  const file = smallFile();
  for (let i = 0; i < file.length; i++) {
    for (const mask of [0x01, 0x80, 0xff]) {
      const bad = file.slice();
      bad[i] ^= mask;
      throws(() => readRdb(bad), (e: unknown) => {
        ok(e instanceof RdbError, String(e));
        ok(/at byte offset \d+/.test(e.message), e.message);
        return true;
      }, `byte ${i} ^ ${mask}`);
    }
  }
});

Deno.test("rdb: header, version, opcode and encoding errors", () => {
  const file = smallFile();
  const withVersion = (v: string) => {
    const f = file.slice();
    f.set(bytesOf(v), 5);
    return f;
  };
  throws(
    () => readRdb(withVersion("0011")),
    /Can't handle RDB format version 11 \(at byte offset 5\)/,
  );
  throws(() => readRdb(withVersion("0000")), /Can't handle RDB format version 0/);
  throws(() => readRdb(bytesOf("RUDIS0010")), /Wrong signature/);
  // Unknown type / opcode after the header (checksum disabled so the structure is reached).
  const body = (tail: number[]) =>
    Uint8Array.from([...bytesOf("REDIS0010"), ...tail, 0xff, 0, 0, 0, 0, 0, 0, 0, 0]);
  throws(() => readRdb(body([0xf4])), /unknown \(244\) \(at byte offset 9\)/);
  throws(() => readRdb(body([0x06, 0x01, 0x6b])), /module \(6\).*offset 9/);
  throws(() => readRdb(body([0x00, 0xc4])), /Unknown string encoding 4.*offset 10/);
  throws(() => readRdb(body([0x00, 0x01, 0x6b, 0xc3, 0x02, 0x05, 0x00, 0x61])), /Invalid LZF/);
  throws(() => readRdb(body([0x00, 0x01, 0x6b, 0xc3, 0x01, 0x80, 0, 1, 0, 0, 0])), /cannot expand/);
  throws(
    () => readRdb(body([0x00, 0x01, 0x6b, 0x00, 0xfe, 0x00, 0x00, 0x01, 0x6b, 0x00])),
    /Duplicated key found in RDB file: 'k' in DB 0 \(at byte offset 16\)/,
  );
  // With onKey, keys are streamed (duplicates are then the caller's to detect).
  const streamed: [number, string][] = [];
  const dup = readRdb(body([0x00, 0x01, 0x6b, 0x00, 0xfe, 0x03, 0x00, 0x01, 0x6b, 0x00]), {
    onKey: (db, key) => streamed.push([db, key]),
  });
  deepStrictEqual(streamed, [[0, "k"], [3, "k"]]);
  strictEqual(dup.dbs.size, 0);
  // A file without checksum loads with a warning; bytes after the end are ignored with one.
  const ok0 = readRdb(body([0x00, 0x01, 0x6b, 0x01, 0x76]));
  strictEqual(ok0.checksum, "absent");
  deepStrictEqual(ok0.dbs.get(0)!.map((e) => [e.key, latin1(e.value)]), [["k", "v"]]);
  const extra = readRdb(Uint8Array.from([...file, 1, 2]));
  ok(extra.warnings.some((w) => w.includes("2 bytes after the end")));
  // Old versions: 0xFD seconds expiry, no checksum before version 5.
  const v4 = Uint8Array.from([
    ...bytesOf("REDIS0004"),
    0xfd,
    ...[0x10, 0, 0, 0],
    0x00,
    0x01,
    0x6b,
    0x01,
    0x76,
    0xff,
  ]);
  const old = readRdb(v4, { now: 0 });
  strictEqual(old.checksum, "none");
  strictEqual(old.dbs.get(0)![0].expireAt, 16000);
});

Deno.test("rdb: older and rarer types and opcodes are skipped and reported", () => {
  const str = (t: string) => [t.length, ...bytesOf(t)];
  const file = Uint8Array.from([
    ...bytesOf("REDIS0009"),
    ...[0xf5, ...str("#!lua name=lib\n")], // a function library
    ...[0xf7, 0x05, 0x02, 0x02, 0x02, 0x01, 0x00], // module AUX: id 5, when 2, one UINT, EOF
    ...[0x01, ...str("a"), 0x02, ...str("x"), ...str("y")], // list
    ...[0x03, ...str("b"), 0x02, ...str("m"), ...str("1.5"), ...str("n"), 0xfe], // zset, ASCII scores
    ...[0x0a, ...str("c"), ...str("\x03\x00\x01\x02")], // ziplist blob
    ...[0x0e, ...str("d"), 0x01, ...str("zl")], // quicklist
    ...[
      0x07,
      ...str("e"),
      0x09,
      0x02,
      0x05,
      0x05,
      ...str("zz"),
      0x04,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0x00,
    ],
    ...[0x0f, ...str("f"), 0x00, 0x00, 0x00, 0x00, 0x00], // empty stream, version 1
    ...[0x00, ...str("g"), ...str("h")],
    0xff,
    ...[0, 0, 0, 0, 0, 0, 0, 0],
  ]);
  const got = readRdb(file);
  deepStrictEqual(got.skipped.map((s) => [s.key, s.type]), [
    ["a", 1],
    ["b", 3],
    ["c", 10],
    ["d", 14],
    ["e", 7],
    ["f", 15],
  ]);
  deepStrictEqual(got.dbs.get(0)!.map((e) => [e.key, latin1(e.value)]), [["g", "h"]]);
  strictEqual(got.warnings.length, 3); // function, module AUX, no checksum
});

Deno.test("rdb: the reader fails only with RdbError on random damage (no checksum to hide behind)", () => {
  const data = edgeDataset(1000);
  const file = rdbBytes(toSource(data), { checksum: false });
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
        minLength: 1,
        maxLength: 4,
      }),
      fc.nat(),
      (flips, cut) => {
        const bad = file.slice(0, file.length - (cut % 3 === 0 ? cut % 50 : 0));
        for (const [at, v] of flips) bad[9 + (at % (bad.length - 9))] = v;
        try {
          readRdb(bad);
        } catch (e) {
          ok(e instanceof RdbError, String(e));
        }
      },
    ),
    { numRuns: 3000 },
  );
});

// ---------------------------------------------------------------- interop with redis-server

function skipNoRedis(): boolean {
  if (!hasRedis) return skipBecause("redis-server is not installed");
  return false;
}

async function call(c: RespConnection, ...args: (string | Uint8Array)[]) {
  const r = await c.call(args.map((a) => typeof a === "string" ? bytesOf(a) : a));
  if (r.value.type === "error") throw new Error(r.value.value);
  return r.value;
}

Deno.test("interop: redis-server loads our RDB file (keys, values, TTLs, dbs)", async () => {
  if (skipNoRedis()) return;
  const now = Date.now();
  const data = edgeDataset(now);
  const dir = await Deno.makeTempDir({ prefix: "rdb-interop-" });
  try {
    const file = rdbBytes(toSource(data));
    await Deno.writeFile(`${dir}/dump.rdb`, file);
    const checker = which("redis-check-rdb");
    if (checker) {
      const r = await new Deno.Command(checker, { args: [`${dir}/dump.rdb`] }).output();
      const out = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
      ok(r.success && out.includes("RDB looks OK!"), out);
    } else skipBecause("redis-check-rdb is not installed");
    await withRedis(["--dir", dir, "--dbfilename", "dump.rdb"], async (srv) => {
      ok(srv.output().includes("DB loaded from disk"), srv.output());
      // Redis (a primary) drops the key that had already expired when loading.
      ok(srv.output().includes("keys expired: 1."), srv.output());
      const c = await RespConnection.connect(srv.port);
      try {
        for (const [db, all] of data) {
          const entries = all.filter((e) => e.key !== "past");
          await call(c, "SELECT", String(db));
          const size = await call(c, "DBSIZE");
          deepStrictEqual(size, { type: "integer", value: BigInt(entries.length) });
          for (const e of entries) {
            const v = await call(c, "GET", bytesOf(e.key));
            deepStrictEqual(v, { type: "bulk", value: e.value }, `db ${db} key ${e.key}`);
            const t = await call(c, "PEXPIRETIME", bytesOf(e.key));
            deepStrictEqual(t, {
              type: "integer",
              value: e.expireAt === 0 ? -1n : BigInt(e.expireAt),
            });
          }
        }
      } finally {
        await c.close();
      }
      // And with another real client.
      const io = new Redis({ port: srv.port, db: 3, lazyConnect: false, maxRetriesPerRequest: 1 });
      try {
        const v = await io.getBuffer("ttl26");
        deepStrictEqual(new Uint8Array(v!), bytesOf(EDGE_VALUES[26]));
        const ttl = await io.pttl("ttl26");
        ok(ttl > 90_000 && ttl <= 100_026, String(ttl));
      } finally {
        await io.quit();
      }
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("interop: string encodings are byte-identical to Redis' DUMP payloads", async () => {
  if (skipNoRedis()) return;
  await withRedis([], async (srv) => {
    const c = await RespConnection.connect(srv.port);
    try {
      const values = [...EDGE_VALUES, "x".repeat(21), "0123456789".repeat(30)];
      for (const v of values) {
        await call(c, "SET", "k", bytesOf(v));
        const dump = await call(c, "DUMP", "k");
        ok(dump.type === "bulk" && dump.value);
        const payload = dump.value.subarray(0, dump.value.length - 10); // minus version and CRC
        deepStrictEqual(hex(payload), "00" + hex(encodeRdbString(bytesOf(v))), JSON.stringify(v));
        strictEqual(
          crc64(dump.value.subarray(0, dump.value.length - 8)),
          new DataView(dump.value.buffer, dump.value.byteOffset).getBigUint64(
            dump.value.length - 8,
            true,
          ),
        );
      }
    } finally {
      await c.close();
    }
  });
});

Deno.test("interop: our reader reads the dump.rdb redis-server saves", async () => {
  if (skipNoRedis()) return;
  // Small listpack limits, so big hashes and zsets are saved in their plain types (4, 5).
  const limits = ["--hash-max-listpack-entries", "64", "--zset-max-listpack-entries", "64"];
  await withRedis(limits, async (srv) => {
    const c = await RespConnection.connect(srv.port);
    const want = new Map<number, Map<string, { value: Uint8Array; expireAt: bigint }>>();
    try {
      const far = BigInt(Date.now()) + 3_600_000n;
      let n = 0;
      for (const db of [0, 1, 7, 15]) {
        await call(c, "SELECT", String(db));
        const m = new Map<string, { value: Uint8Array; expireAt: bigint }>();
        want.set(db, m);
        const values = [
          ...EDGE_VALUES,
          "compress me ".repeat(50),
          String(db * 1000 + 17),
          "x".repeat(5000),
        ];
        for (const v of values) {
          const key = `db${db}:${n++}:${v.slice(0, 5)}`;
          const expireAt = n % 3 === 0 ? far + BigInt(n) : 0n;
          await call(c, "SET", bytesOf(key), bytesOf(v));
          if (expireAt) await call(c, "PEXPIREAT", bytesOf(key), String(expireAt));
          m.set(key, { value: bytesOf(v), expireAt });
        }
        // An integer-encoded value object (INCR) and keys that look like integers.
        await call(c, "SET", "123", "-5");
        await call(c, "INCRBY", "123", "100000");
        m.set("123", { value: bytesOf("99995"), expireAt: 0n });
      }
      // Other types are skipped and reported, in db 2.
      await call(c, "SELECT", "2");
      await call(c, "RPUSH", "list", "a", "b", "1");
      await call(c, "SADD", "intset", "1", "2", "3");
      await call(
        c,
        "SADD",
        "set",
        "a",
        ..."abcdefghijklmnopqrstuvwxyz".repeat(6).split("").map((x, i) => x + i),
      );
      await call(c, "HSET", "hash", "f", "v");
      await call(c, "ZADD", "zset", "1.5", "m");
      await call(c, "XADD", "stream", "*", "f", "v");
      await call(c, "XGROUP", "CREATE", "stream", "g", "0");
      await call(c, "XREADGROUP", "GROUP", "g", "alice", "COUNT", "1", "STREAMS", "stream", ">");
      const many = Array.from({ length: 200 }, (_, i) => `m${i}`);
      await call(c, "HSET", "bighash", ...many.flatMap((m) => [m, m + "v"]));
      await call(c, "ZADD", "bigzset", ...many.flatMap((m, i) => [String(i / 3), m]));
      await call(c, "RPUSH", "biglist", ...Array.from({ length: 20000 }, (_, i) => `e${i}`));
      await call(c, "SET", "afterall", "still read");
      await call(c, "CONFIG", "SET", "rdbcompression", "yes");
      await call(c, "SAVE");
    } finally {
      await c.close();
    }
    const file = await Deno.readFile(`${srv.dir}/dump.rdb`);
    const got = readRdb(file);
    strictEqual(got.version, 10);
    strictEqual(got.checksum, "ok");
    strictEqual(got.aux.get("redis-ver"), "7.0.15");
    strictEqual(got.aux.get("aof-base"), "0");
    for (const [db, m] of want) {
      const entries = got.dbs.get(db)!;
      strictEqual(entries.length, m.size, `db ${db}`);
      for (const e of entries) {
        const w = m.get(e.key);
        ok(w, `unexpected key ${e.key}`);
        deepStrictEqual(e.value, w.value, e.key);
        strictEqual(BigInt(e.expireAt), w.expireAt, e.key);
        strictEqual(e.expired, false);
      }
    }
    deepStrictEqual(got.dbs.get(2)!.map((e) => [e.key, latin1(e.value)]), [[
      "afterall",
      "still read",
    ]]);
    deepStrictEqual(
      got.skipped.map((s) => [s.db, s.key, s.typeName]).sort(),
      [
        [2, "bighash", "hash (4)"],
        [2, "biglist", "list_quicklist_2 (18)"],
        [2, "bigzset", "zset_2 (5)"],
        [2, "hash", "hash_listpack (16)"],
        [2, "intset", "set_intset (11)"],
        [2, "list", "list_quicklist_2 (18)"],
        [2, "set", "set (2)"],
        [2, "stream", "stream_listpacks_2 (19)"],
        [2, "zset", "zset_listpack (17)"],
      ],
    );
    // Damage anywhere (checksum zeroed so the skipping parsers are exercised): only RdbError.
    const unchecked = file.slice();
    unchecked.fill(0, unchecked.length - 8);
    strictEqual(readRdb(unchecked).checksum, "absent");
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat(), (at, v, cut) => {
        const bad = unchecked.slice(0, unchecked.length - (cut % 2 ? 0 : cut % 100));
        bad[9 + (at % (bad.length - 9))] = v;
        try {
          readRdb(bad);
        } catch (e) {
          ok(e instanceof RdbError, String(e));
        }
      }),
      { numRuns: 3000 },
    );
  });
});

Deno.test("interop: redis-server with rdbchecksum no, rdbcompression no", async () => {
  if (skipNoRedis()) return;
  await withRedis(["--rdbchecksum", "no", "--rdbcompression", "no"], async (srv) => {
    const c = await RespConnection.connect(srv.port);
    try {
      await call(c, "SET", "long", "y".repeat(500));
      await call(c, "SAVE");
    } finally {
      await c.close();
    }
    const file = await Deno.readFile(`${srv.dir}/dump.rdb`);
    const got = readRdb(file);
    strictEqual(got.checksum, "absent");
    strictEqual(latin1(got.dbs.get(0)![0].value), "y".repeat(500));
    // Our writer with the same settings stores the value plainly too.
    ok(
      latin1(rdbBytes(
        toSource(
          new Map([[0, [{
            key: "long",
            type: "string",
            value: bytesOf("y".repeat(500)),
            expireAt: 0,
          }]]]),
        ),
        { compression: false, checksum: false },
      )).includes("y".repeat(500)),
    );
  });
});

Deno.test("interop: our file is byte-identical to Redis' SAVE of the same data", async () => {
  if (skipNoRedis()) return;
  // One key per database, so the order of keys within a db cannot differ.
  const values: [string, string, bigint][] = [
    ["plain", "hello", 0n],
    ["-32768", "2147483647", 0n],
    ["lzf:key:" + "k".repeat(30), "abcabcabc ".repeat(40), 4102444800123n],
    ["bin", String.fromCharCode(...Array.from({ length: 256 }, (_, i) => 255 - i)), 0n],
    ["int", "12345678901", 4102444800000n],
    ["", "a".repeat(21), 0n],
  ];
  await withRedis([], async (srv) => {
    const c = await RespConnection.connect(srv.port);
    try {
      for (const [i, [k, v, t]] of values.entries()) {
        await call(c, "SELECT", String(i * 2));
        await call(c, "SET", bytesOf(k), bytesOf(v));
        if (t) await call(c, "PEXPIREAT", bytesOf(k), String(t));
      }
      await call(c, "SAVE");
    } finally {
      await c.close();
    }
    const theirs = await Deno.readFile(`${srv.dir}/dump.rdb`);
    const aux = readRdb(theirs).aux;
    const src: RdbDb[] = values.map(([k, v, t], i) => ({
      index: i * 2,
      size: 1,
      expires: t ? 1 : 0,
      entries: [{ key: k, type: "string", value: bytesOf(v), expireAt: t }],
    }));
    const ours = rdbBytes(src, {
      ctime: Number(aux.get("ctime")),
      usedMem: Number(aux.get("used-mem")),
    });
    strictEqual(hex(ours), hex(theirs));
  });
});
