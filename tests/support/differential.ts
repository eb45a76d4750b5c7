/**
 * Differential harness: sends one command sequence to this server and to a
 * real redis-server over raw RESP sockets and compares the raw reply bytes.
 *
 * Only what must differ is normalised: KEYS replies are compared as sorted
 * lists (hash order differs), TTL-like integers within a tolerance (the two
 * servers see slightly different clocks), and RANDOMKEY only as "some key" vs
 * null. Everything else must be byte-identical.
 *
 * @module
 */

import { type Command, commandBytes } from "./command_gen.ts";
import { compareBytes, concat, encodeCommand, show, text } from "./resp.ts";
import { NoReplyError, type Reply, RespConnection } from "./resp_connection.ts";

/** One command whose replies differ. */
export interface Mismatch {
  index: number;
  command: Command;
  ours: string;
  redis: string;
}

/** Outcome of one differential run. */
export interface DiffResult {
  label: string;
  compared: number;
  mismatches: Mismatch[];
  /** Why the run stopped early (no reply, connection closed), else null. */
  aborted: string | null;
}

/** Integer replies that depend on the clock, with the tolerance allowed between servers. */
const CLOCK_TOLERANCE: Record<string, number> = {
  ttl: 2,
  expiretime: 2,
  pttl: 2000,
  pexpiretime: 2000,
};

/** True if the two replies to `cmd` are the same after the allowed normalisation. */
export function sameReply(cmd: Command, ours: Reply, redis: Reply): boolean {
  if (compareBytes(ours.raw, redis.raw) === 0) return true;
  const name = cmd[0].toLowerCase();
  const a = ours.value;
  const b = redis.value;
  if (name === "keys" && a.type === "array" && b.type === "array" && a.value && b.value) {
    const sorted = (list: typeof a.value) =>
      list!.map((v) => (v.type === "bulk" && v.value ? text(v.value) : `<${v.type}>`)).sort();
    return JSON.stringify(sorted(a.value)) === JSON.stringify(sorted(b.value));
  }
  const tolerance = CLOCK_TOLERANCE[name];
  if (tolerance !== undefined && a.type === "integer" && b.type === "integer") {
    if (a.value < 0n || b.value < 0n) return a.value === b.value;
    const d = a.value - b.value;
    return (d < 0n ? -d : d) <= BigInt(tolerance);
  }
  if (name === "randomkey" && a.type === "bulk" && b.type === "bulk") {
    return a.value !== null && b.value !== null;
  }
  return false;
}

/** Renders a command for a failure message. */
export function showCommand(cmd: Command): string {
  return cmd.map((a) => show(a.length > 60 ? a.slice(0, 60) + "..." : a)).join(" ");
}

function showReply(raw: Uint8Array): string {
  const s = text(raw);
  return show(s.length > 300 ? s.slice(0, 300) + "..." : s);
}

/** Options of a run. */
export interface DiffOptions {
  /** Protocol to speak (HELLO 3 first for RESP3). */
  resp: 2 | 3;
  /** Commands sent before reading their replies. */
  batch?: number;
  /** Per-reply timeout. */
  timeoutMs?: number;
}

/** Sends HELLO 3 and checks both servers answered with a map. */
async function hello3(ours: RespConnection, redis: RespConnection): Promise<string | null> {
  const [a, b] = await Promise.all([ours.call(["HELLO", "3"]), redis.call(["HELLO", "3"])]);
  if (a.value.type !== "map") return `HELLO 3 on our server answered ${showReply(a.raw)}`;
  if (b.value.type !== "map") return `HELLO 3 on redis-server answered ${showReply(b.raw)}`;
  return null;
}

/** Runs `commands` against both servers, in batches, and collects every difference. */
export async function runDifferential(
  label: string,
  oursPort: number,
  redisPort: number,
  commands: readonly Command[],
  opts: DiffOptions,
): Promise<DiffResult> {
  const batch = opts.batch ?? 32;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const ours = await RespConnection.connect(oursPort);
  const redis = await RespConnection.connect(redisPort);
  const result: DiffResult = { label, compared: 0, mismatches: [], aborted: null };
  try {
    if (opts.resp === 3) {
      result.aborted = await hello3(ours, redis);
      if (result.aborted) return result;
    }
    for (let start = 0; start < commands.length; start += batch) {
      const slice = commands.slice(start, start + batch);
      const wire = concat(slice.map((c) => encodeCommand(commandBytes(c))));
      await Promise.all([ours.send(wire), redis.send(wire)]);
      for (let i = 0; i < slice.length; i++) {
        const index = start + i;
        let a: Reply, b: Reply;
        try {
          [a, b] = await Promise.all([ours.reply(timeoutMs), redis.reply(timeoutMs)]);
        } catch (err) {
          if (!(err instanceof NoReplyError)) throw err;
          result.aborted = `#${index} ${showCommand(slice[i])}: ${err.message} ` +
            `(ours ${ours.isClosed ? "closed" : "open"}, redis ${
              redis.isClosed ? "closed" : "open"
            })`;
          return result;
        }
        result.compared++;
        if (!sameReply(slice[i], a, b)) {
          result.mismatches.push({
            index,
            command: slice[i],
            ours: showReply(a.raw),
            redis: showReply(b.raw),
          });
        }
      }
    }
    return result;
  } finally {
    await ours.close();
    await redis.close();
  }
}

/** A report of a run's differences: counts by command, then the first `limit` in detail. */
export function describeResult(r: DiffResult, limit = 40): string {
  const lines: string[] = [];
  lines.push(
    `${r.label}: ${r.mismatches.length} of ${r.compared} replies differ` +
      (r.aborted ? `; run aborted at ${r.aborted}` : ""),
  );
  const byCommand = new Map<string, number>();
  for (const m of r.mismatches) {
    const name = m.command[0].toLowerCase();
    byCommand.set(name, (byCommand.get(name) ?? 0) + 1);
  }
  if (byCommand.size > 0) {
    const counts = [...byCommand].sort((x, y) => y[1] - x[1]).map(([n, c]) => `${show(n)} x${c}`);
    lines.push(`by command: ${counts.join(", ")}`);
  }
  for (const m of r.mismatches.slice(0, limit)) {
    lines.push(`#${m.index} ${showCommand(m.command)}`);
    lines.push(`    ours:  ${m.ours}`);
    lines.push(`    redis: ${m.redis}`);
  }
  if (r.mismatches.length > limit) lines.push(`... and ${r.mismatches.length - limit} more`);
  return lines.join("\n");
}
