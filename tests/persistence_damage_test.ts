/**
 * Damaged or unwritable persistence files, against real running servers:
 * an AOF directory without its manifest (refused, unlike redis-server 7.0.15
 * which starts empty with a new seq-1 base and manifest), a data directory where the RDB
 * cannot be written (SAVE/BGSAVE errors, MISCONF), flipped bytes in the AOF
 * base RDB, an empty incremental file, and a manifest naming a missing file.
 * Behaviour was checked against redis-server 7.0.15.
 *
 * @module
 */

import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { Redis } from "ioredis";
import { hasRedis, skipBecause, startServer, withRedis, withServer } from "./support/servers.ts";
import { round } from "../scripts/crash_stress.ts";
import { infoField, withClient } from "./support/clients.ts";
import { readRdb } from "../src/persistence/rdb_reader.ts";
import { exists, withTempDir } from "./support/files.ts";
import { RespConnection } from "./support/resp_connection.ts";
import { encodeCommand } from "./support/resp.ts";
import { callRaw, infoField as infoFieldAt } from "./support/pubsub.ts";

const AOF = ["--appendonly", "yes"];
const AOF_DIR = "appendonlydir";
const BASE = `${AOF_DIR}/appendonly.aof.1.base.rdb`;
const INCR = `${AOF_DIR}/appendonly.aof.1.incr.aof`;
const MANIFEST = `${AOF_DIR}/appendonly.aof.manifest`;

/** Runs `fn` with a fresh temporary directory, always removed. */
function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  return withTempDir("persist-damage-test-", fn);
}

/**
 * Writes `n` keys through an AOF-enabled server of ours in `dir`, then stops it
 * and moves them into the base RDB (a SAVE'd dump.rdb) with an empty incr file,
 * so the base has content worth damaging without depending on BGREWRITEAOF.
 */
async function fillAof(dir: string, n = 10): Promise<void> {
  await withServer([...AOF, "--dir", dir], async (srv) => {
    await withClient(srv.port, async (r) => {
      for (let i = 0; i < n; i++) await r.set(`k${i}`, `v${i}`);
      strictEqual(await r.call("SAVE"), "OK");
    });
  });
  await Deno.rename(`${dir}/dump.rdb`, `${dir}/${BASE}`);
  await Deno.writeFile(`${dir}/${INCR}`, new Uint8Array());
}

async function waitBgsaveDone(r: Redis): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await infoField(r, "rdb_bgsave_in_progress")) === "0") return;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error("BGSAVE did not finish");
}

Deno.test("manifest deleted, base and incr files present: refuses to start and keeps the files (redis-server 7.0.15 starts empty with a new seq-1 base and manifest)", async () => {
  await withDir(async (dir) => {
    await fillAof(dir);
    await Deno.writeTextFile(`${dir}/${INCR}`, "*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$1\r\ny\r\n");
    await Deno.remove(`${dir}/${MANIFEST}`);
    const base = await Deno.readFile(`${dir}/${BASE}`);
    await rejects(startServer([...AOF, "--dir", dir]), (e: Error) => {
      ok(
        e.message.includes(
          "holds AOF files (appendonly.aof.1.base.rdb, appendonly.aof.1.incr.aof) but no manifest appendonly.aof.manifest",
        ),
        e.message,
      );
      ok(e.message.includes("restore the manifest"), e.message);
      return true;
    });
    // Nothing was written over: the operator can restore the manifest.
    deepStrictEqual(await Deno.readFile(`${dir}/${BASE}`), base);
    ok(!(await exists(`${dir}/${MANIFEST}`)), "no new manifest");
    // Restored, everything loads: the base's 10 keys and the incr file's x.
    await Deno.writeTextFile(
      `${dir}/${MANIFEST}`,
      "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
    );
    await withServer([...AOF, "--dir", dir], async (srv) => {
      await withClient(srv.port, async (r) => {
        strictEqual(await r.dbsize(), 11);
        strictEqual(await r.get("x"), "y");
      });
    });
  });
  // The same directory without the manifest: redis-server starts empty.
  if (!hasRedis) return void skipBecause("redis-server not installed");
  await withDir(async (dir) => {
    await fillAof(dir);
    await Deno.remove(`${dir}/${MANIFEST}`);
    await withRedis([...AOF, "--dir", dir], async (srv) => {
      await withClient(srv.port, async (r) => strictEqual(await r.dbsize(), 0));
    });
  });
});

Deno.test("an AOF directory with unrelated files and no manifest starts a fresh AOF", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(`${dir}/${AOF_DIR}`);
    await Deno.writeTextFile(`${dir}/${AOF_DIR}/notes.txt`, "not an AOF");
    await withServer([...AOF, "--dir", dir], async (srv) => {
      await withClient(srv.port, async (r) => strictEqual(await r.dbsize(), 0));
    });
    ok(await exists(`${dir}/${MANIFEST}`), "a manifest was created");
  });
});

Deno.test("dump.rdb is a directory: SAVE errors, the old content stays, BGSAVE status err, MISCONF until a save works", async () => {
  await withDir(async (dir) => {
    await withServer(
      ["--dir", dir, "--save", "3600 1", "--stop-writes-on-bgsave-error", "yes"],
      async (srv) => {
        await withClient(srv.port, async (r) => {
          await r.set("a", "1");
          // A directory in place of the file: rename(temp, dump.rdb) fails even as root.
          await Deno.mkdir(`${dir}/dump.rdb`);
          await Deno.writeTextFile(`${dir}/dump.rdb/keep`, "old");
          await rejects(r.call("SAVE"), /^ReplyError: ERR/);
          strictEqual(await Deno.readTextFile(`${dir}/dump.rdb/keep`), "old");
          strictEqual(await r.call("BGSAVE"), "Background saving started");
          await waitBgsaveDone(r);
          strictEqual(await infoField(r, "rdb_last_bgsave_status"), "err");
          await rejects(r.set("b", "2"), /MISCONF/);
          strictEqual(await r.get("a"), "1");
          // No temp files are left behind by the failed saves.
          const names = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) =>
            n.startsWith("temp-")
          );
          strictEqual(names.length, 0, `leftover temp files: ${names}`);
          // Once the path is writable again, a successful save lifts MISCONF.
          await Deno.remove(`${dir}/dump.rdb`, { recursive: true });
          strictEqual(await r.call("BGSAVE"), "Background saving started");
          await waitBgsaveDone(r);
          strictEqual(await infoField(r, "rdb_last_bgsave_status"), "ok");
          strictEqual(await r.set("b", "2"), "OK");
        });
      },
    );
  });
});

Deno.test("dump.rdb turned into a directory after a good SAVE: SAVE errors, a later SAVE works again", async () => {
  await withDir(async (dir) => {
    await withServer(["--dir", dir], async (srv) => {
      await withClient(srv.port, async (r) => {
        await r.set("a", "1");
        strictEqual(await r.call("SAVE"), "OK");
        const before = await Deno.readFile(`${dir}/dump.rdb`);
        await r.set("a", "2");
        // Redis 7.0 refuses a path in dbfilename (CONFIG SET), so block the target instead.
        await Deno.remove(`${dir}/dump.rdb`);
        await Deno.mkdir(`${dir}/dump.rdb`);
        await rejects(r.call("SAVE"), /^ReplyError: ERR/);
        await Deno.remove(`${dir}/dump.rdb`);
        await Deno.writeFile(`${dir}/dump.rdb`, before);
        strictEqual(await r.call("SAVE"), "OK");
      });
    });
  });
});

Deno.test("flipped bytes in the AOF base RDB: refuses to start, naming the file and offset", async () => {
  await withDir(async (dir) => {
    await fillAof(dir, 20);
    const bytes = await Deno.readFile(`${dir}/${BASE}`);
    ok(bytes.length > 40, `base too small: ${bytes.length}`);
    const at = Math.floor(bytes.length / 2);
    bytes[at] ^= 0xff;
    bytes[at + 1] ^= 0xff;
    await Deno.writeFile(`${dir}/${BASE}`, bytes);
    await rejects(
      startServer([...AOF, "--dir", dir]),
      (e: Error) => {
        ok(/appendonly\.aof\.1\.base\.rdb/.test(e.message), e.message);
        ok(/(checksum|corrupt|Bad file format|Short read|Unexpected)/i.test(e.message), e.message);
        ok(/offset/i.test(e.message), e.message);
        return true;
      },
    );
  });
});

Deno.test("an empty incr file loads (the base alone) like redis-server", async () => {
  await withDir(async (dir) => {
    await fillAof(dir, 5);
    strictEqual((await Deno.stat(`${dir}/${INCR}`)).size, 0);
    await withServer([...AOF, "--dir", dir], async (srv) => {
      await withClient(srv.port, async (r) => {
        strictEqual(await r.dbsize(), 5);
        strictEqual(await r.get("k4"), "v4");
      });
    });
  });
});

Deno.test("a manifest listing a missing file: refuses to start, naming the file", async () => {
  await withDir(async (dir) => {
    await fillAof(dir, 3);
    await Deno.remove(`${dir}/${INCR}`);
    await rejects(
      startServer([...AOF, "--dir", dir]),
      (e: Error) => {
        ok(/appendonly\.aof\.1\.incr\.aof/.test(e.message), e.message);
        return true;
      },
    );
    // The files are left as they were for the operator.
    ok((await Deno.readTextFile(`${dir}/${MANIFEST}`)).includes("appendonly.aof.1.incr.aof"));
  });
});

Deno.test({
  name:
    "appendfsync everysec loses no acknowledged write on SIGKILL: the AOF is written before replies (as redis-server)",
  async fn() {
    // Before the AOF was written ahead of replies, 7 of 20 rounds of
    // scripts/crash_stress.ts lost up to 38 acknowledged SETs.
    for (let i = 0; i < 5; i++) {
      const res = await round("everysec", 2500);
      strictEqual(res.error, null);
      // Writes whose replies were still in flight at the kill may be there too.
      ok(res.loaded >= res.acked, `round ${i}: acked ${res.acked}, found ${res.loaded}`);
    }
  },
});

/**
 * Makes `dir` read-only for this process: `chattr +i` as root (root ignores
 * permission bits), `chmod 555` otherwise. Returns the undo, or null when the
 * file system does not allow it.
 */
async function makeReadOnly(dir: string): Promise<(() => Promise<void>) | null> {
  const root = Deno.uid() === 0;
  const run = async (cmd: string, args: string[]) =>
    (await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output()).success;
  if (root ? !(await run("chattr", ["+i", dir])) : !(await run("chmod", ["555", dir]))) return null;
  const undo = async () => {
    await (root ? run("chattr", ["-i", dir]) : run("chmod", ["755", dir]));
  };
  try {
    await Deno.writeTextFile(`${dir}/probe`, "x");
    await Deno.remove(`${dir}/probe`);
    await undo();
    return null; // still writable
  } catch {
    return undo;
  }
}

Deno.test("a read-only data directory: saves fail with a clear log line, old dump kept, MISCONF; AOF refuses to start", async () => {
  await withDir(async (dir) => {
    await withServer(["--dir", dir, "--save", "900 1"], async (srv) => {
      await withClient(srv.port, async (r) => {
        await r.set("a", "1");
        strictEqual(await r.save(), "OK");
        const undo = await makeReadOnly(dir);
        if (undo === null) return void skipBecause("cannot make a directory read-only here");
        try {
          await r.set("b", "2");
          await rejects(r.save(), (e: Error) => e.message === "ERR");
          strictEqual(await r.bgsave(), "Background saving started");
          await waitBgsaveDone(r);
          strictEqual(await infoField(r, "rdb_last_bgsave_status"), "err");
          await rejects(r.set("c", "3"), /^ReplyError: MISCONF /);
          await rejects(r.shutdown(), /Errors trying to SHUTDOWN/);
          ok(
            /Failed opening the temp RDB file temp-\d+\.rdb \(in server root dir .*\) for saving: /
              .test(srv.output()),
            srv.output(),
          );
          // The dataset and the old file are intact.
          strictEqual(await r.get("b"), "2");
        } finally {
          await undo();
        }
        const kept = readRdb(await Deno.readFile(`${dir}/dump.rdb`));
        deepStrictEqual(kept.dbs.get(0)?.map((e) => e.key), ["a"], "the last good dump");
        strictEqual(await r.save(), "OK");
        strictEqual(await r.set("c", "3"), "OK");
      });
    });
    const undo = await makeReadOnly(dir);
    if (undo === null) return;
    try {
      await rejects(startServer([...AOF, "--dir", dir]), (e: Error) => {
        ok(e.message.includes("Can't open or create append-only dir appendonlydir: "), e.message);
        return true;
      });
    } finally {
      await undo();
    }
    // What the failed saves left: the dump of the last good SAVE, no temp files.
    deepStrictEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["dump.rdb"]);
  });
});

/**
 * Makes the AOF's next incremental file (seq 2) a link to /dev/full, then
 * rewrites: every write to the AOF fails with ENOSPC from then on. Returns
 * what a client sees.
 */
async function diskFullTrace(port: number, dir: string): Promise<string[]> {
  await Deno.symlink("/dev/full", `${dir}/${AOF_DIR}/appendonly.aof.2.incr.aof`);
  const c = await RespConnection.connect(port);
  try {
    strictEqual(
      await callRaw(c, ["BGREWRITEAOF"]),
      "+Background append only file rewriting started\r\n",
    );
    for (let i = 0; (await infoFieldAt(port, "aof_rewrite_in_progress")) !== "0"; i++) {
      if (i > 200) throw new Error("the rewrite did not finish");
      await new Promise((r) => setTimeout(r, 25));
    }
    const out = [await callRaw(c, ["SET", "a", "1"])];
    // The failed write was at the end of that turn; what follows is refused.
    for (const cmd of [["SET", "b", "1"], ["PING"], ["GET", "a"], ["DEL", "a"]]) {
      out.push(await callRaw(c, cmd));
    }
    out.push(`aof_last_write_status:${await infoFieldAt(port, "aof_last_write_status")}`);
    return out;
  } finally {
    await c.close();
  }
}

Deno.test("a full disk under the AOF: writes and PING get MISCONF with the reason, as redis-server; with appendfsync always the server exits", async () => {
  if (!(await exists("/dev/full"))) return void skipBecause("no /dev/full on this machine");
  const expected = [
    "+OK\r\n",
    "-MISCONF Errors writing to the AOF file: No space left on device\r\n",
    "-MISCONF Errors writing to the AOF file: No space left on device\r\n",
    "$1\r\n1\r\n",
    "-MISCONF Errors writing to the AOF file: No space left on device\r\n",
    "aof_last_write_status:err",
  ];
  await withDir(async (dir) => {
    const srv = await startServer([...AOF, "--dir", dir]);
    try {
      deepStrictEqual(await diskFullTrace(srv.port, dir), expected);
      ok(srv.output().includes("Error writing to the AOF file: No space left on device"));
      // Under `always` nothing may be acknowledged that is not on disk: Redis exits.
      const c = await RespConnection.connect(srv.port);
      await c.send(encodeCommand(["CONFIG", "SET", "appendfsync", "always"]));
      strictEqual((await srv.process.status).code, 1);
      await c.close();
      ok(
        srv.output().includes(
          "Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...",
        ),
        srv.output(),
      );
    } finally {
      await srv.stop();
    }
  });
  if (!hasRedis) return void skipBecause("redis-server not installed");
  await withDir(async (dir) => {
    await withRedis([...AOF, "--dir", dir], async (srv) => {
      deepStrictEqual(await diskFullTrace(srv.port, dir), expected);
    });
  });
});
