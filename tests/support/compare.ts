/**
 * Differential helpers: run the same commands on this server and on a real
 * redis-server and get both sides' raw reply bytes.
 *
 * @module
 */

import { RespConnection } from "./resp_connection.ts";
import { text } from "./resp.ts";
import { hasRedis, withRedis } from "./servers.ts";

/** Sends each command on one fresh connection and returns each raw reply as latin1. */
export async function rawReplies(
  port: number,
  commands: readonly (readonly string[])[],
): Promise<string[]> {
  const c = await RespConnection.connect(port);
  try {
    const out: string[] = [];
    for (const cmd of commands) out.push(text((await c.call(cmd)).raw));
    return out;
  } finally {
    await c.close();
  }
}

/**
 * The raw replies a real redis-server gives to `commands` (started with
 * `args`), or null when redis-server is not installed.
 */
export async function redisReplies(
  commands: readonly (readonly string[])[],
  args: string[] = [],
): Promise<string[] | null> {
  if (!hasRedis) return null;
  return await withRedis(args, (srv) => rawReplies(srv.port, commands));
}

/** Field names of a `k1=v1 k2=v2` line (CLIENT LIST) or the `k:v` lines of an INFO section. */
export function fieldNames(line: string, sep: "=" | ":"): string[] {
  if (sep === "=") return line.trim().split(" ").map((f) => f.slice(0, f.indexOf("=")));
  return line.split("\r\n").filter((l) => l.includes(":")).map((l) => l.slice(0, l.indexOf(":")));
}
