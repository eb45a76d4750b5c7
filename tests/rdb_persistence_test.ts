/**
 * RDB persistence end to end, against real running servers: SAVE and restart,
 * load-time expiry, refusal of corrupt or unsupported files, the final save
 * on shutdown, BGSAVE consistency while clients write, save points, failure
 * handling (bare ERR, MISCONF), and interoperability with redis-server in
 * both directions.
 *
 * @module
 */

import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { Redis } from "ioredis";
import { hasRedis, skipBecause, startServer, withRedis, withServer } from "./support/servers.ts";
import { readRdb } from "../src/persistence/rdb_reader.ts";
import { rdbBytes } from "../src/persistence/rdb_writer.ts";
import { bytesOf, latin1 } from "../src/protocol/latin1.ts";
import { infoField, withClient } from "./support/clients.ts";
import { exists } from "./support/files.ts";

/** Polls `cond` every 20 ms until it holds (or fails after `ms`). */
async function waitFor(
  cond: () => Promise<boolean>,
  ms = 10000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "rdb-persist-test-" });
}

/** Every (db, key) → [value latin1, expireAt] in an RDB file. */
function contentsOf(file: Uint8Array): Map<string, [string, number | bigint]> {
  const out = new Map<string, [string, number | bigint]>();
  const res = readRdb(file, { now: 0 });
  for (const [db, entries] of res.dbs) {
    for (const e of entries) out.set(`${db}/${e.key}`, [latin1(e.value), e.expireAt]);
  }
  return out;
}

const BINARY = Uint8Array.from({ length: 256 }, (_, i) => i);

/** Writes a mixed dataset: ints, long compressible strings, binary, TTLs, two dbs. */
async function populate(r: Redis): Promise<void> {
  await r.set("int", "12345");
  await r.set("neg", "-7");
  await r.set("long", "x".repeat(1000));
  await r.set(Buffer.from(BINARY), Buffer.from(BINARY));
  await r.set("ttl", "v", "EX", 1000);
  await r.set("pttl-far", "v");
  await r.pexpireat("pttl-far", 32503680000000);
  await r.select(3);
  await r.set("in-db3", "three");
  await r.select(0);
}

/** Checks the dataset `populate` wrote. */
async function checkPopulated(r: Redis): Promise<void> {
  strictEqual(await r.get("int"), "12345");
  strictEqual(await r.get("neg"), "-7");
  strictEqual(await r.get("long"), "x".repeat(1000));
  deepStrictEqual(new Uint8Array(await r.getBuffer(Buffer.from(BINARY)) ?? []), BINARY);
  const ttl = await r.ttl("ttl");
  ok(ttl > 990 && ttl <= 1000, `ttl ${ttl}`);
  strictEqual(await r.pexpiretime("pttl-far"), 32503680000000);
  strictEqual(await r.ttl("int"), -1);
  await r.select(3);
  strictEqual(await r.get("in-db3"), "three");
  await r.select(0);
  strictEqual(await r.dbsize(), 6);
}

Deno.test("SAVE writes dump.rdb atomically; a restart with the same dir restores keys, values and TTLs", async () => {
  const dir = await tempDir();
  try {
    await withServer(["--dir", dir], async (srv) => {
      await withClient(srv.port, async (r) => {
        await populate(r);
        strictEqual(await infoField(r, "rdb_changes_since_last_save"), "8");
        const before = await r.lastsave();
        await new Promise((res) => setTimeout(res, 1100));
        strictEqual(await r.save(), "OK");
        ok((await r.lastsave()) > before, "LASTSAVE moves on");
        strictEqual(await infoField(r, "rdb_changes_since_last_save"), "0");
        strictEqual(await infoField(r, "rdb_last_save_time"), String(await r.lastsave()));
      });
      // No temp file left behind; the file reads back with a valid checksum.
      deepStrictEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["dump.rdb"]);
      strictEqual(readRdb(await Deno.readFile(`${dir}/dump.rdb`)).checksum, "ok");
    });
    await withServer(["--dir", dir], async (srv) => {
      ok(srv.output().includes("Loading RDB produced by version 7.0.15"), srv.output());
      ok(/DB loaded from disk: \d+\.\d{3} seconds/.test(srv.output()), srv.output());
      ok(srv.output().includes("keys loaded: 7, keys expired: 0"), srv.output());
      await withClient(srv.port, async (r) => {
        await checkPopulated(r);
        strictEqual(await infoField(r, "rdb_last_load_keys_loaded"), "7");
        strictEqual(await infoField(r, "rdb_changes_since_last_save"), "0");
      });
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("keys already expired in the file are dropped at load", async () => {
  const dir = await tempDir();
  try {
    const now = Date.now();
    const file = rdbBytes([{
      index: 0,
      size: 3,
      expires: 2,
      entries: [
        { key: "gone", type: "string", value: bytesOf("old"), expireAt: now - 1000 },
        { key: "kept", type: "string", value: bytesOf("new"), expireAt: now + 100000 },
        { key: "plain", type: "string", value: bytesOf("p"), expireAt: 0 },
      ],
    }]);
    await Deno.writeFile(`${dir}/dump.rdb`, file);
    await withServer(["--dir", dir], async (srv) => {
      ok(srv.output().includes("keys loaded: 2, keys expired: 1"), srv.output());
      await withClient(srv.port, async (r) => {
        strictEqual(await r.exists("gone"), 0);
        strictEqual(await r.get("kept"), "new");
        strictEqual(await r.pexpiretime("kept"), now + 100000);
        strictEqual(await r.get("plain"), "p");
        strictEqual(await infoField(r, "rdb_last_load_keys_expired"), "1");
      });
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Starts our server on `dir` expecting it to refuse; returns its output. */
async function refusedOutput(dir: string): Promise<string> {
  let message = "";
  await rejects(
    startServer(["--dir", dir]).then((srv) => srv.stop()),
    (err: Error) => {
      message = err.message;
      return true;
    },
  );
  return message;
}

Deno.test("a corrupt dump.rdb (one flipped byte) stops the start-up, naming the file and the offset", async () => {
  const dir = await tempDir();
  try {
    const file = rdbBytes([{
      index: 0,
      size: 1,
      expires: 0,
      entries: [{ key: "k", type: "string", value: bytesOf("value-value"), expireAt: 0 }],
    }]);
    file[file.length - 14] ^= 0x01; // inside the value: only the checksum notices
    await Deno.writeFile(`${dir}/dump.rdb`, file);
    const out = await refusedOutput(dir);
    ok(out.includes(`${dir}/dump.rdb`), out);
    ok(out.includes("Wrong RDB checksum"), out);
    ok(out.includes(`byte offset ${file.length - 8}`), out);
    ok(!out.includes("Ready to accept connections"), out);

    // A truncated file: the offset is where the data ran out.
    await Deno.writeFile(`${dir}/dump.rdb`, file.subarray(0, 40));
    const out2 = await refusedOutput(dir);
    ok(
      out2.includes(`${dir}/dump.rdb`) && /Unexpected end of file.*byte offset \d+/.test(out2),
      out2,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a file with keys of types this server cannot hold is refused, not half loaded", async () => {
  const dir = await tempDir();
  try {
    // REDIS0010, SELECTDB 0, a string key, a plain hash {f: v}, EOF, checksum 0 (not computed).
    const bytes = [
      ...bytesOf("REDIS0010"),
      0xfe,
      0,
      0,
      1,
      ...bytesOf("s"),
      1,
      ...bytesOf("v"),
      4,
      1,
      ...bytesOf("h"),
      1,
      1,
      ...bytesOf("f"),
      1,
      ...bytesOf("v"),
      0xff,
      ...new Array(8).fill(0),
    ];
    await Deno.writeFile(`${dir}/dump.rdb`, Uint8Array.from(bytes));
    const out = await refusedOutput(dir);
    ok(out.includes(`${dir}/dump.rdb`), out);
    ok(/'h' in DB 0, type hash \(4\), at byte offset 16/.test(out), out);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SHUTDOWN saves when save points exist, SHUTDOWN NOSAVE and the no-save-point default do not", async () => {
  const cases: [string[], string, boolean][] = [
    [["--save", "900 1"], "SHUTDOWN", true],
    [["--save", "900 1"], "SHUTDOWN NOSAVE", false],
    [["--save", ""], "SHUTDOWN", false],
    [["--save", ""], "SHUTDOWN SAVE", true],
    [["--save", "900 1"], "SIGTERM", true],
  ];
  for (const [args, how, saves] of cases) {
    const dir = await tempDir();
    try {
      await withServer(["--dir", dir, ...args], async (srv) => {
        await withClient(srv.port, async (r) => {
          await r.set("k", how);
          if (how !== "SIGTERM") {
            // No reply: the server exits.
            r.call(...(how.split(" ") as [string, ...string[]])).catch(() => {});
            await srv.process.status;
          }
        });
        await srv.stop();
        strictEqual(await exists(`${dir}/dump.rdb`), saves, `${args.join(" ")} / ${how}`);
        if (saves) {
          ok(srv.output().includes("Saving the final RDB snapshot before exiting."));
          deepStrictEqual(
            contentsOf(await Deno.readFile(`${dir}/dump.rdb`)),
            new Map([["0/k", [how, 0]]]),
          );
        }
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});

Deno.test("BGSAVE saves the dataset as it was when it started, while clients keep writing", async () => {
  const dir = await tempDir();
  try {
    await withServer(["--dir", dir], async (srv) => {
      await withClient(srv.port, async (r) => {
        const N = 60000;
        const value = (i: number) => `value-${i}-`.padEnd(100, String.fromCharCode(97 + (i % 26)));
        for (let i = 0; i < N; i += 1000) {
          const args: string[] = [];
          for (let j = i; j < i + 1000; j++) args.push(`key:${j}`, value(j));
          await r.mset(...args);
        }
        await r.expire("key:5", 5000);
        // An appended string has spare capacity the next APPEND writes into.
        await r.append("key:3", "-a");
        const expected = new Map<string, [string, number | bigint]>();
        for (let i = 0; i < N; i++) expected.set(`0/key:${i}`, [value(i), 0]);
        expected.set("0/key:5", [value(5), await r.pexpiretime("key:5")]);
        expected.set("0/key:3", [`${value(3)}-a`, 0]);
        const dirtyBefore = Number(await infoField(r, "rdb_changes_since_last_save"));

        // BGSAVE and writes in one pipeline: the writes run after the snapshot.
        const p = r.pipeline();
        p.bgsave();
        p.set("key:1", "changed");
        p.del("key:2");
        p.set("new-key", "new");
        p.persist("key:5");
        p.append("key:3", "-b");
        p.info("persistence");
        p.bgsave();
        const res = await p.exec();
        strictEqual(res![0][1], "Background saving started");
        ok(/rdb_bgsave_in_progress:1/.test(res![6][1] as string), "in progress");
        strictEqual((res![7][0] as Error).message, "ERR Background save already in progress");
        await rejects(r.save(), /Background save already in progress/);

        // Clients are served while it runs.
        let maxLatency = 0;
        let inProgress = true;
        while (inProgress) {
          const t = performance.now();
          await r.set(`during:${maxLatency}`, "x");
          maxLatency = Math.max(maxLatency, performance.now() - t);
          inProgress = (await infoField(r, "rdb_bgsave_in_progress")) === "1";
        }
        ok(maxLatency < 250, `a write waited ${maxLatency} ms`);
        strictEqual(await infoField(r, "rdb_last_bgsave_status"), "ok");
        // Changes made during the save are still unsaved (set, del, set, persist, during:*).
        const dirtyAfter = Number(await infoField(r, "rdb_changes_since_last_save"));
        ok(dirtyBefore > 0 && dirtyAfter >= 5 && dirtyAfter < 1000, `dirty ${dirtyAfter}`);
        strictEqual(await r.get("key:1"), "changed");
        strictEqual(await r.get("key:3"), `${value(3)}-a-b`);

        deepStrictEqual(contentsOf(await Deno.readFile(`${dir}/dump.rdb`)), expected);
        deepStrictEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["dump.rdb"]);
      });
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("save points trigger a background save after N seconds with M changes", async () => {
  await withServer(["--save", "1 2"], async (srv) => {
    await withClient(srv.port, async (r) => {
      await r.set("a", "1");
      await new Promise((res) => setTimeout(res, 2300));
      strictEqual(await exists(`${srv.dir}/dump.rdb`), false, "one change is not enough");
      await r.set("b", "2");
      await waitFor(
        async () => (await infoField(r, "rdb_changes_since_last_save")) === "0",
        5000,
        "the automatic save",
      );
      ok(srv.output().includes("2 changes in 1 seconds. Saving..."), srv.output());
      ok(srv.output().includes("Background saving terminated with success"));
      deepStrictEqual(
        contentsOf(await Deno.readFile(`${srv.dir}/dump.rdb`)),
        new Map([["0/a", ["1", 0]], ["0/b", ["2", 0]]]),
      );
    });
  });
});

Deno.test("failed saves: SAVE replies ERR, a failed BGSAVE turns on MISCONF until a save succeeds", async () => {
  const dir = await tempDir();
  try {
    await withServer(["--dir", dir, "--save", "900 1"], async (srv) => {
      await withClient(srv.port, async (r) => {
        await r.set("k", "v");
        // A non-empty directory where dump.rdb goes: the rename fails.
        await Deno.mkdir(`${dir}/dump.rdb/x`, { recursive: true });
        await rejects(r.save(), (e: Error) => e.message === "ERR");
        strictEqual(await infoField(r, "rdb_last_bgsave_status"), "ok");
        strictEqual(await r.set("k2", "v"), "OK");

        strictEqual(await r.bgsave(), "Background saving started");
        await waitFor(async () => (await infoField(r, "rdb_bgsave_in_progress")) === "0");
        strictEqual(await infoField(r, "rdb_last_bgsave_status"), "err");
        ok(srv.output().includes("Error moving temp DB file"), srv.output());
        ok(srv.output().includes("Background saving error"));
        await rejects(r.set("k3", "v"), /MISCONF Redis is configured to save RDB/);
        await rejects(r.ping(), /MISCONF/);
        strictEqual(await r.get("k"), "v");
        deepStrictEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["dump.rdb"]);

        // SIGTERM with a failing final save: Redis keeps running, so do we.
        srv.process.kill("SIGTERM");
        await waitFor(() =>
          Promise.resolve(srv.output().includes("Error trying to save the DB, can't exit."))
        );
        strictEqual(await r.get("k"), "v");

        await Deno.remove(`${dir}/dump.rdb`, { recursive: true });
        strictEqual(await r.save(), "OK");
        strictEqual(await infoField(r, "rdb_last_bgsave_status"), "ok");
        strictEqual(await r.set("k3", "v"), "OK");
      });
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("MISCONF and BGSAVE replies are byte-identical to Redis 7.0's", async () => {
  if (!hasRedis) {
    skipBecause("redis-server is not installed");
    return;
  }
  const run = async (port: number, dir: string): Promise<string[]> => {
    const out: string[] = [];
    await withClient(port, async (r) => {
      await Deno.mkdir(`${dir}/dump.rdb/x`, { recursive: true });
      const send = async (...args: string[]) => {
        try {
          out.push(String(await r.call(args[0], ...args.slice(1))));
        } catch (e) {
          out.push(`error: ${(e as Error).message}`);
        }
      };
      await send("SAVE");
      await send("BGSAVE", "x");
      await send("BGSAVE");
      await waitFor(async () => (await infoField(r, "rdb_bgsave_in_progress")) === "0");
      await send("SET", "k", "v");
      await send("CONFIG", "SET", "save", "900 1");
      await send("SET", "k", "v");
      await send("GET", "k");
      await send("CONFIG", "SET", "stop-writes-on-bgsave-error", "no");
      await send("SET", "k", "v");
      // The final save fails: the server refuses to exit.
      await send("SHUTDOWN");
      await send("PING");
      await Deno.remove(`${dir}/dump.rdb`, { recursive: true });
    });
    return out;
  };
  const ours = await withServer([], (srv) => run(srv.port, srv.dir));
  const theirs = await withRedis([], (srv) => run(srv.port, srv.dir));
  deepStrictEqual(ours, theirs);
});

Deno.test("interop: our dump.rdb loads in redis-server, and redis-server's loads in ours", async () => {
  if (!hasRedis) {
    skipBecause("redis-server is not installed");
    return;
  }
  const dir = await tempDir();
  try {
    await withServer(["--dir", dir], async (srv) => {
      await withClient(srv.port, async (r) => {
        await populate(r);
        await r.save();
      });
    });
    await withRedis(["--dir", dir], async (srv) => {
      await withClient(srv.port, async (r) => await checkPopulated(r));
    });
    await Deno.remove(`${dir}/dump.rdb`);
    await withRedis(["--dir", dir], async (srv) => {
      await withClient(srv.port, async (r) => {
        await populate(r);
        await r.save();
      });
    });
    await withServer(["--dir", dir], async (srv) => {
      await withClient(srv.port, async (r) => await checkPopulated(r));
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SHUTDOWN refuses to exit when the final save fails, unless FORCE is given", async () => {
  await withServer(["--save", "900 1"], async (srv) => {
    await withClient(srv.port, async (r) => {
      await r.set("k", "v");
      await Deno.mkdir(`${srv.dir}/dump.rdb/x`, { recursive: true });
      await rejects(r.shutdown(), /^ReplyError: ERR Errors trying to SHUTDOWN. Check logs.$/);
      strictEqual(await r.get("k"), "v");
      r.call("SHUTDOWN", "FORCE").catch(() => {});
      const status = await srv.process.status;
      strictEqual(status.code, 0);
    });
    await srv.stop();
    ok(srv.output().includes("Error trying to save the DB. Exit anyway."), srv.output());
  });
});

/** FLUSHALL's effect on the RDB side: counters, and the dump with save points. */
async function flushallTrace(port: number, dir: string): Promise<string[]> {
  return await withClient(port, async (r) => {
    const out: string[] = [];
    const note = async (what: string) => {
      const changes = await infoField(r, "rdb_changes_since_last_save");
      const saves = await infoField(r, "rdb_saves");
      const keys = (await exists(`${dir}/dump.rdb`))
        ? contentsOf(await Deno.readFile(`${dir}/dump.rdb`)).size
        : "none";
      out.push(`${what}: changes=${changes} saves=${saves} dump keys=${keys}`);
    };
    await r.set("a", "1");
    await r.set("b", "2");
    await r.flushall();
    await note("no save points");
    await r.config("SET", "save", "900 1");
    await r.set("a", "1");
    await r.set("b", "2");
    await note("before");
    await r.flushall();
    await note("save points");
    return out;
  });
}

Deno.test("FLUSHALL with save points saves the empty dataset at once, counted as redis-server 7.0.15 counts it", async () => {
  const ours = await withServer([], (srv) => flushallTrace(srv.port, srv.dir));
  deepStrictEqual(ours, [
    "no save points: changes=4 saves=0 dump keys=none",
    "before: changes=6 saves=0 dump keys=none",
    "save points: changes=0 saves=0 dump keys=0",
  ]);
  if (!hasRedis) return void skipBecause("redis-server is not installed");
  deepStrictEqual(await withRedis([], (srv) => flushallTrace(srv.port, srv.dir)), ours);
});

Deno.test("FLUSHALL stops a running BGSAVE: the flushed keys never come back from disk", async () => {
  const dir = await tempDir();
  try {
    const args = ["--dir", dir, "--save", "900 1", "--enable-debug-command", "yes"];
    await withServer(args, async (srv) => {
      await withClient(srv.port, async (r) => {
        strictEqual(await r.call("DEBUG", "POPULATE", "300000"), "OK");
        strictEqual(await r.save(), "OK");
        const [[, started], [, flushed]] = (await r.pipeline().bgsave().flushall().exec())!;
        strictEqual(started, "Background saving started");
        strictEqual(flushed, "OK");
        await waitFor(async () => (await infoField(r, "rdb_bgsave_in_progress")) === "0");
        strictEqual(await infoField(r, "rdb_last_bgsave_status"), "ok");
        strictEqual(contentsOf(await Deno.readFile(`${dir}/dump.rdb`)).size, 0);
        deepStrictEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["dump.rdb"]);
      });
      ok(srv.output().includes("Background saving terminated by signal"), srv.output());
    });
    await withServer(["--dir", dir], async (srv) => {
      await withClient(srv.port, async (r) => strictEqual(await r.dbsize(), 0));
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
