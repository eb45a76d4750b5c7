/**
 * Active expiry, after Redis 7.0's `activeExpireCycle`.
 *
 * Each cron tick samples 20 keys with a TTL per database and deletes those
 * whose time has passed, repeating while more than 10% of a sample was
 * expired, within a time budget (25% of the tick). Keys nobody touches again
 * are therefore reclaimed within a few ticks of their TTL.
 *
 * @module
 */

import type { Keyspace } from "./keyspace.ts";

const KEYS_PER_LOOP = 20;
const ACCEPTABLE_STALE = 10; // percent

/** Runs one cycle over all databases within `budgetMs`. */
export function activeExpireCycle(keyspace: Keyspace, budgetMs: number): void {
  const start = performance.now();
  let sampledTotal = 0;
  let expiredTotal = 0;
  for (const db of keyspace.dbs) {
    if (db.volatile.size === 0) continue;
    while (true) {
      const [sampled, expired] = db.expireSample(KEYS_PER_LOOP);
      sampledTotal += sampled;
      expiredTotal += expired;
      if (sampled === 0 || expired * 100 <= sampled * ACCEPTABLE_STALE) break;
      if (performance.now() - start > budgetMs) break;
    }
    if (performance.now() - start > budgetMs) break;
  }
  const elapsed = performance.now() - start;
  keyspace.stats.expireCycleTimeUsed += Math.round(elapsed * 1000);
  if (sampledTotal > 0) {
    const perc = expiredTotal / sampledTotal;
    // Running average, as Redis keeps stat_expired_stale_perc.
    keyspace.stats.expiredStalePerc = perc * 0.05 +
      keyspace.stats.expiredStalePerc * 0.95;
  }
}
