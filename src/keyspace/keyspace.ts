/**
 * The keyspace: the numbered databases plus the bookkeeping every write shares
 * (the dirty counter, hit/miss and expiry stats, the notification hook).
 *
 * Commands report what they changed through `notify`, which is where keyspace
 * notifications and (later) persistence hook in; the keyspace itself knows
 * nothing of sockets or files.
 *
 * @module
 */

import { Database } from "./database.ts";

/** Receives each keyspace event: class flag (as in notify-keyspace-events), event name, key. */
export type KeyspaceListener = (
  db: Database,
  type: string,
  event: string,
  key: string,
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
  private listeners: KeyspaceListener[] = [];

  constructor(count: number) {
    this.dbs = [];
    for (let i = 0; i < count; i++) this.dbs.push(this.makeDb(i));
  }

  private makeDb(id: number): Database {
    const db = new Database(id);
    db.onExpired = (d, key) => {
      this.stats.expiredKeys++;
      this.dirty++;
      this.notify(d, "x", "expired", key);
    };
    return db;
  }

  /** Changes the number of databases (only at start-up). */
  resize(count: number): void {
    while (this.dbs.length < count) this.dbs.push(this.makeDb(this.dbs.length));
    this.dbs.length = count;
  }

  /** Registers a listener for keyspace events. */
  onEvent(listener: KeyspaceListener): void {
    this.listeners.push(listener);
  }

  /** Reports an event (`type` is its notify-keyspace-events class letter). */
  notify(db: Database, type: string, event: string, key: string): void {
    for (const l of this.listeners) l(db, type, event, key);
  }

  /** Total keys in all databases. */
  totalKeys(): number {
    let n = 0;
    for (const db of this.dbs) n += db.size;
    return n;
  }

  /** Swaps two databases' contents (SWAPDB). */
  swap(a: number, b: number): void {
    if (a === b) return;
    this.dbs[a].swapWith(this.dbs[b]);
  }
}
