/**
 * Helpers shared by the pub/sub tests: expected frame bytes, reading a
 * number of frames, polling a condition, and the reply shapes PUBSUB and
 * INFO return.
 *
 * @module
 */

import { RespConnection } from "./resp_connection.ts";
import { bytes, type RespValue, text } from "./resp.ts";

/** A frame element: bulk string (latin1), integer, or null (`$-1` / `_`). */
export type FramePart = string | number | null;

/**
 * The exact bytes of an array (RESP2) or push (RESP3) of `parts`, as a
 * latin1 string: `frame(2, "subscribe", "news", 1)`.
 */
export function frame(resp: 2 | 3, ...parts: FramePart[]): string {
  let s = `${resp === 3 ? ">" : "*"}${parts.length}\r\n`;
  for (const p of parts) {
    if (p === null) s += resp === 3 ? "_\r\n" : "$-1\r\n";
    else if (typeof p === "number") s += `:${p}\r\n`;
    else s += `$${p.length}\r\n${p}\r\n`;
  }
  return s;
}

/** Reads `n` whole replies and returns their raw bytes joined, as latin1. */
export async function readRaw(conn: RespConnection, n: number, timeoutMs = 5000): Promise<string> {
  let s = "";
  for (let i = 0; i < n; i++) s += text((await conn.reply(timeoutMs)).raw);
  return s;
}

/** Sends an inline (telnet-style) line and reads `n` replies as latin1. */
export async function inline(conn: RespConnection, line: string, n = 1): Promise<string> {
  await conn.send(bytes(line + "\r\n"));
  return await readRaw(conn, n);
}

/** Sends a command and returns the raw reply as latin1. */
export async function callRaw(
  conn: RespConnection,
  args: readonly (string | Uint8Array)[],
): Promise<string> {
  return text((await conn.call(args)).raw);
}

/** True when no reply arrives within `ms` (nothing was delivered). */
export async function silent(conn: RespConnection, ms = 200): Promise<boolean> {
  try {
    await conn.reply(ms);
    return false;
  } catch {
    return true;
  }
}

/** The elements of an array/set/push reply of bulk strings, as latin1 strings. */
export function strings(v: RespValue): string[] {
  const list = v.type === "array" || v.type === "set" || v.type === "push" ? v.value : null;
  if (list === null) throw new Error(`expected an array, got ${v.type}`);
  return list.map((x) => {
    if (x.type !== "bulk" || x.value === null) throw new Error(`expected bulk, got ${x.type}`);
    return text(x.value);
  });
}

/** The integer of an integer reply. */
export function int(v: RespValue): number {
  if (v.type !== "integer") throw new Error(`expected an integer, got ${v.type}`);
  return Number(v.value);
}

/** Polls `check` every 20 ms until it returns true; throws after `ms`. */
export async function eventually(
  check: () => Promise<boolean> | boolean,
  what: string,
  ms = 5000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A field of INFO (any section), or undefined when absent or INFO is unsupported. */
export async function infoField(port: number, name: string): Promise<string | undefined> {
  const c = await RespConnection.connect(port);
  try {
    const r = (await c.call(["INFO", "everything"])).value;
    if (r.type !== "bulk" && r.type !== "verbatim") return undefined;
    const body = r.value === null ? "" : text(r.value);
    const m = new RegExp(`^${name}:(.*)\\r?$`, "m").exec(body);
    return m?.[1];
  } finally {
    await c.close();
  }
}

/** PUBSUB CHANNELS / NUMPAT / SHARDCHANNELS in one go (for leak checks). */
export async function pubsubState(
  port: number,
): Promise<{ channels: string[]; numpat: number; shard: string[] }> {
  const c = await RespConnection.connect(port);
  try {
    const channels = strings((await c.call(["PUBSUB", "CHANNELS"])).value);
    const numpat = int((await c.call(["PUBSUB", "NUMPAT"])).value);
    const shard = strings((await c.call(["PUBSUB", "SHARDCHANNELS"])).value);
    return { channels, numpat, shard };
  } finally {
    await c.close();
  }
}
