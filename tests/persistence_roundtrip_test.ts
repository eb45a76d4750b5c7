/**
 * One dataset of edge values (empty and binary keys and values, every
 * integer-encoding boundary of the RDB format, strings that look like
 * integers but are not, long compressible and incompressible values,
 * millisecond TTLs, several databases) round-trips through every way this
 * server persists it: RDB, AOF as commands, AOF with an RDB preamble base,
 * AOF with a command base. Where redis-server is installed, it loads each
 * of our files, and this server loads each of its files, with the same
 * result.
 *
 * @module
 */

import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { hasRedis, skipBecause, withRedis, withServer } from "./support/servers.ts";
import { RespConnection } from "./support/resp_connection.ts";
import type { RespValue } from "./support/resp.ts";
import { withTempDir } from "./support/files.ts";
import { eventually } from "./support/pubsub.ts";

const enc = new TextEncoder();
const bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** Strings at and around the INT8/INT16/INT32 encodings, and near-integers that must stay strings. */
const INTEGERISH = [
  "0",
  "-1",
  "127",
  "128",
  "-128",
  "-129",
  "32767",
  "32768",
  "-32768",
  "-32769",
  "2147483647",
  "2147483648",
  "-2147483648",
  "-2147483649",
  "9223372036854775807",
  "-9223372036854775808",
  "99999999999999999999",
  "007",
  "+1",
  "-0",
  " 1",
  "1 ",
  "1.5",
  "0x10",
];

/** A far-future absolute expiry (ms): never reached during the test. */
const FAR = 32503680000000;

interface Item {
  db: number;
  key: Uint8Array;
  value: Uint8Array;
  /** Absolute expiry in ms, or -1 for none. */
  pexpireat: number;
}

function dataset(): Item[] {
  const items: Item[] = [];
  const add = (db: number, key: Uint8Array, value: Uint8Array, pexpireat = -1) =>
    items.push({ db, key, value, pexpireat });
  INTEGERISH.forEach((v, i) => add(0, bytes(`int:${i}`), bytes(v)));
  INTEGERISH.forEach((v, i) => add(1, bytes(v), bytes(`key-is-integerish:${i}`)));
  add(0, new Uint8Array(), bytes("empty key"));
  add(0, bytes("empty value"), new Uint8Array());
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  add(0, all, all);
  add(0, bytes("crlf\r\n\x00key"), bytes("\r\n\x00\xff"));
  add(0, bytes("compressible"), enc.encode("abc".repeat(40_000)));
  let seed = 7;
  const noise = Uint8Array.from(
    { length: 5000 },
    () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24,
  );
  add(0, bytes("incompressible"), noise);
  add(0, bytes("ttl:ms"), bytes("v"), FAR + 123);
  add(1, bytes("ttl:other-db"), bytes("v"), FAR + 1);
  add(15, bytes("last-db"), bytes("fifteen"), FAR + 999);
  return items;
}

/** Writes the dataset: SET, then PEXPIREAT for keys with a TTL. */
async function write(port: number, items: Item[]): Promise<void> {
  const c = await RespConnection.connect(port);
  try {
    for (const it of items) {
      await c.call(["SELECT", String(it.db)]);
      strictEqual((await c.call(["SET", it.key, it.value])).value.type, "simple");
      if (it.pexpireat >= 0) await c.call(["PEXPIREAT", it.key, String(it.pexpireat)]);
    }
  } finally {
    await c.close();
  }
}

function bulk(v: RespValue): Uint8Array {
  if (v.type !== "bulk" || v.value === null) throw new Error(`expected a bulk, got ${v.type}`);
  return v.value;
}

/** Every key of dbs 0–15 as `db/hex(key)` → `hex(value) pexpiretime`, sorted. */
async function contents(port: number): Promise<string[]> {
  const c = await RespConnection.connect(port);
  const out: string[] = [];
  try {
    for (let db = 0; db < 16; db++) {
      await c.call(["SELECT", String(db)]);
      const keys = (await c.call(["KEYS", "*"])).value;
      if (keys.type !== "array" || keys.value === null) throw new Error("KEYS failed");
      for (const k of keys.value) {
        const key = bulk(k);
        const value = bulk((await c.call(["GET", key])).value);
        const at = (await c.call(["PEXPIRETIME", key])).value;
        out.push(`${db}/${hex(key)} ${hex(value)} ${at.type === "integer" ? at.value : "?"}`);
      }
    }
  } finally {
    await c.close();
  }
  return out.sort();
}

function expected(items: Item[]): string[] {
  return items.map((it) => `${it.db}/${hex(it.key)} ${hex(it.value)} ${it.pexpireat}`).sort();
}

/** Runs `command` and waits until the background job it starts is over. */
async function background(port: number, command: string, field: string): Promise<void> {
  const c = await RespConnection.connect(port);
  try {
    await c.call([command]);
    await eventually(
      async () => {
        const info = (await c.call(["INFO", "persistence"])).value;
        const text = new TextDecoder().decode(bulk(info));
        return text.includes(`${field}:0\r\n`);
      },
      `${command} to finish`,
      30000,
    );
  } finally {
    await c.close();
  }
}

const SAVE = ["--save", "", "--appendonly", "no"];
const AOF = ["--save", "", "--appendonly", "yes"];

Deno.test("round trip: edge values survive RDB, AOF commands, AOF preamble and command bases", async () => {
  const items = dataset();
  const want = expected(items);
  // RDB.
  await withTempDir("roundtrip-rdb-", async (dir) => {
    await withServer([...SAVE, "--dir", dir], async (srv) => {
      await write(srv.port, items);
      deepStrictEqual(await contents(srv.port), want, "as written");
      const c = await RespConnection.connect(srv.port);
      strictEqual((await c.call(["SAVE"])).value.type, "simple");
      await c.close();
    });
    await withServer([...SAVE, "--dir", dir], async (srv) => {
      deepStrictEqual(await contents(srv.port), want, "RDB");
    });
  });
  // AOF: commands in the incr file, then an RDB-preamble base, then a command base.
  await withTempDir("roundtrip-aof-", async (dir) => {
    await withServer([...AOF, "--dir", dir], (srv) => write(srv.port, items));
    await withServer([...AOF, "--dir", dir], async (srv) => {
      deepStrictEqual(await contents(srv.port), want, "AOF commands");
      await background(srv.port, "BGREWRITEAOF", "aof_rewrite_in_progress");
    });
    await withServer([...AOF, "--dir", dir, "--aof-use-rdb-preamble", "no"], async (srv) => {
      deepStrictEqual(await contents(srv.port), want, "AOF with an RDB base");
      await background(srv.port, "BGREWRITEAOF", "aof_rewrite_in_progress");
    });
    await withServer([...AOF, "--dir", dir], async (srv) => {
      deepStrictEqual(await contents(srv.port), want, "AOF with a command base");
    });
  });
});

Deno.test("round trip: redis-server loads our RDB and AOF of edge values, and we load its own", async () => {
  if (!hasRedis) return void skipBecause("redis-server not installed");
  const items = dataset();
  const want = expected(items);
  for (const [mode, args] of [["RDB", SAVE], ["AOF", AOF]] as const) {
    // Ours → redis-server (the AOF: commands in the incr file, over an empty base).
    await withTempDir("roundtrip-ours-", async (dir) => {
      await withServer([...args, "--dir", dir], async (srv) => {
        await write(srv.port, items);
        if (mode === "RDB") await background(srv.port, "BGSAVE", "rdb_bgsave_in_progress");
      });
      await withRedis([...args, "--dir", dir], async (srv) => {
        deepStrictEqual(await contents(srv.port), want, `redis-server loading our ${mode}`);
      });
    });
    // redis-server → ours (its AOF after a rewrite: RDB-preamble base, then commands).
    await withTempDir("roundtrip-redis-", async (dir) => {
      await withRedis([...args, "--dir", dir], async (srv) => {
        await write(srv.port, items.slice(0, 20));
        if (mode === "AOF") await background(srv.port, "BGREWRITEAOF", "aof_rewrite_in_progress");
        await write(srv.port, items.slice(20));
        if (mode === "RDB") await background(srv.port, "BGSAVE", "rdb_bgsave_in_progress");
      });
      await withServer([...args, "--dir", dir], async (srv) => {
        deepStrictEqual(await contents(srv.port), want, `loading redis-server's ${mode}`);
      });
    });
  }
});
