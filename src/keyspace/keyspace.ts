/**
 * The keyspace: the numbered databases plus the bookkeeping every write shares
 * (the dirty counter, hit/miss and expiry stats, the notification hook).
 *
 * Commands report what they changed through `notify`, which is where keyspace
 * notifications and (later) persistence hook in; the keyspace itself knows
 * nothing of sockets or files. Two events come from the databases themselves,
 * as in Redis: `new` (class `n`) when a key is created, and `expired` (class
 * `x`) when a key is removed because its TTL passed. Whole-database changes
 * (FLUSHDB, FLUSHALL, SWAPDB) have no per-key event; `onDbChange` listeners
 * hear about them (WATCH, persistence).
 *
 * @module
 */

import { Database, type Entry } from "./database.ts";

/** Receives each keyspace event: class flag (as in notify-keyspace-events), event name, key. */
export type KeyspaceListener = (
  db: Database,
  type: string,
  event: string,
  key: string,
) => void;

/** A whole-database change: `flushdb` (dbs = [db]), `flushall` (every db), `swapdb` (the two). */
export type DbChangeListener = (
  kind: "flushdb" | "flushall" | "swapdb",
  dbs: Database[],
) => void;

/** Counters INFO reports for the keyspace. */
export interface KeyspaceStats {
  hits: number;
  misses: number;
  expiredKeys: number;
  expiredStalePerc: number;
  expireCycleTimeUsed: number;
}

/** All databases and their shared bookkeeping. */
export class Keyspace {
  dbs: Database[];
  /** Writes since the last successful save (`rdb_changes_since_last_save`). */
  dirty = 0;
  readonly stats: KeyspaceStats = {
    hits: 0,
    misses: 0,
    expiredKeys: 0,
    expiredStalePerc: 0,
    expireCycleTimeUsed: 0,
  };
  /** True when an LFU maxmemory-policy is set (OBJECT FREQ vs IDLETIME). */
  lfu = false;
  private listeners: KeyspaceListener[] = [];
  private dbListeners: DbChangeListener[] = [];

  constructor(count: number) {
    this.dbs = [];
    for (let i = 0; i < count; i++) this.dbs.push(this.makeDb(i));
  }

  private makeDb(id: number): Database {
    const db = new Database(id);
    // Redis counts an expiry in stat_expiredkeys but not in server.dirty.
    db.onExpired = (d, key) => {
      this.stats.expiredKeys++;
      this.notify(d, "x", "expired", key);
    };
    db.onCreated = (d, key) => this.notify(d, "n", "new", key);
    db.lfu = this.lfu;
    return db;
  }

  /** Changes the number of databases (only at start-up). */
  resize(count: number): void {
    while (this.dbs.length < count) this.dbs.push(this.makeDb(this.dbs.length));
    this.dbs.length = count;
  }

  /**
   * Applies `maxmemory-policy` (and the LFU tuning knobs): LFU policies track
   * access frequency instead of idle time. Config code calls this on start-up
   * and on CONFIG SET.
   */
  setEvictionPolicy(policy: string, lfuLogFactor = 10, lfuDecayTime = 1): void {
    this.lfu = policy.includes("lfu");
    for (const db of this.dbs) {
      db.lfu = this.lfu;
      db.lfuLogFactor = lfuLogFactor;
      db.lfuDecayTime = lfuDecayTime;
    }
  }

  /** Registers a listener for keyspace events. */
  onEvent(listener: KeyspaceListener): void {
    this.listeners.push(listener);
  }

  /** Reports an event (`type` is its notify-keyspace-events class letter). */
  notify(db: Database, type: string, event: string, key: string): void {
    const ls = this.listeners;
    for (let i = 0; i < ls.length; i++) ls[i](db, type, event, key);
  }

  /** Registers a listener for FLUSHDB / FLUSHALL / SWAPDB. */
  onDbChange(listener: DbChangeListener): void {
    this.dbListeners.push(listener);
  }

  /**
   * Redis' lookupKeyRead: lazy expiry, access time, hit/miss stats and the
   * `keymiss` event. With `touch` false it is lookupKeyReadWithFlags
   * (LOOKUP_NOTOUCH), with `notifyMiss` false LOOKUP_NONOTIFY.
   */
  lookupRead(db: Database, key: string, touch = true, notifyMiss = true): Entry | undefined {
    const e = touch ? db.get(key) : db.peek(key);
    if (e === undefined) {
      this.stats.misses++;
      if (notifyMiss) this.notify(db, "m", "keymiss", key);
      return undefined;
    }
    this.stats.hits++;
    return e;
  }

  /** Total keys in all databases. */
  totalKeys(): number {
    let n = 0;
    for (const db of this.dbs) n += db.size;
    return n;
  }

  /** Empties one database (FLUSHDB), adding the keys removed to `dirty`. */
  flushDb(db: Database): void {
    this.dirty += db.size;
    db.clear();
    for (const l of this.dbListeners) l("flushdb", [db]);
  }

  /**
   * Empties every database (FLUSHALL), adding the keys removed to `dirty`
   * before the listeners run (Redis then saves when save points are set,
   * which resets it).
   */
  flushAll(): void {
    for (const db of this.dbs) {
      this.dirty += db.size;
      db.clear();
    }
    for (const l of this.dbListeners) l("flushall", this.dbs);
  }

  /** Swaps two databases' contents (SWAPDB). */
  swap(a: number, b: number): void {
    if (a !== b) this.dbs[a].swapWith(this.dbs[b]);
    for (const l of this.dbListeners) l("swapdb", [this.dbs[a], this.dbs[b]]);
  }
}
