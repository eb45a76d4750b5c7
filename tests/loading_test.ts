/**
 * The start-up load: the server listens while it loads its RDB or AOF, as
 * Redis does. Clients that connect meanwhile get `LOADING` for commands
 * without the `loading` flag, INFO reports the progress, a shutdown during
 * the load never saves the half-loaded dataset, and the log tells the
 * progress of a long load.
 *
 * @module
 */

import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import type { Logger } from "@logtape/logtape";
import {
  hasRedis,
  type RunningServer,
  skipBecause,
  startRedis,
  startServer,
  withRedis,
} from "./support/servers.ts";
import { RespConnection } from "./support/resp_connection.ts";
import { bytes, encodeCommand, text } from "./support/resp.ts";
import { callRaw, eventually } from "./support/pubsub.ts";
import { withTempDir } from "./support/files.ts";
import { LoadCancelled, LoadProgress } from "../src/persistence/load_progress.ts";

const LOADING = "-LOADING Redis is loading the dataset in memory\r\n";
/** Keys of the RDB dataset, and of the AOF one (written by SET commands). */
const RDB_KEYS = 300_000;
const AOF_KEYS = 100_000;
/** Redis' smallest slice (1 KiB): the load then lets clients in very often. */
const FINE_SLICES = ["--loading-process-events-interval-bytes", "1024"];

/** Runs `fn` with a fresh temporary data directory, always removed. */
function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  return withTempDir("redis-deno-loading-", fn);
}

/** Runs `fn` with a server started on `dir`, stopped afterwards. */
async function withStarted(
  args: string[],
  opts: { ready?: boolean },
  fn: (srv: RunningServer) => Promise<void>,
): Promise<void> {
  const srv = await startServer(args, opts);
  try {
    await fn(srv);
  } finally {
    await srv.stop();
  }
}

/** The INFO persistence text. */
async function persistenceInfo(c: RespConnection): Promise<string> {
  const r = (await c.call(["INFO", "persistence"])).value;
  if (r.type !== "bulk" || r.value === null) throw new Error(`INFO replied ${r.type}`);
  return text(r.value);
}

/** A dump.rdb of RDB_KEYS keys in `dir` (DEBUG POPULATE, then SAVE). */
async function rdbDataset(dir: string): Promise<void> {
  await withStarted(["--dir", dir, "--enable-debug-command", "yes"], {}, async (srv) => {
    const c = await RespConnection.connect(srv.port);
    try {
      strictEqual(await callRaw(c, ["DEBUG", "POPULATE", String(RDB_KEYS)]), "+OK\r\n");
      strictEqual(await callRaw(c, ["SAVE"]), "+OK\r\n");
    } finally {
      await c.close();
    }
  });
}

/** An AOF directory in `dir` whose incr file holds AOF_KEYS SET commands. */
async function aofDataset(dir: string): Promise<void> {
  await withStarted(["--dir", dir, "--appendonly", "yes"], {}, async (srv) => {
    const c = await RespConnection.connect(srv.port);
    try {
      const batch = 10_000;
      for (let i = 0; i < AOF_KEYS; i += batch) {
        const cmds: string[] = [];
        for (let j = i; j < i + batch; j++) {
          cmds.push(text(encodeCommand(["SET", `key:${j}`, `value:${j}`])));
        }
        await c.send(bytes(cmds.join("")));
        for (let j = 0; j < batch; j++) await c.reply();
      }
      strictEqual(await callRaw(c, ["DBSIZE"]), `:${AOF_KEYS}\r\n`);
    } finally {
      await c.close();
    }
  });
}

/**
 * Connects as soon as the server listens, checks what a client sees during
 * the load, then that the whole dataset is there once it is done.
 */
async function checkLoadingSeen(
  args: string[],
  totalBytes: number,
  keys: number,
  logLines: RegExp[],
): Promise<void> {
  await withStarted([...args, ...FINE_SLICES], { ready: false }, async (srv) => {
    const c = await RespConnection.connect(srv.port);
    try {
      strictEqual(await callRaw(c, ["PING"]), LOADING);
      strictEqual(await callRaw(c, ["DBSIZE"]), LOADING);
      strictEqual(await callRaw(c, ["GET", "key:1"]), LOADING);
      // Commands flagged `loading` run (as in redis-server 7.0.15: ECHO, SELECT, INFO).
      strictEqual(await callRaw(c, ["ECHO", "hi"]), "$2\r\nhi\r\n");
      strictEqual(await callRaw(c, ["SELECT", "0"]), "+OK\r\n");
      // CONFIG SET runs, except for the parameters Redis denies while loading.
      strictEqual(await callRaw(c, ["CONFIG", "SET", "hz", "10"]), "+OK\r\n");
      strictEqual(await callRaw(c, ["CONFIG", "SET", "appendonly", "yes"]), LOADING);
      strictEqual(
        await callRaw(c, ["CONFIG", "SET", "hz", "10", "repl-diskless-load", "disabled"]),
        LOADING,
      );
      const during = await persistenceInfo(c);
      match(during, /\r\nloading:1\r\n/);
      match(during, new RegExp(`\\r\\nloading_total_bytes:${totalBytes}\\r\\n`));
      const loaded = Number(/\r\nloading_loaded_bytes:(\d+)\r\n/.exec(during)?.[1]);
      ok(loaded >= 0 && loaded <= totalBytes, `loaded bytes ${loaded} of ${totalBytes}`);
      match(during, /\r\nloading_loaded_perc:\d+\.\d\d\r\n/);
      match(during, /\r\nloading_eta_seconds:\d+\r\n/);
      match(during, /\r\nloading_start_time:\d+\r\n/);

      await eventually(async () => (await callRaw(c, ["PING"])) === "+PONG\r\n", "loaded", 60000);
      strictEqual(await callRaw(c, ["DBSIZE"]), `:${keys}\r\n`);
      const last = `value:${keys - 1}`;
      strictEqual(await callRaw(c, ["GET", `key:${keys - 1}`]), `$${last.length}\r\n${last}\r\n`);
      const after = await persistenceInfo(c);
      match(after, /\r\nloading:0\r\n/);
      ok(!after.includes("loading_total_bytes"), "no loading_* fields once loaded");
      ok(srv.output().includes("Ready to accept connections"));
      // The lines redis-server 7.0.15 logs for the same load.
      for (const line of logLines) match(srv.output(), line);
    } finally {
      await c.close();
    }
  });
}

Deno.test("loading: clients connecting during an RDB load get LOADING; INFO shows progress; then all keys", async () => {
  await withDir(async (dir) => {
    await rdbDataset(dir);
    const size = (await Deno.stat(`${dir}/dump.rdb`)).size;
    await checkLoadingSeen(["--dir", dir], size, RDB_KEYS, [
      /Loading RDB produced by version 7\.0\.15\n/,
      new RegExp(`Done loading RDB, keys loaded: ${RDB_KEYS}, keys expired: 0\\.\\n`),
      /DB loaded from disk: \d+\.\d{3} seconds\n/,
    ]);
  });
});

Deno.test("loading: clients connecting during an AOF replay get LOADING; then all keys", async () => {
  await withDir(async (dir) => {
    await aofDataset(dir);
    let size = 0;
    for await (const e of Deno.readDir(`${dir}/appendonlydir`)) {
      if (!e.name.endsWith(".manifest")) {
        size += (await Deno.stat(`${dir}/appendonlydir/${e.name}`)).size;
      }
    }
    await checkLoadingSeen(["--dir", dir, "--appendonly", "yes"], size, AOF_KEYS, [
      /RDB is base AOF\n/,
      /DB loaded from base file appendonly\.aof\.1\.base\.rdb: \d+\.\d{3} seconds\n/,
      /DB loaded from incr file appendonly\.aof\.1\.incr\.aof: \d+\.\d{3} seconds\n/,
      /DB loaded from append only file: \d+\.\d{3} seconds\n/,
      /Opening AOF incr file appendonly\.aof\.1\.incr\.aof on server start\n/,
    ]);
  });
});

Deno.test("loading: SHUTDOWN or SIGTERM during the load exit without saving the half-loaded dataset", async () => {
  await withDir(async (dir) => {
    await rdbDataset(dir);
    const before = await Deno.readFile(`${dir}/dump.rdb`);
    // Save points exist, so a shutdown after the load would save.
    const args = ["--dir", dir, "--save", "900 1", ...FINE_SLICES];
    await withStarted(args, { ready: false }, async (srv) => {
      const c = await RespConnection.connect(srv.port);
      try {
        strictEqual(await callRaw(c, ["PING"]), LOADING);
        await c.send(encodeCommand(["SHUTDOWN"]));
        strictEqual((await srv.process.status).code, 0);
        ok(!srv.output().includes("Saving the final RDB snapshot"), srv.output());
        ok(
          !srv.output().includes("Ready to accept connections"),
          "stopped before the end of the load",
        );
      } finally {
        await c.close();
      }
    });
    await withStarted(args, { ready: false }, async (srv) => {
      const c = await RespConnection.connect(srv.port);
      try {
        strictEqual(await callRaw(c, ["PING"]), LOADING);
      } finally {
        await c.close();
      }
      await srv.stop(); // SIGTERM
      strictEqual((await srv.process.status).code, 0);
      ok(!srv.output().includes("Saving the final RDB snapshot"), srv.output());
    });
    const after = await Deno.readFile(`${dir}/dump.rdb`);
    ok(
      after.length === before.length && after.every((b, i) => b === before[i]),
      "dump.rdb untouched",
    );
  });
});

Deno.test("loading: progress is logged while a load goes on; a shutdown abandons it", async () => {
  const lines: string[] = [];
  const log = { info: (m: string) => lines.push(m) } as unknown as Logger;
  let stopping = false;
  const p = new LoadProgress(4000, 1000, log, () => stopping, 0);
  p.startFile(1000);
  ok(!p.due(999), "a slice lasts 1000 bytes");
  ok(p.due(1000));
  await p.pause();
  p.startFile(3000);
  ok(p.due(1500));
  strictEqual(p.loadedBytes, 2500);
  strictEqual(p.percent, 62.5);
  await p.pause();
  strictEqual(lines.length, 2);
  match(lines[1], /^Loading: 62\.50% \(0\.0 of 0\.0 MB\), 0 keys, \d+\.\d seconds$/);
  stopping = true;
  let cancelled = false;
  await p.pause().catch((e) => cancelled = e instanceof LoadCancelled);
  ok(cancelled, "pause throws LoadCancelled once the server stops");
});

/** Commands whose replies during a load are compared with redis-server's. */
const DURING_LOAD: string[][] = [
  ["PING"],
  ["ECHO", "hi"],
  ["DBSIZE"],
  ["GET", "key:1"],
  ["SET", "x", "y"],
  ["EXISTS", "x"],
  ["KEYS", "nothing*"],
  ["FLUSHALL"],
  ["SAVE"],
  ["BGSAVE"],
  ["BGREWRITEAOF"],
  ["SELECT", "1"],
  ["CLIENT", "SETNAME", "loader"],
  ["CLIENT", "GETNAME"],
  ["PUBLISH", "ch", "m"],
  ["CONFIG", "SET", "hz", "10"],
  ["CONFIG", "SET", "appendonly", "yes"],
  ["CONFIG", "GET", "appendonly"],
];

/** The replies to DURING_LOAD, or null when the load was over before the last one. */
async function repliesDuringLoad(port: number): Promise<string[] | null> {
  const c = await RespConnection.connect(port);
  try {
    const out: string[] = [];
    for (const cmd of DURING_LOAD) out.push(await callRaw(c, cmd));
    return (await persistenceInfo(c)).includes("\r\nloading:1\r\n") ? out : null;
  } finally {
    await c.close();
  }
}

Deno.test("loading: replies during a load are redis-server's, byte for byte", async () => {
  let redis: string[] | null = null;
  if (hasRedis) {
    await withDir(async (dir) => {
      const args = ["--dir", dir, "--enable-debug-command", "yes"];
      await withRedis(args, async (srv) => {
        const c = await RespConnection.connect(srv.port);
        try {
          strictEqual(await callRaw(c, ["DEBUG", "POPULATE", "1000000"]), "+OK\r\n");
          strictEqual(await callRaw(c, ["SAVE"]), "+OK\r\n");
        } finally {
          await c.close();
        }
      });
      const srv = await startRedis(["--dir", dir, ...FINE_SLICES], { ready: false });
      try {
        redis = await repliesDuringLoad(srv.port);
      } finally {
        await srv.stop();
      }
    });
  }
  await withDir(async (dir) => {
    await rdbDataset(dir);
    await withStarted(["--dir", dir, ...FINE_SLICES], { ready: false }, async (srv) => {
      const ours = await repliesDuringLoad(srv.port);
      ok(ours !== null, "still loading after the last command");
      strictEqual(ours[0], LOADING);
      if (redis !== null) deepStrictEqual(ours, redis);
      else {
        skipBecause(
          hasRedis ? "redis-server finished loading too soon" : "redis-server not installed",
        );
      }
    });
  });
});
