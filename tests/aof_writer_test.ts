/**
 * The AOF writer: records encoded straight into its buffer come out byte for
 * byte as `AofFeed` (checked against redis-server in aof_format_test.ts)
 * encodes them, across buffer growth and database switches; and replies are
 * held exactly until the fsync policy allows them out.
 *
 * @module
 */

import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import fc from "fast-check";
import { Redis } from "ioredis";
import {
  AofFeed,
  encodeCommand,
  encodeCommandInto,
  encodedSize,
} from "../src/persistence/aof_log.ts";
import { AofWriter, type FsyncPolicy } from "../src/persistence/aof_writer.ts";
import { withServer } from "./support/servers.ts";
import { RawClient } from "./support/raw_client.ts";
import { concat } from "./support/resp.ts";
import { bytesOf } from "../src/protocol/latin1.ts";

/** Runs `fn` with a writer on a fresh file in a temp dir, closed and removed after. */
async function withWriter(
  policy: FsyncPolicy,
  fn: (w: AofWriter, path: string) => void | Promise<void>,
): Promise<void> {
  const dir = Deno.makeTempDirSync({ prefix: "aof-writer-" });
  const path = `${dir}/appendonly.aof.1.incr.aof`;
  const w = new AofWriter(path, () => policy, () => {});
  try {
    await fn(w, path);
  } finally {
    await w.close();
    Deno.removeSync(dir, { recursive: true });
  }
}

const arg = fc.oneof(
  fc.uint8Array({ maxLength: 40 }),
  // Big values: the buffer (64 KiB at first) has to grow mid-turn.
  fc.uint8Array({ minLength: 30_000, maxLength: 90_000 }),
);
const command = fc.record({
  db: fc.integer({ min: 0, max: 15 }),
  args: fc.array(arg, { minLength: 1, maxLength: 6 }),
});

Deno.test("encodeCommandInto writes encodeCommand's bytes at any offset", () => {
  fc.assert(fc.property(
    fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 12 }),
    fc.nat(20),
    (args, at) => {
      const want = encodeCommand(args);
      strictEqual(encodedSize(args), want.length);
      const buf = new Uint8Array(at + want.length + 3).fill(7);
      strictEqual(encodeCommandInto(buf, at, args), at + want.length);
      deepStrictEqual(buf.subarray(at, at + want.length), want);
      ok(
        buf.subarray(0, at).every((b) => b === 7) &&
          buf.subarray(at + want.length).every((b) => b === 7),
      );
    },
  ));
});

Deno.test("AofWriter writes exactly what AofFeed encodes, across buffer growth and SELECTs", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.array(command, { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 4 }),
      async (turns) => {
        await withWriter("everysec", (w, path) => {
          const feed = new AofFeed();
          const want: Uint8Array[] = [];
          for (const turn of turns) {
            for (const c of turn) {
              w.append(c.db, c.args);
              want.push(feed.feed(c.db, c.args));
            }
            w.commit();
          }
          const expected = concat(want);
          strictEqual(w.size, expected.length);
          deepStrictEqual(Deno.readFileSync(path), expected);
        });
      },
    ),
    { numRuns: 25 },
  );
});

Deno.test("AofWriter holds replies until written (everysec) or written and fsynced (always)", async () => {
  const set = [new TextEncoder().encode("SET"), new Uint8Array([107]), new Uint8Array([118])];
  for (const policy of ["everysec", "always"] as const) {
    await withWriter(policy, (w, path) => {
      strictEqual(w.holdsReplies, false, policy);
      w.append(0, set);
      strictEqual(w.holdsReplies, true, policy);
      strictEqual(Deno.statSync(path).size, 0, "nothing written before the commit");
      w.commit();
      strictEqual(w.holdsReplies, false, policy);
      strictEqual(w.bufferLength, 0);
      strictEqual(Deno.statSync(path).size, w.size);
      // Written but not fsynced yet: only `always` must wait for the fsync.
      w.append(0, set);
      w.flush();
      strictEqual(w.holdsReplies, policy === "always", policy);
    });
  }
});

Deno.test("AofWriter always: a big group is acknowledged only once its background fsync completes", async () => {
  const set = [new TextEncoder().encode("SET"), new Uint8Array([107]), new Uint8Array([118])];
  await withWriter("always", async (w, path) => {
    for (let i = 0; i < 500; i++) w.append(0, set);
    let acked = false;
    const committed = new Promise<void>((resolve) =>
      w.commit(() => {
        acked = true;
        resolve();
      })
    );
    // Written at once, but the fsync runs in the background: the reply waits.
    strictEqual(Deno.statSync(path).size, w.size);
    strictEqual(acked, false);
    strictEqual(w.holdsReplies, true);
    // A reply of a later turn, with nothing new to write, waits for the same fsync.
    let laterAcked = false;
    w.commit(() => laterAcked = true);
    strictEqual(laterAcked, false);
    await committed;
    strictEqual(laterAcked, true);
    strictEqual(w.holdsReplies, false);
  });
});

Deno.test("AOF: many pipelining clients in one turn get every reply and every write is logged", async () => {
  for (const policy of ["always", "everysec"]) {
    await withServer(["--appendonly", "yes", "--appendfsync", policy], async (s) => {
      const clients = Array.from(
        { length: 8 },
        () => new Redis({ port: s.port, maxRetriesPerRequest: 1 }),
      );
      try {
        await Promise.all(clients.map(async (r, c) => {
          for (let round = 0; round < 5; round++) {
            const p = r.pipeline();
            for (let i = 0; i < 50; i++) p.set(`k:${c}:${round}:${i}`, String(i));
            const res = await p.exec();
            ok(res !== null && res.every(([err, v]) => err === null && v === "OK"), policy);
          }
        }));
        strictEqual(await clients[0].dbsize(), 8 * 5 * 50, policy);
        // Acknowledged, so already written (and under always fsynced) to the incremental file.
        const dir = `${s.dir}/appendonlydir`;
        const incr = [...Deno.readDirSync(dir)].find((e) => e.name.endsWith(".incr.aof"));
        ok(incr !== undefined);
        const text = new TextDecoder("latin1").decode(Deno.readFileSync(`${dir}/${incr.name}`));
        strictEqual(text.match(/\*3\r\n\$3\r\nset\r\n/gi)?.length, 8 * 5 * 50, policy);
      } finally {
        await Promise.all(clients.map((r) => r.quit()));
      }
    });
  }
});

Deno.test("AOF always: QUIT after a big pipelined batch gets every reply, then every write is in the file", async () => {
  await withServer(["--appendonly", "yes", "--appendfsync", "always"], async (s) => {
    const c = await RawClient.connect(s.port);
    try {
      let batch = "";
      for (let i = 0; i < 300; i++) batch += `SET q:${i} ${i}\r\n`;
      const replies = await c.roundTrip(batch + "QUIT\r\n", 301 * 5, 2000);
      strictEqual(replies, "+OK\r\n".repeat(301));
      ok(await c.closedByServer());
      const dir = `${s.dir}/appendonlydir`;
      const incr = [...Deno.readDirSync(dir)].find((e) => e.name.endsWith(".incr.aof"));
      ok(incr !== undefined);
      const text = new TextDecoder("latin1").decode(Deno.readFileSync(`${dir}/${incr.name}`));
      strictEqual(text.match(/\*3\r\n\$3\r\nSET\r\n/g)?.length, 300);
    } finally {
      await c.close();
    }
  });
});

Deno.test("everysec: a failing background fsync sets aof_last_write_status err until one succeeds; EINVAL is ignored, as in Redis", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "aof-writer-" });
  const warnings: string[] = [];
  const w = new AofWriter(`${dir}/a.aof`, () => "everysec", (m) => warnings.push(m));
  // White box: the fsync of the open file fails on demand.
  const file = (w as unknown as { file: Deno.FsFile }).file;
  const realSync = file.syncData.bind(file);
  let failure: string | null = null;
  file.syncData = () => failure === null ? realSync() : Promise.reject(new Error(failure));
  let clock = Date.now();
  const writeAndSync = async () => {
    w.append(0, [bytesOf("SET"), bytesOf("k"), bytesOf("v")]);
    w.flush();
    clock += 2000; // past the once-a-second mark
    w.cron(clock);
    await w.synced();
  };
  try {
    failure = "Invalid argument (os error 22)";
    await writeAndSync();
    ok(w.lastWriteOk, "EINVAL (a file that cannot be synced) is ignored");
    failure = "Input/output error (os error 5)";
    await writeAndSync();
    strictEqual(w.lastWriteOk, false);
    strictEqual(w.lastWriteError, "Input/output error");
    deepStrictEqual(warnings, ["Fail to fsync the AOF file: Input/output error"]);
    await writeAndSync();
    strictEqual(warnings.length, 1, "logged once per failure run");
    failure = null;
    await writeAndSync();
    ok(w.lastWriteOk, "a successful fsync clears it");
  } finally {
    await w.close();
    Deno.removeSync(dir, { recursive: true });
  }
});
