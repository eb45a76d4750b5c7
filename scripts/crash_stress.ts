/**
 * Crash-safety stress test for the AOF: each round starts this server with
 * `--appendonly yes` on a temporary directory, streams acknowledged
 * `SET k:<i> <i>` from a raw socket, SIGKILLs the server at a random moment,
 * restarts it on the same directory and checks what survived.
 *
 * - `--fsync always`: every acknowledged write must be present.
 * - `--fsync everysec`: the survivors must be a prefix of the writes, and the
 *   last survivor must have been acknowledged at most `--max-loss-ms` (default
 *   2500) before the kill (Redis promises about 2 s of loss at most).
 *
 * A SIGKILL is a process crash, not an OS crash: the page cache survives, so
 * redis-server loses no acknowledged write in either mode (it write()s the
 * AOF buffer before sending replies). The summary therefore also counts the
 * rounds where acknowledged writes were lost.
 *
 * Usage: `deno run -A scripts/crash_stress.ts [--rounds 20] [--fsync always|everysec|both]
 * [--server ours|redis]` (`redis`: the same check against a real redis-server).
 * Exits non-zero on any violation.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { startOurs, startRedis, type Target } from "./bench.ts";

const { values } = parseArgs({
  // Only the main module reads the command line (tests import `round`).
  args: import.meta.main ? Deno.args : [],
  options: {
    rounds: { type: "string", default: "20" },
    fsync: { type: "string", default: "both" },
    "max-loss-ms": { type: "string", default: "2500" },
    server: { type: "string", default: "ours" },
  },
});

const enc = new TextEncoder();
const dec = new TextDecoder();
/** Writes kept in flight on the socket (pipelined; replies come back in order). */
const WINDOW = 64;

function setCmd(i: number): Uint8Array {
  const k = `k:${i}`;
  const v = String(i);
  return enc.encode(`*3\r\n$3\r\nSET\r\n$${k.length}\r\n${k}\r\n$${v.length}\r\n${v}\r\n`);
}

/** Result of one writing session: how many SETs were acknowledged and when. */
interface Stream {
  acked: number;
  ackTimes: number[];
  /** When SIGKILL was sent (ms since epoch). */
  killedAt: number;
}

/**
 * Streams SETs until `stopAt` (ms since epoch), then SIGKILLs the server while
 * writes are still in flight. Returns the acknowledged count.
 */
async function streamThenKill(target: Target, killAfterMs: number): Promise<Stream> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: target.port });
  const ackTimes: number[] = [];
  let sent = 0;
  let killed = false;
  let killedAt = 0;
  const killer = setTimeout(() => {
    killed = true;
    killedAt = Date.now();
    try {
      Deno.kill(target.pid, "SIGKILL");
    } catch { /* gone */ }
  }, killAfterMs);
  const buf = new Uint8Array(64 * 1024);
  let pending = "";
  try {
    while (!killed) {
      while (sent - ackTimes.length < WINDOW) await conn.write(setCmd(sent++));
      const n = await conn.read(buf);
      if (n === null) break;
      pending += dec.decode(buf.subarray(0, n));
      let at: number;
      while ((at = pending.indexOf("\r\n")) >= 0) {
        const line = pending.slice(0, at);
        pending = pending.slice(at + 2);
        if (line !== "+OK") throw new Error(`unexpected reply ${line}`);
        ackTimes.push(Date.now());
      }
    }
  } catch (e) {
    // A reset or broken pipe from the kill ends the stream; anything else is a bug.
    if (!killed) throw e;
  } finally {
    clearTimeout(killer);
    try {
      conn.close();
    } catch { /* closed */ }
  }
  return { acked: ackTimes.length, ackTimes, killedAt };
}

/** Sends one command and reads one complete reply (small replies only). */
async function command(conn: Deno.Conn, args: string[]): Promise<string> {
  let s = `*${args.length}\r\n`;
  for (const a of args) s += `$${enc.encode(a).length}\r\n${a}\r\n`;
  await conn.write(enc.encode(s));
  const buf = new Uint8Array(1 << 20);
  let out = "";
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) throw new Error("connection closed");
    out += dec.decode(buf.subarray(0, n));
    if (replyComplete(out)) return out;
  }
}

/** True when `s` holds one whole integer reply or array of bulk strings. */
function replyComplete(s: string): boolean {
  if (s.startsWith(":") || s.startsWith("+") || s.startsWith("-")) return s.endsWith("\r\n");
  if (!s.startsWith("*")) return false;
  const lines = s.split("\r\n");
  const n = Number(lines[0].slice(1));
  let i = 1;
  for (let k = 0; k < n; k++) {
    if (i >= lines.length - 1) return false;
    if (lines[i] === "$-1") i += 1;
    else i += 2;
  }
  return i <= lines.length - 1;
}

/** Indices of surviving keys k:0..limit-1 (and the first absent index). */
async function survivors(port: number, limit: number): Promise<{ present: boolean[] }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const present: boolean[] = [];
  try {
    for (let from = 0; from < limit; from += 1000) {
      const keys: string[] = [];
      for (let i = from; i < Math.min(limit, from + 1000); i++) keys.push(`k:${i}`);
      const lines = (await command(conn, ["MGET", ...keys])).split("\r\n");
      let li = 1;
      for (let i = 0; i < keys.length; i++) {
        if (lines[li] === "$-1") {
          present.push(false);
          li += 1;
        } else {
          if (lines[li + 1] !== String(from + i)) {
            throw new Error(`k:${from + i} holds ${lines[li + 1]}`);
          }
          present.push(true);
          li += 2;
        }
      }
    }
  } finally {
    conn.close();
  }
  return { present };
}

/**
 * One round (`mode` is the appendfsync policy); returns a violation message or
 * null, the acknowledged count, the keys found after the restart, and the loss
 * window in ms.
 */
export async function round(
  mode: string,
  maxLossMs: number,
  start: (extra: string[]) => Promise<Target> = startOurs,
): Promise<{ error: string | null; acked: number; loaded: number; lossMs: number }> {
  const dir = await Deno.makeTempDir({ prefix: "crash-stress-" });
  const args = ["--appendonly", "yes", "--appendfsync", mode, "--dir", dir];
  let first: Target | null = null;
  let second: Target | null = null;
  try {
    first = await start(args);
    const killAfter = 300 + Math.floor(Math.random() * 1700);
    const s = await streamThenKill(first, killAfter);
    await first.stop();
    first = null;
    second = await start(args);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: second.port });
    // redis-server accepts connections while still loading (-LOADING): wait for PONG.
    while (!(await command(conn, ["PING"])).startsWith("+PONG")) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const dbsize = Number((await command(conn, ["DBSIZE"])).slice(1).trim());
    conn.close();
    // Keys beyond the acknowledged ones may exist (written, killed before the reply).
    const { present } = await survivors(second.port, s.acked + WINDOW);
    const firstMissing = present.indexOf(false);
    const prefix = firstMissing < 0 ? present.length : firstMissing;
    if (present.slice(prefix).some((p) => p)) {
      return {
        error: `gap: k:${prefix} missing but later keys present`,
        acked: s.acked,
        loaded: dbsize,
        lossMs: 0,
      };
    }
    if (dbsize !== prefix) {
      return {
        error: `DBSIZE ${dbsize} but ${prefix} keys in sequence`,
        acked: s.acked,
        loaded: dbsize,
        lossMs: 0,
      };
    }
    const lost = Math.max(0, s.acked - prefix);
    const lossMs = lost === 0 ? 0 : Math.max(0, s.killedAt - s.ackTimes[prefix]);
    if (mode === "always" && lost > 0) {
      return {
        error: `${lost} acknowledged writes lost (acked ${s.acked}, loaded ${prefix})`,
        acked: s.acked,
        loaded: prefix,
        lossMs,
      };
    }
    if (mode === "everysec" && lossMs > maxLossMs) {
      return {
        error: `lost ${lost} writes spanning ${lossMs} ms > ${maxLossMs} ms`,
        acked: s.acked,
        loaded: prefix,
        lossMs,
      };
    }
    return { error: null, acked: s.acked, loaded: prefix, lossMs };
  } finally {
    if (first) await first.stop();
    if (second) await second.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

async function main(): Promise<number> {
  const rounds = Number(values.rounds);
  const maxLossMs = Number(values["max-loss-ms"]);
  const modes = values.fsync === "both" ? ["always", "everysec"] : [values.fsync!];
  let failures = 0;
  for (const mode of modes) {
    let acked = 0;
    let worstLossMs = 0;
    let lostRounds = 0;
    let maxLost = 0;
    let bad = 0;
    for (let r = 1; r <= rounds; r++) {
      const res = await round(mode, maxLossMs, values.server === "redis" ? startRedis : startOurs);
      acked += res.acked;
      worstLossMs = Math.max(worstLossMs, res.lossMs);
      if (res.acked > res.loaded) lostRounds++;
      maxLost = Math.max(maxLost, res.acked - res.loaded);
      if (res.error) {
        bad++;
        console.log(`  ${mode} round ${r}: VIOLATION ${res.error}`);
      }
    }
    failures += bad;
    console.log(
      `crash_stress ${values.server} appendfsync=${mode}: ${rounds} rounds, ${acked} acknowledged SETs, ` +
        `${bad} violations, rounds with acknowledged writes lost: ${lostRounds} ` +
        `(at most ${maxLost} writes), ` +
        `worst loss window ${worstLossMs} ms`,
    );
  }
  return failures === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
