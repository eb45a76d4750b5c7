/**
 * Persistence benchmark, side by side with a real `redis-server` in one run:
 *
 * (a) `redis-benchmark -t set -c 50 -n 200000` at -P 1 and -P 16 with
 *     `--appendonly yes` and `--appendfsync always` / `everysec`;
 * (b) SAVE time over exactly 1M distinct keys (filled by a pipelined raw
 *     socket), then start-up load time: from spawning the server on the same
 *     dir until PING answers and DBSIZE = 1M;
 * (c) the longest PING round trip a client sees (one PING every 1 ms on a raw
 *     socket) while BGSAVE runs over those keys, and while BGREWRITEAOF runs
 *     when the server accepts it ("not available" otherwise).
 *
 * Usage: `deno run -A scripts/persistence_bench.ts [--keys 1000000] [--requests 200000]
 * [--only stall] [--servers ours,redis]`: `--only stall` skips section (a); `--servers ours`
 * measures only our server (its column for redis-server then reads n/a).
 * Prints markdown tables. Every server is stopped and every temp dir removed,
 * even on error.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { startOurs, startRedis, type Target } from "./bench.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    keys: { type: "string", default: "1000000" },
    requests: { type: "string", default: "200000" },
    only: { type: "string", default: "" },
    servers: { type: "string", default: "ours,redis" },
  },
});
const KEYS = Number(values.keys);

const enc = new TextEncoder();
const dec = new TextDecoder("latin1");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A minimal RESP connection: one command at a time, or raw pipelined writes. */
class Conn {
  private pending = "";
  private buf = new Uint8Array(256 * 1024);
  private constructor(private conn: Deno.Conn) {}

  /** Connects to 127.0.0.1:port. */
  static async open(port: number): Promise<Conn> {
    return new Conn(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** Writes raw bytes. */
  async write(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) off += await this.conn.write(bytes.subarray(off));
  }

  /** Reads one reply (simple, error, integer or bulk) as a string. */
  async reply(): Promise<string> {
    for (;;) {
      const r = this.take();
      if (r !== null) return r;
      const n = await this.conn.read(this.buf);
      if (n === null) throw new Error("connection closed");
      this.pending += dec.decode(this.buf.subarray(0, n));
    }
  }

  private take(): string | null {
    const eol = this.pending.indexOf("\r\n");
    if (eol < 0) return null;
    const head = this.pending.slice(0, eol);
    if (head[0] === "$") {
      const len = Number(head.slice(1));
      if (len < 0) {
        this.pending = this.pending.slice(eol + 2);
        return "";
      }
      if (this.pending.length < eol + 2 + len + 2) return null;
      const body = this.pending.slice(eol + 2, eol + 2 + len);
      this.pending = this.pending.slice(eol + 4 + len);
      return body;
    }
    this.pending = this.pending.slice(eol + 2);
    return head;
  }

  /** Sends one command and returns its reply. */
  async call(...args: string[]): Promise<string> {
    await this.write(encodeCmd(args));
    return await this.reply();
  }

  /** Closes the socket. */
  close(): void {
    try {
      this.conn.close();
    } catch { /* closed */ }
  }
}

function encodeCmd(args: string[]): Uint8Array {
  let s = `*${args.length}\r\n`;
  for (const a of args) s += `$${a.length}\r\n${a}\r\n`;
  return enc.encode(s);
}

/** Exactly `n` distinct keys `key:<i>` with 16-byte values, pipelined in batches. */
async function fill(port: number, n: number): Promise<void> {
  const c = await Conn.open(port);
  try {
    const batch = 10000;
    for (let from = 0; from < n; from += batch) {
      const to = Math.min(n, from + batch);
      let s = "";
      for (let i = from; i < to; i++) {
        const k = `key:${i}`;
        s += `*3\r\n$3\r\nSET\r\n$${k.length}\r\n${k}\r\n$16\r\nvalue-${
          String(i).padStart(10, "0")
        }\r\n`;
      }
      await c.write(enc.encode(s));
      for (let i = from; i < to; i++) {
        const r = await c.reply();
        if (r !== "+OK") throw new Error(`fill: ${r}`);
      }
    }
  } finally {
    c.close();
  }
}

/** requests/s of `redis-benchmark -t set -c 50 -n N -P p`. */
async function benchSet(port: number, pipeline: number): Promise<number> {
  const out = await new Deno.Command("redis-benchmark", {
    args: [
      "-p",
      String(port),
      "-t",
      "set",
      "-c",
      "50",
      "-n",
      values.requests!,
      "-P",
      String(pipeline),
      "--csv",
    ],
    stdout: "piped",
    stderr: "null",
  }).output();
  const line = new TextDecoder().decode(out.stdout).split("\n")[1] ?? "";
  return Number(line.split(",")[1]?.replace(/"/g, "") ?? NaN);
}

/** Starts a server of kind `name` with `extra` arguments. */
function startKind(name: string, extra: string[]): Promise<Target> {
  return name === "ours" ? startOurs(extra) : startRedis(extra);
}

/** Value of an INFO field. */
async function info(c: Conn, field: string): Promise<string> {
  const text = await c.call("INFO", "persistence");
  const m = new RegExp(`^${field}:(.*)$`, "m").exec(text);
  return m ? m[1].trim() : "";
}

/**
 * Runs `command` (BGSAVE or BGREWRITEAOF) while a raw socket PINGs every 1 ms;
 * returns the worst round trip and how long the job ran, or null when refused.
 */
async function stallDuring(
  port: number,
  command: string,
  progressField: string,
): Promise<{ maxMs: number; jobMs: number; pings: number } | null> {
  const pinger = await Conn.open(port);
  const ctl = await Conn.open(port);
  let running = true;
  let maxMs = 0;
  let pings = 0;
  const loop = (async () => {
    while (running) {
      const t = performance.now();
      const r = await pinger.call("PING");
      if (r !== "+PONG") throw new Error(`PING: ${r}`);
      const rtt = performance.now() - t;
      maxMs = Math.max(maxMs, rtt);
      pings++;
      await sleep(Math.max(0, 1 - rtt));
    }
  })();
  try {
    await sleep(200);
    const t0 = performance.now();
    const r = await ctl.call(command);
    if (r.startsWith("-")) return null;
    // The job may not show as in progress yet (e.g. a scheduled rewrite): wait a bit.
    await sleep(5);
    while ((await info(ctl, progressField)) !== "0") await sleep(5);
    const jobMs = performance.now() - t0;
    await sleep(200);
    return { maxMs, jobMs, pings };
  } finally {
    running = false;
    await loop.catch(() => {});
    pinger.close();
    ctl.close();
  }
}

const fmt = (x: number) => x.toFixed(0);
const ratio = (a: number, b: number) => (b > 0 ? (a / b).toFixed(2) : "n/a");

async function writeThroughput(): Promise<string[]> {
  const rows: string[] = [];
  for (const mode of ["always", "everysec"]) {
    const extra = ["--appendonly", "yes", "--appendfsync", mode];
    for (const p of [1, 16]) {
      const res: Record<string, number> = {};
      for (const name of ["ours", "redis"]) {
        const t = await startKind(name, extra);
        try {
          res[name] = await benchSet(t.port, p);
        } finally {
          await t.stop();
        }
      }
      const row = `| SET, appendfsync ${mode} | ${p} | ${fmt(res.ours)} | ${fmt(res.redis)} | ${
        ratio(res.ours, res.redis)
      } |`;
      console.error(row);
      rows.push(row);
    }
  }
  return rows;
}

interface BigResult {
  saveMs: number;
  loadMs: number;
  bgsave: { maxMs: number; jobMs: number; pings: number } | null;
  rewrite: { maxMs: number; jobMs: number; pings: number } | null;
  baselineMaxMs: number;
}

/** Fill, SAVE, restart + load, then stalls during BGSAVE/BGREWRITEAOF, for one kind. */
async function bigDataset(name: string): Promise<BigResult> {
  const dir = await Deno.makeTempDir({ prefix: `pbench-${name}-` });
  // A later --dir overrides the one startOurs/startRedis add (their temp dir stays empty).
  const extra = ["--dir", dir];
  let t: Target | null = null;
  try {
    t = await startKind(name, extra);
    await fill(t.port, KEYS);
    const c = await Conn.open(t.port);
    const s0 = performance.now();
    const r = await c.call("SAVE");
    const saveMs = performance.now() - s0;
    c.close();
    if (r !== "+OK") throw new Error(`SAVE: ${r}`);
    await t.stop();
    t = null;
    const l0 = performance.now();
    t = await startKind(name, extra);
    const c2 = await Conn.open(t.port);
    for (;;) {
      const ping = await c2.call("PING");
      if (ping === "+PONG" && (await c2.call("DBSIZE")) === `:${KEYS}`) break;
      await sleep(2);
    }
    const loadMs = performance.now() - l0;
    c2.close();
    // Baseline: the same PING loop with nothing running in the background.
    const idle = await stallDuring(t.port, "PING", "rdb_bgsave_in_progress");
    const bgsave = await stallDuring(t.port, "BGSAVE", "rdb_bgsave_in_progress");
    const rewrite = await stallDuring(t.port, "BGREWRITEAOF", "aof_rewrite_in_progress");
    return { saveMs, loadMs, bgsave, rewrite, baselineMaxMs: idle?.maxMs ?? NaN };
  } finally {
    if (t) await t.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const throughput = values.only === "stall" ? [] : await writeThroughput();
  const none: BigResult = {
    saveMs: NaN,
    loadMs: NaN,
    bgsave: null,
    rewrite: null,
    baselineMaxMs: NaN,
  };
  const big: Record<string, BigResult> = { ours: none, redis: none };
  for (const name of values.servers!.split(",")) big[name] = await bigDataset(name);
  const o = big.ours, r = big.redis;
  const stall = (x: BigResult["bgsave"]) =>
    x ? `${x.maxMs.toFixed(1)} (job ${fmt(x.jobMs)} ms)` : "not available";
  console.log(`\nredis-benchmark -t set -c 50 -n ${values.requests}, --appendonly yes\n`);
  console.log("| test | -P | ours (req/s) | redis-server (req/s) | ours/redis |");
  console.log("|---|---|---|---|---|");
  for (const row of throughput) console.log(row);
  console.log(`\n${KEYS} keys (16-byte values)\n`);
  console.log("| measure | ours | redis-server | ours/redis |");
  console.log("|---|---|---|---|");
  console.log(`| SAVE (ms) | ${fmt(o.saveMs)} | ${fmt(r.saveMs)} | ${ratio(o.saveMs, r.saveMs)} |`);
  console.log(
    `| start-up until PING and DBSIZE = ${KEYS} (ms) | ${fmt(o.loadMs)} | ${fmt(r.loadMs)} | ${
      ratio(o.loadMs, r.loadMs)
    } |`,
  );
  console.log(
    `| worst PING round trip, idle (ms) | ${o.baselineMaxMs.toFixed(1)} | ${
      r.baselineMaxMs.toFixed(1)
    } | |`,
  );
  console.log(
    `| worst PING round trip during BGSAVE (ms) | ${stall(o.bgsave)} | ${stall(r.bgsave)} | |`,
  );
  console.log(
    `| worst PING round trip during BGREWRITEAOF (ms) | ${stall(o.rewrite)} | ${
      stall(r.rewrite)
    } | |`,
  );
  console.log(`\n(run took ${((Date.now() - started) / 1000).toFixed(0)} s)`);
}

if (import.meta.main) await main();
