/**
 * AOF rewrites (BGREWRITEAOF and automatic ones) end to end, against real
 * running servers: compaction, the manifest's shape (compared with
 * redis-server 7.0), writes made while a rewrite runs, interplay with
 * BGSAVE, automatic rewrites, a failing rewrite, and crashes mid-rewrite.
 *
 * @module
 */

import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { Redis } from "ioredis";
import { hasRedis, skipBecause, startServer, withRedis, withServer } from "./support/servers.ts";
import { client, infoField, withClient } from "./support/clients.ts";

const AOF = ["--appendonly", "yes"];

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "aof-rewrite-test-" });
}

/** Waits until no rewrite runs (or fails after `ms`). */
async function rewriteFinished(r: Redis, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (
      (await infoField(r, "aof_rewrite_in_progress")) === "0" &&
      (await infoField(r, "aof_rewrite_scheduled")) === "0"
    ) return;
    await new Promise((res) => setTimeout(res, 20));
  }
  throw new Error("rewrite did not finish");
}

/** The manifest with the file names' sequence numbers kept. */
function manifestOf(dir: string): string {
  return Deno.readTextFileSync(`${dir}/appendonlydir/appendonly.aof.manifest`);
}

function filesOf(dir: string): string[] {
  return [...Deno.readDirSync(`${dir}/appendonlydir`)].map((e) => e.name).sort();
}

/** Loads `n` keys of `size`-byte values through a pipeline. */
async function fill(r: Redis, n: number, size: number, prefix = "big"): Promise<void> {
  const v = "x".repeat(size);
  for (let i = 0; i < n; i += 1000) {
    const p = r.pipeline();
    for (let j = i; j < Math.min(n, i + 1000); j++) p.set(`${prefix}:${j}`, v);
    await p.exec();
  }
}

for (const preamble of ["yes", "no"]) {
  Deno.test(`aof rewrite: BGREWRITEAOF compacts (preamble ${preamble}), survives a restart, INFO`, async () => {
    const dir = await tempDir();
    try {
      const args = [...AOF, "--aof-use-rdb-preamble", preamble, "--dir", dir];
      await withServer(args, async (srv) => {
        await withClient(srv.port, async (r) => {
          strictEqual(await infoField(r, "aof_rewrites"), "0");
          strictEqual(await infoField(r, "aof_last_rewrite_time_sec"), "-1");
          for (let i = 0; i < 500; i++) await r.set("hot", `value-${i}`);
          await r.set("ttl", "t", "PX", 100_000);
          await r.select(2);
          await r.set("other", "db2");
          const before = Number(await infoField(r, "aof_current_size"));
          strictEqual(await r.bgrewriteaof(), "Background append only file rewriting started");
          await rewriteFinished(r);
          strictEqual(await infoField(r, "aof_rewrites"), "1");
          strictEqual(await infoField(r, "aof_last_bgrewrite_status"), "ok");
          strictEqual(await infoField(r, "aof_last_rewrite_time_sec"), "0");
          strictEqual(await infoField(r, "aof_current_rewrite_time_sec"), "-1");
          const after = Number(await infoField(r, "aof_current_size"));
          ok(after < before / 5, `not compacted: ${before} -> ${after}`);
          strictEqual(await infoField(r, "aof_base_size"), String(after));
          await r.set("later", "1");
        });
      });
      const ext = preamble === "yes" ? "rdb" : "aof";
      strictEqual(
        manifestOf(dir),
        `file appendonly.aof.2.base.${ext} seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n`,
      );
      deepStrictEqual(filesOf(dir), [
        `appendonly.aof.2.base.${ext}`,
        "appendonly.aof.2.incr.aof",
        "appendonly.aof.manifest",
      ]);
      await withServer(args, async (srv) => {
        await withClient(srv.port, async (r) => {
          strictEqual(await r.get("hot"), "value-499");
          ok((await r.pttl("ttl")) > 90_000);
          await r.select(2);
          deepStrictEqual(await r.mget("other", "later"), ["db2", "1"]);
        });
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("aof rewrite: the manifest after two rewrites matches redis-server 7.0", async () => {
  if (!hasRedis) {
    skipBecause("redis-server not installed");
    return;
  }
  const shape = async (port: number, dir: string) => {
    await withClient(port, async (r) => {
      for (let i = 0; i < 50; i++) await r.set("k", String(i));
      for (let n = 0; n < 2; n++) {
        strictEqual(await r.bgrewriteaof(), "Background append only file rewriting started");
        await rewriteFinished(r);
      }
      await r.set("after", "1");
    });
    return { manifest: manifestOf(dir), files: filesOf(dir) };
  };
  const ours = await withServer([...AOF], (srv) => shape(srv.port, srv.dir));
  const theirs = await withRedis([...AOF], (srv) => shape(srv.port, srv.dir));
  deepStrictEqual(ours, theirs);
});

Deno.test("aof rewrite: writes made while the rewrite runs are all kept", async () => {
  const dir = await tempDir();
  try {
    const args = [...AOF, "--dir", dir];
    let written = 0;
    await withServer(args, async (srv) => {
      await withClient(srv.port, async (r) => {
        await fill(r, 20_000, 1000);
        // One pipeline (one read on the server): the first writes surely land mid-rewrite.
        const res = await r.pipeline().bgrewriteaof().bgrewriteaof().set("during:0", "0")
          .set("big:0", "changed").info("persistence").exec();
        deepStrictEqual(res!.slice(0, 4).map(([e, v]) => e ? e.message : v), [
          "Background append only file rewriting started",
          "ERR Background append only file rewriting already in progress",
          "OK",
          "OK",
        ]);
        ok(String(res![4][1]).includes("aof_rewrite_in_progress:1"));
        written = 1;
        // Writes (new keys, overwrites and deletes of snapshotted keys) until it is done.
        while ((await infoField(r, "aof_rewrite_in_progress")) === "1") {
          await r.set(`during:${written}`, String(written));
          await r.set(`big:${written}`, "changed");
          written++;
        }
        await r.del("big:19999");
      });
    });
    ok(written >= 1);
    await withServer(args, async (srv) => {
      await withClient(srv.port, async (r) => {
        strictEqual(await r.dbsize(), 20_000 + written - 1);
        for (let i = 0; i < written; i++) {
          deepStrictEqual(await r.mget(`during:${i}`, `big:${i}`), [String(i), "changed"]);
        }
        strictEqual(await r.get(`big:${written}`), "x".repeat(1000));
        strictEqual(await r.exists("big:19999"), 0);
      });
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("aof rewrite: BGSAVE and BGREWRITEAOF wait for each other as in Redis", async () => {
  await withServer([...AOF], async (srv) => {
    await withClient(srv.port, async (r) => {
      await fill(r, 20_000, 1000);
      // Sent in one pipeline (one read on the server), so the first job cannot finish in between.
      const replies = (p: ReturnType<Redis["pipeline"]>) =>
        p.exec().then((res) => res!.map(([e, v]) => e ? e.message : v));
      // A rewrite asked for during a BGSAVE is scheduled, then runs.
      deepStrictEqual(await replies(r.pipeline().bgsave().bgrewriteaof()), [
        "Background saving started",
        "Background append only file rewriting scheduled",
      ]);
      strictEqual(await infoField(r, "aof_rewrite_scheduled"), "1");
      strictEqual(await infoField(r, "aof_pending_rewrite"), "1");
      await rewriteFinished(r);
      strictEqual(await infoField(r, "aof_rewrites"), "1");
      strictEqual(await infoField(r, "rdb_bgsave_in_progress"), "0");
      // A BGSAVE during a rewrite is refused, or scheduled with SCHEDULE.
      deepStrictEqual(await replies(r.pipeline().bgrewriteaof().bgsave().bgsave("SCHEDULE")), [
        "Background append only file rewriting started",
        "ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.",
        "Background saving scheduled",
      ]);
      await rewriteFinished(r);
      const end = Date.now() + 20_000;
      while ((await infoField(r, "rdb_saves")) !== "2" && Date.now() < end) {
        await new Promise((res) => setTimeout(res, 20));
      }
      strictEqual(await infoField(r, "rdb_saves"), "2");
    });
  });
});

Deno.test("aof rewrite: automatic rewrite on growth over auto-aof-rewrite-min-size", async () => {
  const args = [
    ...AOF,
    "--auto-aof-rewrite-min-size",
    "1kb",
    "--auto-aof-rewrite-percentage",
    "100",
  ];
  await withServer(args, async (srv) => {
    await withClient(srv.port, async (r) => {
      for (let i = 0; i < 100; i++) await r.set("k", `some-value-${i}`);
      const end = Date.now() + 10_000;
      while ((await infoField(r, "aof_rewrites")) === "0" && Date.now() < end) {
        await new Promise((res) => setTimeout(res, 50));
      }
      strictEqual(await infoField(r, "aof_rewrites"), "1");
      await rewriteFinished(r);
      ok(srv.output().includes("Starting automatic rewriting of AOF on"), srv.output());
      ok(Number(await infoField(r, "aof_current_size")) < 1024);
      strictEqual(await r.get("k"), "some-value-99");
    });
  });
});

Deno.test("aof rewrite: a failed rewrite sets status err and keeps the old files", async () => {
  const dir = await tempDir();
  try {
    const args = [...AOF, "--dir", dir];
    await withServer(args, async (srv) => {
      await withClient(srv.port, async (r) => {
        await r.set("a", "1");
        const pid = /process_id:(\d+)/.exec(await r.info("server"))![1];
        // A directory where the temp file must go: opening it fails.
        Deno.mkdirSync(`${dir}/appendonlydir/temp-rewriteaof-bg-${pid}.aof`);
        strictEqual(await r.bgrewriteaof(), "Background append only file rewriting started");
        await rewriteFinished(r);
        strictEqual(await infoField(r, "aof_last_bgrewrite_status"), "err");
        strictEqual(await infoField(r, "aof_rewrites_consecutive_failures"), "1");
        await r.set("b", "2");
        Deno.removeSync(`${dir}/appendonlydir/temp-rewriteaof-bg-${pid}.aof`);
        strictEqual(await r.bgrewriteaof(), "Background append only file rewriting started");
        await rewriteFinished(r);
        strictEqual(await infoField(r, "aof_last_bgrewrite_status"), "ok");
        strictEqual(await infoField(r, "aof_rewrites_consecutive_failures"), "0");
      });
    });
    await withServer(args, async (srv) => {
      await withClient(srv.port, async (r) => {
        deepStrictEqual(await r.mget("a", "b"), ["1", "2"]);
      });
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("aof rewrite: SIGKILL mid-rewrite keeps every acknowledged write (appendfsync always)", async () => {
  for (const delay of [0, 20, 80, 200]) {
    const dir = await tempDir();
    try {
      const args = [...AOF, "--appendfsync", "always", "--dir", dir];
      const acked: number[] = [];
      const srv = await startServer(args);
      try {
        await withClient(srv.port, (r) => fill(r, 10_000, 1000));
        const writers = [0, 1].map((w) =>
          (async () => {
            const r = client(srv.port);
            r.on("error", () => {});
            try {
              for (let i = 0;; i++) {
                const n = w * 1_000_000 + i;
                await r.set(`big:${n % 10_000}`, String(n));
                await r.set(`key:${n}`, String(n));
                acked.push(n);
              }
            } catch {
              /* the server was killed */
            } finally {
              r.disconnect();
            }
          })()
        );
        await new Promise((res) => setTimeout(res, 50));
        await withClient(srv.port, (r) => r.bgrewriteaof());
        await new Promise((res) => setTimeout(res, delay));
        srv.process.kill("SIGKILL");
        await Promise.all(writers);
      } finally {
        await srv.stop();
      }
      ok(acked.length > 5, `only ${acked.length} writes acknowledged`);
      await withServer(args, async (srv2) => {
        await withClient(srv2.port, async (r) => {
          const keys = acked.map((n) => `key:${n}`);
          for (let i = 0; i < keys.length; i += 1000) {
            const vals = await r.mget(...keys.slice(i, i + 1000));
            vals.forEach((v, j) => strictEqual(v, String(acked[i + j]), `delay ${delay}`));
          }
          ok((await r.dbsize()) >= 10_000);
        });
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});
