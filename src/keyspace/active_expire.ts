/**
 * Active expiry, after Redis 7.0's `activeExpireCycle` (slow cycle).
 *
 * Each cron tick visits the databases round-robin, resuming where the last
 * tick ran out of time. Per database it samples 20 keys with a TTL and
 * deletes those whose time has passed, repeating while more than 10% of a
 * sample was expired, within a time budget (25% of the tick). Keys nobody
 * touches again are therefore reclaimed within a few ticks of their TTL,
 * and `expired_keys` counts each once (the key is gone after).
 *
 * @module
 */

import type { Keyspace } from "./keyspace.ts";

const KEYS_PER_LOOP = 20;
const ACCEPTABLE_STALE = 10; // percent

/** Database to start from on the next cycle, per keyspace. */
const nextDb = new WeakMap<Keyspace, number>();

/** Runs one cycle over the databases within `budgetMs`. */
export function activeExpireCycle(keyspace: Keyspace, budgetMs: number): void {
  const start = performance.now();
  const dbs = keyspace.dbs;
  let sampledTotal = 0;
  let expiredTotal = 0;
  let current = nextDb.get(keyspace) ?? 0;
  let timedOut = false;
  for (let n = 0; n < dbs.length && !timedOut; n++) {
    const db = dbs[current % dbs.length];
    current = (current + 1) % dbs.length;
    if (db.volatile.size === 0) continue;
    while (true) {
      const [sampled, expired] = db.expireSample(KEYS_PER_LOOP);
      sampledTotal += sampled;
      expiredTotal += expired;
      if (sampled === 0 || expired * 100 <= sampled * ACCEPTABLE_STALE) break;
      if (performance.now() - start > budgetMs) {
        // Resume with this database next time: it still has stale keys.
        current = (current + dbs.length - 1) % dbs.length;
        timedOut = true;
        break;
      }
    }
  }
  nextDb.set(keyspace, current);
  const elapsed = performance.now() - start;
  keyspace.stats.expireCycleTimeUsed += Math.round(elapsed * 1000);
  if (sampledTotal > 0) {
    const perc = expiredTotal / sampledTotal;
    // Running average, as Redis keeps stat_expired_stale_perc.
    keyspace.stats.expiredStalePerc = perc * 0.05 +
      keyspace.stats.expiredStalePerc * 0.95;
  }
}
