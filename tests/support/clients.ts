/**
 * Test support: an ioredis client for a server under test, always closed,
 * and INFO field reading.
 *
 * @module
 */

import { Redis } from "ioredis";

/** An ioredis client for 127.0.0.1:`port` that fails fast instead of retrying forever. */
export function client(port: number): Redis {
  return new Redis({ port, lazyConnect: false, maxRetriesPerRequest: 1 });
}

/** Runs `fn` with an ioredis client, always closed. */
export async function withClient<T>(port: number, fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = client(port);
  try {
    return await fn(r);
  } finally {
    r.disconnect();
  }
}

/** One field of an INFO section (default `persistence`); throws when it is missing. */
export async function infoField(
  r: Redis,
  name: string,
  section = "persistence",
): Promise<string> {
  const info = String(await r.info(section));
  const m = new RegExp(`^${name}:(.*)$`, "m").exec(info);
  if (!m) throw new Error(`no ${name} in INFO ${section}`);
  return m[1].trim();
}
