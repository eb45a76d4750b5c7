/**
 * The copy-on-write snapshot behind BGSAVE and the AOF rewrite base
 * (`DbSnapshot`, `snapshotKeyspace`): a save read in slices while writes
 * keep coming must hold exactly the dataset of the instant it started.
 *
 * Unit tests drive `Database` directly with seeded random writes between
 * small chunks (every kind of mutation, on keys already read and not yet
 * read); integration tests run BGSAVE and BGREWRITEAOF on a real server over
 * 200k keys while clients overwrite, delete, expire, rename, move, swap and
 * flush, then parse the file written.
 *
 * @module
 */

import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import type { Redis } from "ioredis";
import { Keyspace } from "../src/keyspace/keyspace.ts";
import { type Database, expireTime, StringEncoding } from "../src/keyspace/database.ts";
import { rdbChunks, snapshotKeyspace } from "../src/persistence/rdb_writer.ts";
import { readRdb } from "../src/persistence/rdb_reader.ts";
import { bytesOf, latin1 } from "../src/protocol/latin1.ts";
import { withServer } from "./support/servers.ts";
import { infoField, withClient } from "./support/clients.ts";

/** `db/key` → [value, expiry] for every entry of a keyspace (expired ones included). */
function dumpKeyspace(ks: Keyspace): Map<string, [string, number | bigint]> {
  const out = new Map<string, [string, number | bigint]>();
  for (const db of ks.dbs) {
    for (const [k, e] of db.dict) {
      out.set(`${db.id}/${k}`, [latin1(e.value as Uint8Array), expireTime(e)]);
    }
  }
  return out;
}

/** The same map read back from an RDB file (nothing dropped as expired). */
function dumpFile(file: Uint8Array): Map<string, [string, number | bigint]> {
  const out = new Map<string, [string, number | bigint]>();
  for (const [db, entries] of readRdb(file, { now: 0 }).dbs) {
    for (const e of entries) out.set(`${db}/${e.key}`, [latin1(e.value), e.expireAt]);
  }
  return out;
}

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Snapshot bookkeeping still attached to a database (test-only peek at a private field). */
function attached(db: Database): number {
  return (db as unknown as { snapshots: unknown[] }).snapshots.length;
}

/** A keyspace of three filled databases, with TTLs (one far beyond 2^53 ms) and expired keys. */
function filledKeyspace(): Keyspace {
  const ks = new Keyspace(4);
  const sizes = [3000, 400, 200, 0];
  for (const db of ks.dbs) {
    for (let i = 0; i < sizes[db.id]; i++) {
      const k = `k${i}`;
      db.set(k, "string", bytesOf(i % 7 === 0 ? String(i) : `v${db.id}-${i}-`.padEnd(30, "x")));
      if (i % 5 === 0) db.setExpire(k, 4102444800000 + i);
      if (i % 97 === 0) db.setExpire(k, 2n ** 60n + BigInt(i));
      // Already expired, not yet reclaimed: saved as is, lazily deleted during the save.
      if (i % 89 === 0) db.setExpire(k, 1000 + i);
    }
  }
  return ks;
}

/** One random write of any kind, on any database, to a key read or not yet read. */
function randomWrite(ks: Keyspace, rand: () => number, step: number): void {
  const db = ks.dbs[Math.floor(rand() * 3)];
  const key = `k${Math.floor(rand() * 3200)}`;
  const other = ks.dbs[Math.floor(rand() * 4)];
  const op = Math.floor(rand() * 1000);
  const e = db.peek(key);
  if (op < 200) db.set(key, "string", bytesOf(`new-${step}`), rand() < 0.5);
  else if (op < 320) db.delete(key);
  else if (op < 420) {
    if (e !== undefined) db.setExpire(key, rand() < 0.3 ? 0 : Date.now() + 100000 + step);
  } else if (op < 500) {
    if (e !== undefined) db.replaceValue(key, e, bytesOf(`incr-${step}`), StringEncoding.Auto);
  } else if (op < 600) {
    // RENAME as keys.ts does it: insert under the new name, delete the old one.
    const dst = `k${Math.floor(rand() * 3200)}`;
    if (e !== undefined && dst !== key) {
      db.insert(dst, e);
      db.delete(key);
    }
  } else if (op < 680) {
    // MOVE.
    if (e !== undefined && other !== db && !other.has(key)) {
      other.insert(key, e);
      db.delete(key);
    }
  } else if (op < 760) {
    // Lazy expiry of a key made (or already) expired.
    if (e !== undefined) db.setExpire(key, 1);
    db.get(key);
  } else if (op < 820) db.expireSample(20);
  else if (op < 930) db.set(`fresh-${step}`, "string", bytesOf("fresh"));
  else if (op < 970) ks.swap(Math.floor(rand() * 4), Math.floor(rand() * 4));
  else if (op < 993) {
    // Most keys deleted at once: would compact the creation index under the reader.
    for (let i = 0; i < 3200; i++) if (i % 4 !== 0) db.delete(`k${i}`);
  } else if (op < 996) ks.flushDb(db);
  else ks.flushAll();
}

Deno.test("cow snapshot: a save read in slices holds the keyspace of its instant, whatever writes interleave", () => {
  for (let seed = 1; seed <= 25; seed++) {
    const ks = filledKeyspace();
    const rand = rng(seed);
    const expected = dumpKeyspace(ks);
    const expires0 = ks.dbs[0].volatile.size;
    const snap = snapshotKeyspace(ks);
    const chunks: Uint8Array[] = [];
    let step = 0;
    // Tiny chunks: the writes land between almost every pair of keys read.
    for (const c of rdbChunks(snap, { chunkSize: 64 + Math.floor(rand() * 512), ctime: 1 })) {
      chunks.push(c);
      const writes = Math.floor(rand() * 4);
      for (let i = 0; i < writes; i++) randomWrite(ks, rand, step++);
    }
    const file = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunks) {
      file.set(c, at);
      at += c.length;
    }
    deepStrictEqual(dumpFile(file), expected, `seed ${seed}`);
    const resize = readRdb(file, { now: 0 }).resize;
    deepStrictEqual(resize.get(0), { size: 3000, expires: expires0 }, `seed ${seed}`);
    ok(step > 100, `seed ${seed}: only ${step} writes interleaved`);
    // Read to the end: nothing stays attached (and the index may compact again).
    for (const db of ks.dbs) strictEqual(attached(db), 0, `seed ${seed} db ${db.id}`);
  }
});

Deno.test("cow snapshot: keeps before-images only of keys not read yet, and release detaches", () => {
  const ks = new Keyspace(2);
  const db = ks.dbs[0];
  for (let i = 0; i < 100; i++) db.set(`k${i}`, "string", bytesOf(`v${i}`));
  const dbSnap = db.snapshot();
  strictEqual(attached(db), 1);
  strictEqual(attached(ks.dbs[1]), 0, "an empty database is not followed");
  const read: string[] = [];
  for (let i = 0; i < 50; i++) {
    const e = dbSnap.next()!;
    read.push(`${dbSnap.key}=${latin1(e.value as Uint8Array)}`);
  }
  const kept = (dbSnap as unknown as { kept: Map<number, unknown> }).kept;
  db.set("k10", "string", bytesOf("late")); // already read: nothing kept
  strictEqual(kept.size, 0);
  db.set("k60", "string", bytesOf("late")); // not read yet: its before-image is kept
  db.set("k60", "string", bytesOf("later")); // kept once, the first time
  db.delete("k61");
  db.set("brand-new", "string", bytesOf("new")); // created after the instant: never read
  strictEqual(kept.size, 2);
  for (let e = dbSnap.next(); e !== null; e = dbSnap.next()) {
    read.push(`${dbSnap.key}=${latin1(e.value as Uint8Array)}`);
  }
  deepStrictEqual(read, Array.from({ length: 100 }, (_, i) => `k${i}=v${i}`));
  strictEqual(attached(db), 0);

  // While attached, deletes leave holes (slots are read by position); once
  // released early (a cancelled save), the index compacts again.
  const slots = () => (db as unknown as { order: unknown[] }).order.length;
  const early = snapshotKeyspace(ks);
  strictEqual(attached(db), 1);
  db.delete("brand-new");
  for (let i = 0; i < 80; i++) db.delete(`k${i}`);
  strictEqual(slots(), 101);
  early.release();
  strictEqual(attached(db), 0);
  for (let i = 80; i < 100; i++) db.delete(`k${i}`);
  strictEqual(db.size, 0);
  ok(slots() < 64, `${slots()} slots left`);
});

// ---------------------------------------------------------------------------
// On a real server: 200k keys, so the save spans many event-loop turns.

const N = 200_000;
const value = (i: number) => `value-${i}-`.padEnd(24, "v");

/** Fills db 0 (N keys, every 10th with a TTL, counters), db 1 and db 2 (1000 keys each). */
async function fill(r: Redis): Promise<void> {
  for (let i = 0; i < N; i += 5000) {
    const args: string[] = [];
    for (let j = i; j < i + 5000; j++) args.push(`key:${j}`, value(j));
    await r.mset(...args);
  }
  const p = r.pipeline();
  for (let i = 0; i < N; i += 10) p.pexpireat(`key:${i}`, 4102444800000 + i);
  for (let i = 0; i < 100; i++) p.set(`counter:${i}`, String(i));
  for (const db of [1, 2]) {
    p.select(db);
    for (let i = 0; i < 1000; i++) p.set(`d${db}:${i}`, `${db}-${i}`);
  }
  p.select(0);
  await p.exec();
}

/** The whole dataset, as `db/key` → [value, expiry], read through the server. */
async function datasetOf(r: Redis): Promise<Map<string, [string, number | bigint]>> {
  const out = new Map<string, [string, number | bigint]>();
  for (const db of [0, 1, 2, 3]) {
    await r.select(db);
    const keys = await r.keys("*");
    const p = r.pipeline();
    for (const k of keys) p.get(k).pexpiretime(k);
    const res = await p.exec();
    keys.forEach((k, i) => {
      const t = res![2 * i + 1][1] as number;
      out.set(`${db}/${k}`, [res![2 * i][1] as string, t < 0 ? 0 : t]);
    });
  }
  await r.select(0);
  return out;
}

/**
 * Every kind of write, on keys early in creation order (read soon), late
 * (read last) and in other databases: overwrites, DEL, EXPIRE / PERSIST /
 * an expiry that fires, INCR / APPEND / SETRANGE, RENAME, MOVE, SWAPDB and
 * FLUSHDB. `round` varies the keys touched.
 */
function writeRound(p: ReturnType<Redis["pipeline"]>, round: number): void {
  const early = 1 + round * 7;
  const late = N - 1 - round * 7;
  for (const i of [early, late, N / 2 + round]) {
    p.set(`key:${i}`, `overwritten-${round}`);
    p.del(`key:${i + 1}`);
    p.expire(`key:${i + 2}`, 1000);
    p.persist(`key:${i + 10 - (i % 10)}`);
    p.pexpire(`key:${i + 3}`, 1); // expires: lazily or actively deleted
    p.append(`key:${i + 4}`, "-appended");
    p.setrange(`key:${i + 5}`, 2, "XX");
    p.rename(`key:${i + 6}`, `renamed:${round}:${i}`);
    p.move(`key:${i + 7}`, 3);
    p.set(`created:${round}:${i}`, "new");
  }
  p.incr(`counter:${round}`);
  p.incrbyfloat(`counter:${round + 50}`, 0.5);
  p.rename(`key:${early + 20}`, `key:${late - 20}`); // over an existing key not read yet
  // db 1's content moves to db 3 and is changed there; db 1 gets new keys.
  p.swapdb(1, 3);
  p.select(3);
  p.del(`d1:${round}`);
  p.set(`d1:${round + 1}`, "changed");
  p.select(1);
  p.set("in-swapped-db", "x");
  p.swapdb(1, 3);
  p.select(2);
  if (round === 1) p.flushdb();
  else p.set(`d2:${round}`, "changed");
  p.select(0);
}

/** BGSAVE or BGREWRITEAOF over N keys with write rounds while it runs; returns the file it wrote. */
async function saveWhileWriting(
  command: "bgsave" | "bgrewriteaof",
  dir: string,
  r: Redis,
): Promise<{ file: Uint8Array; expected: Map<string, [string, number | bigint]> }> {
  const progress = command === "bgsave" ? "rdb_bgsave_in_progress" : "aof_rewrite_in_progress";
  const expected = await datasetOf(r);
  // The command and the first writes in one pipeline: they run right after the instant.
  const p = r.pipeline();
  p[command]();
  writeRound(p, 0);
  p.info("persistence");
  const res = await p.exec();
  ok(new RegExp(`${progress}:1`).test(res!.at(-1)![1] as string), "writes overlapped the save");
  let rounds = 1;
  while ((await infoField(r, progress)) === "1" && rounds < 6) {
    const q = r.pipeline();
    writeRound(q, rounds++);
    await q.exec();
  }
  ok(rounds >= 2, `only ${rounds} write rounds while the save ran`);
  // db 0 (the one being read) emptied while the save may still run; FLUSHALL
  // too for the rewrite (it would cancel a BGSAVE, as in Redis).
  await r.flushdb();
  if (command === "bgrewriteaof") await r.flushall();
  while ((await infoField(r, progress)) === "1") await new Promise((res) => setTimeout(res, 10));
  if (command === "bgsave") {
    strictEqual(await infoField(r, "rdb_last_bgsave_status"), "ok");
    return { file: await Deno.readFile(`${dir}/dump.rdb`), expected };
  }
  strictEqual(await infoField(r, "aof_last_bgrewrite_status"), "ok");
  const manifest = await Deno.readTextFile(`${dir}/appendonlydir/appendonly.aof.manifest`);
  const base = /^file (\S+) seq \d+ type b$/m.exec(manifest)![1];
  return { file: await Deno.readFile(`${dir}/appendonlydir/${base}`), expected };
}

for (const command of ["bgsave", "bgrewriteaof"] as const) {
  Deno.test(`${command.toUpperCase()} over ${N} keys writes the dataset of its start while clients write everywhere`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "cow-test-" });
    try {
      await withServer(["--dir", dir], async (srv) => {
        await withClient(srv.port, async (r) => {
          await fill(r);
          const { file, expected } = await saveWhileWriting(command, dir, r);
          strictEqual(expected.size, N + 100 + 2000);
          const got = dumpFile(file);
          strictEqual(got.size, expected.size);
          deepStrictEqual(got, expected);
        });
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
