/**
 * AOF persistence end to end, against real running servers: writes survive
 * a restart in their propagated form, commands that change nothing are not
 * logged, truncated tails and corruption at start-up, crash safety with
 * `appendfsync always`, INFO fields, and interoperability with redis-server
 * in both directions.
 *
 * @module
 */

import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Redis } from "ioredis";
import { hasRedis, skipBecause, startServer, withRedis, withServer } from "./support/servers.ts";
import { encodeCommand, parseAof } from "../src/persistence/aof_log.ts";
import { rdbBytes } from "../src/persistence/rdb_writer.ts";
import { bytesOf, latin1 } from "../src/protocol/latin1.ts";
import { client, withClient } from "./support/clients.ts";

const AOF = ["--appendonly", "yes"];
const INCR = "appendonlydir/appendonly.aof.1.incr.aof";

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "aof-persist-test-" });
}

/** The commands of an AOF file, each as a space-joined latin1 string. */
function commandsOf(path: string): string[] {
  return parseAof(Deno.readFileSync(path), path).commands.map((c) => c.args.map(latin1).join(" "));
}

/** Writes some data, stops the server, and returns the incremental file's path. */
async function seeded(dir: string): Promise<string> {
  await withServer([...AOF, "--dir", dir], async (srv) => {
    await withClient(srv.port, async (r) => {
      for (let i = 0; i < 5; i++) await r.set(`k${i}`, `value-${i}`);
    });
  });
  return `${dir}/${INCR}`;
}

Deno.test("aof: writes survive a restart (TTLs absolute, binary, several dbs)", async () => {
  const dir = await tempDir();
  const bin = Buffer.from([0, 1, 2, 255, 13, 10, 128]);
  try {
    let pexpireAt = 0;
    await withServer([...AOF, "--dir", dir], async (srv) => {
      await withClient(srv.port, async (r) => {
        await r.set("s", "hello", "EX", 1000);
        pexpireAt = Number(await r.call("PEXPIRETIME", "s"));
        await r.set(bin, bin);
        await r.set("gone", "x");
        await r.del("gone");
        await r.set("e", "1");
        await r.expire("e", 500);
        await r.incr("n");
        await r.incrby("n", 41);
        await r.append("a", "foo");
        await r.append("a", "bar");
        await r.setex("sx", 100, "v");
        await r.incrbyfloat("f", 1.5);
        await r.set("gd", "1");
        await r.getdel("gd");
        await r.select(5);
        await r.set("in5", "five");
        await r.select(0);
        const info = await r.info("persistence");
        ok(/aof_enabled:1/.test(info));
        ok(/aof_current_size:[1-9]/.test(info), info);
        ok(/aof_last_write_status:ok/.test(info));
      });
    });
    const cmds = commandsOf(`${dir}/${INCR}`);
    // Relative expiries are written as absolute times, the ones the keys got.
    ok(cmds.includes(`SET s hello PXAT ${pexpireAt}`), cmds.join("\n"));
    ok(cmds.some((c) => /^PEXPIREAT e \d+$/.test(c)));
    ok(cmds.some((c) => /^SET sx v PXAT \d+$/.test(c)));
    ok(cmds.includes("SET f 1.5 KEEPTTL"));
    ok(cmds.includes("DEL gd"));
    ok(cmds.includes("SELECT 5"));
    await withServer([...AOF, "--dir", dir], async (srv) => {
      await withClient(srv.port, async (r) => {
        strictEqual(await r.get("s"), "hello");
        strictEqual(Number(await r.call("PEXPIRETIME", "s")), pexpireAt);
        deepStrictEqual(await r.getBuffer(bin), bin);
        strictEqual(await r.exists("gone"), 0);
        ok((await r.ttl("e")) > 490);
        strictEqual(await r.get("n"), "42");
        strictEqual(await r.get("a"), "foobar");
        ok((await r.ttl("sx")) > 90);
        strictEqual(await r.get("f"), "1.5");
        strictEqual(await r.exists("gd"), 0);
        strictEqual(await r.dbsize(), 7);
        await r.select(5);
        strictEqual(await r.get("in5"), "five");
      });
      ok(srv.output().includes("DB loaded from append only file"));
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("aof: a fresh start writes base, incr and manifest; no-op commands are not logged", async () => {
  const dir = await tempDir();
  try {
    await withServer([...AOF, "--dir", dir], async (srv) => {
      await withClient(srv.port, async (r) => {
        await r.set("k", "v");
        await r.set("k", "other", "NX"); // exists: no change
        await r.del("missing");
        await r.expire("missing", 10);
        await r.get("k");
        await r.set("short", "x", "PX", 30);
        await new Promise((res) => setTimeout(res, 100));
        strictEqual(await r.get("short"), null); // expired by the server: logged as DEL
      });
    });
    const manifest = await Deno.readTextFile(`${dir}/appendonlydir/appendonly.aof.manifest`);
    strictEqual(
      manifest,
      "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
    );
    const base = await Deno.readFile(`${dir}/appendonlydir/appendonly.aof.1.base.rdb`);
    strictEqual(latin1(base.subarray(0, 9)), "REDIS0010");
    const cmds = commandsOf(`${dir}/${INCR}`);
    strictEqual(cmds.length, 4, cmds.join("\n"));
    strictEqual(cmds[0], "SELECT 0");
    strictEqual(cmds[1], "set k v"); // as the client sent it (ioredis: lower case)
    ok(/^SET short x PXAT \d+$/.test(cmds[2]));
    strictEqual(cmds[3], "DEL short");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("aof: a truncated tail loads with aof-load-truncated yes (cut back, offset logged), refused with no", async () => {
  const dir = await tempDir();
  try {
    const incr = await seeded(dir);
    const whole = (await Deno.stat(incr)).size;
    const f = await Deno.open(incr, { append: true });
    await f.write(new TextEncoder().encode("*3\r\n$3\r\nSET\r\n$1\r\nz\r\n$5\r\nab"));
    f.close();
    await rejects(
      startServer([...AOF, "--dir", dir, "--aof-load-truncated", "no"]),
      /Unexpected end of file reading the append only file appendonly\.aof\.1\.incr\.aof/,
    );
    await withServer([...AOF, "--dir", dir], async (srv) => {
      ok(
        srv.output().includes(
          `Truncating the AOF appendonly.aof.1.incr.aof at offset ${whole}`,
        ),
        srv.output(),
      );
      await withClient(srv.port, async (r) => {
        strictEqual(await r.get("k4"), "value-4");
        strictEqual(await r.exists("z"), 0);
      });
    });
    strictEqual((await Deno.stat(incr)).size, whole);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("aof: corruption before the end refuses to start, naming the file and offset", async () => {
  const dir = await tempDir();
  try {
    const incr = await seeded(dir);
    const bytes = await Deno.readFile(incr);
    // The `$` of the third record's value header.
    const text = latin1(bytes);
    const at = text.indexOf("$7\r\nvalue-2");
    ok(at > 0);
    bytes[at] = "X".charCodeAt(0);
    await Deno.writeFile(incr, bytes);
    await rejects(
      startServer([...AOF, "--dir", dir]),
      new RegExp(
        `Bad file format reading the append only file appendonly\\.aof\\.1\\.incr\\.aof at offset ${at}`,
      ),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("aof: appendfsync always, SIGKILL during a stream of writes: every acknowledged write survives", async () => {
  for (let round = 0; round < 3; round++) {
    const dir = await tempDir();
    try {
      const acked: number[] = [];
      const srv = await startServer([...AOF, "--appendfsync", "always", "--dir", dir]);
      try {
        const writers = [0, 1, 2].map((w) =>
          (async () => {
            const r = client(srv.port);
            r.on("error", () => {});
            try {
              for (let i = 0;; i++) {
                const n = w * 1_000_000 + i;
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
        await new Promise((res) => setTimeout(res, 300 + round * 100));
        srv.process.kill("SIGKILL");
        await Promise.all(writers);
      } finally {
        await srv.stop();
      }
      ok(acked.length > 10, `only ${acked.length} writes acknowledged`);
      await withServer([...AOF, "--dir", dir], async (srv2) => {
        await withClient(srv2.port, async (r) => {
          const keys = acked.map((n) => `key:${n}`);
          for (let i = 0; i < keys.length; i += 1000) {
            const vals = await r.mget(...keys.slice(i, i + 1000));
            vals.forEach((v, j) => strictEqual(v, String(acked[i + j])));
          }
        });
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});

Deno.test("aof: CONFIG SET appendonly yes writes a base of the dataset; no stops logging", async () => {
  const dir = await tempDir();
  try {
    await withServer(["--dir", dir], async (srv) => {
      await withClient(srv.port, async (r) => {
        await r.set("before", "1");
        await r.select(3);
        await r.set("db3", "3");
        strictEqual(await r.config("SET", "appendonly", "yes"), "OK");
        await r.set("after", "2");
        const info = await r.info("persistence");
        ok(/aof_enabled:1/.test(info) && /aof_base_size:[1-9]/.test(info), info);
      });
    });
    const manifest = await Deno.readTextFile(`${dir}/appendonlydir/appendonly.aof.manifest`);
    strictEqual(
      manifest,
      "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
    );
    await withServer([...AOF, "--dir", dir], async (srv) => {
      await withClient(srv.port, async (r) => {
        strictEqual(await r.get("before"), "1");
        await r.select(3);
        strictEqual(await r.get("db3"), "3");
        strictEqual(await r.get("after"), "2");
        await r.config("SET", "appendonly", "no");
        await r.set("unlogged", "x");
      });
    });
    ok(!commandsOf(`${dir}/${INCR}`).some((c) => c.includes("unlogged")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("aof: a legacy single appendonly.aof (RDB preamble + commands) is migrated and loaded", async () => {
  const dir = await tempDir();
  try {
    const rdb = rdbBytes([{
      index: 0,
      size: 1,
      expires: 0,
      entries: [{ key: "fromrdb", type: "string", value: bytesOf("r"), expireAt: 0 }],
    }]);
    const tail = new Uint8Array([
      ...encodeCommand([bytesOf("SELECT"), bytesOf("0")]),
      ...encodeCommand([bytesOf("SET"), bytesOf("fromtail"), bytesOf("t")]),
    ]);
    await Deno.writeFile(`${dir}/appendonly.aof`, new Uint8Array([...rdb, ...tail]));
    await withServer([...AOF, "--dir", dir], async (srv) => {
      await withClient(srv.port, async (r) => {
        strictEqual(await r.get("fromrdb"), "r");
        strictEqual(await r.get("fromtail"), "t");
        await r.set("new", "n");
      });
    });
    strictEqual(
      await Deno.readTextFile(`${dir}/appendonlydir/appendonly.aof.manifest`),
      "file appendonly.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
    );
    await withServer([...AOF, "--dir", dir], async (srv) => {
      await withClient(srv.port, async (r) => {
        deepStrictEqual(await r.mget("fromrdb", "fromtail", "new"), ["r", "t", "n"]);
      });
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("aof: with aof-use-rdb-preamble no the base is written as commands and loads back", async () => {
  const dir = await tempDir();
  try {
    await withServer(["--dir", dir, "--aof-use-rdb-preamble", "no"], async (srv) => {
      await withClient(srv.port, async (r) => {
        await r.set("k", "v", "EX", 1000);
        await r.set("p", "plain");
        await r.config("SET", "appendonly", "yes");
      });
    });
    const base = commandsOf(`${dir}/appendonlydir/appendonly.aof.1.base.aof`);
    ok(
      base.includes("SET p plain") && base.some((c) => /^PEXPIREAT k \d+$/.test(c)),
      base.join("\n"),
    );
    await withServer([...AOF, "--dir", dir], async (srv) => {
      await withClient(srv.port, async (r) => {
        strictEqual(await r.get("p"), "plain");
        ok((await r.ttl("k")) > 990);
      });
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("aof: an appendonlydir written by us loads in redis-server, and redis-server's (after BGREWRITEAOF) in ours", async () => {
  if (!hasRedis) {
    skipBecause("redis-server is not installed");
    return;
  }
  const bin = Buffer.from([0, 200, 13, 10, 7]);
  const check = async (r: Redis) => {
    strictEqual(await r.get("plain"), "text");
    deepStrictEqual(await r.getBuffer(bin), bin);
    strictEqual(await r.get("n"), "10");
    const ttl = await r.ttl("t");
    ok(ttl > 900 && ttl <= 1000, `ttl ${ttl}`);
    await r.select(2);
    strictEqual(await r.get("two"), "2");
    await r.select(0);
  };
  const ours = await tempDir();
  const theirs = await tempDir();
  try {
    await withServer([...AOF, "--dir", ours], async (srv) => {
      await withClient(srv.port, async (r) => {
        await r.set("plain", "text");
        await r.set(bin, bin);
        await r.incrby("n", 10);
        await r.set("t", "x", "EX", 1000);
        await r.select(2);
        await r.set("two", "2");
      });
    });
    await withRedis([...AOF, "--dir", ours], async (srv) => {
      await withClient(srv.port, check);
    });

    await withRedis([...AOF, "--dir", theirs], async (srv) => {
      await withClient(srv.port, async (r) => {
        await r.set("plain", "text");
        await r.set(bin, bin);
        await r.set("t", "x", "EX", 1000);
        await r.bgrewriteaof();
        for (let i = 0; i < 500; i++) {
          const info = await r.info("persistence");
          if (/aof_rewrite_in_progress:0/.test(info) && /aof_rewrite_scheduled:0/.test(info)) {
            break;
          }
          await new Promise((res) => setTimeout(res, 20));
        }
        // After the rewrite: these go to the new incremental file.
        await r.incrby("n", 10);
        await r.select(2);
        await r.set("two", "2");
      });
    });
    const manifest = await Deno.readTextFile(`${theirs}/appendonlydir/appendonly.aof.manifest`);
    ok(manifest.includes("appendonly.aof.2.base.rdb"), manifest);
    await withServer([...AOF, "--dir", theirs], async (srv) => {
      await withClient(srv.port, check);
    });
  } finally {
    await Deno.remove(ours, { recursive: true });
    await Deno.remove(theirs, { recursive: true });
  }
});
