/**
 * One numbered database: keys to typed values, with expiry times.
 *
 * Keys are latin1 strings (lossless for any bytes). Each entry carries its
 * type tag, so every command family shares one WRONGTYPE path, and its
 * absolute expiry in ms (0: none). Keys with a TTL are also kept in
 * `volatile`, which active expiry walks without touching persistent keys.
 *
 * Every entry gets a sequence number when it is created. Map iteration order
 * is creation order, so a SCAN cursor can be "the sequence number of the last
 * key returned": keys present for the whole scan keep their place and are
 * returned exactly once (see `scan`).
 *
 * @module
 */

/** Type tags, named as TYPE reports them. */
export type ValueType = "string" | "list" | "set" | "zset" | "hash" | "stream";

/** A stored value and its metadata. */
export interface Entry {
  type: ValueType;
  /** The value: `Uint8Array` for strings; later types bring their own. */
  value: unknown;
  /** Absolute expiry time in ms since the epoch, 0 when persistent. */
  expireAt: number;
  /** Creation sequence number, used as SCAN cursor. */
  seq: number;
  /** Last access time in ms (OBJECT IDLETIME). */
  atime: number;
  /** Set once a string was modified in place (OBJECT ENCODING raw). */
  raw?: boolean;
}

/** Receives every key removed because its TTL passed. */
export type ExpiredListener = (db: Database, key: string) => void;

/** A live scan position: the iterator that produced a cursor. */
interface ScanState {
  it: Iterator<[string, Entry]>;
  cursor: number;
}

const MAX_CACHED_SCANS = 256;

/** One database of the keyspace. */
export class Database {
  readonly id: number;
  dict = new Map<string, Entry>();
  volatile = new Set<string>();
  private nextSeq = 1;
  private scans = new Map<number, ScanState>();
  /** Iterator over `volatile` kept between active expiry cycles. */
  private expireCursor: Iterator<string> | null = null;
  /** Called for each key that expires (lazily or actively). */
  onExpired: ExpiredListener | null = null;
  /** Current time source, replaceable in tests. */
  now: () => number = Date.now;

  constructor(id: number) {
    this.id = id;
  }

  /** Number of keys, including expired ones not yet reclaimed. */
  get size(): number {
    return this.dict.size;
  }

  /** Looks a key up, deleting it first if its TTL has passed. */
  get(key: string): Entry | undefined {
    const e = this.dict.get(key);
    if (e === undefined) return undefined;
    if (e.expireAt !== 0 && e.expireAt <= this.now()) {
      this.expire(key);
      return undefined;
    }
    e.atime = this.now();
    return e;
  }

  /** Like `get` but leaves the access time alone (TYPE, EXISTS...). */
  peek(key: string): Entry | undefined {
    const e = this.dict.get(key);
    if (e === undefined) return undefined;
    if (e.expireAt !== 0 && e.expireAt <= this.now()) {
      this.expire(key);
      return undefined;
    }
    return e;
  }

  /** True when the key exists and is not expired. */
  has(key: string): boolean {
    return this.peek(key) !== undefined;
  }

  /**
   * Stores a value. With `keepTtl` an existing TTL survives; otherwise the
   * key becomes persistent (as SET does). Returns the entry.
   */
  set(key: string, type: ValueType, value: unknown, keepTtl = false): Entry {
    const old = this.peek(key);
    if (old !== undefined) {
      old.type = type;
      old.value = value;
      old.raw = false;
      old.atime = this.now();
      if (!keepTtl && old.expireAt !== 0) {
        old.expireAt = 0;
        this.volatile.delete(key);
      }
      return old;
    }
    const e: Entry = {
      type,
      value,
      expireAt: 0,
      seq: this.nextSeq++,
      atime: this.now(),
    };
    this.dict.set(key, e);
    return e;
  }

  /** Adds an entry taken from elsewhere (MOVE, COPY, RENAME), keeping its TTL. */
  insert(key: string, from: Entry): Entry {
    this.delete(key);
    const e: Entry = {
      type: from.type,
      value: from.value,
      expireAt: from.expireAt,
      seq: this.nextSeq++,
      atime: this.now(),
    };
    this.dict.set(key, e);
    if (e.expireAt !== 0) this.volatile.add(key);
    return e;
  }

  /** Removes a key; true if it existed (expired or not). */
  delete(key: string): boolean {
    const e = this.dict.get(key);
    if (e === undefined) return false;
    this.dict.delete(key);
    if (e.expireAt !== 0) this.volatile.delete(key);
    return true;
  }

  /** Sets or clears (`at` = 0) the absolute expiry of an existing key. */
  setExpire(key: string, at: number): void {
    const e = this.dict.get(key);
    if (e === undefined) return;
    e.expireAt = at;
    if (at === 0) this.volatile.delete(key);
    else this.volatile.add(key);
  }

  /** Deletes a key whose TTL passed and reports it. */
  private expire(key: string): void {
    this.delete(key);
    this.onExpired?.(this, key);
  }

  /** Removes every key. */
  clear(): void {
    this.dict.clear();
    this.volatile.clear();
    this.scans.clear();
    this.expireCursor = null;
  }

  /** Swaps contents with another database (SWAPDB). */
  swapWith(other: Database): void {
    [this.dict, other.dict] = [other.dict, this.dict];
    [this.volatile, other.volatile] = [other.volatile, this.volatile];
    [this.nextSeq, other.nextSeq] = [other.nextSeq, this.nextSeq];
    for (const d of [this, other]) {
      d.scans.clear();
      d.expireCursor = null;
    }
  }

  /** A uniformly random live key, or null when the database is empty. */
  randomKey(): string | null {
    // Expired keys found on the way are reclaimed; give up after a few
    // rounds of all-expired samples, as Redis does, and return one anyway.
    for (let tries = 0; tries < 100 && this.dict.size > 0; tries++) {
      let i = Math.floor(Math.random() * this.dict.size);
      for (const [key, e] of this.dict) {
        if (i-- > 0) continue;
        if (e.expireAt !== 0 && e.expireAt <= this.now()) {
          this.expire(key);
          break;
        }
        return key;
      }
    }
    return null;
  }

  /**
   * Visits about `count` entries from `cursor` on, calling `visit` for each
   * live key. Returns the next cursor, 0 when the scan is complete.
   *
   * The iterator behind a returned cursor is cached, so continuing a scan is
   * O(count); an unknown cursor (cache evicted, or made up) falls back to a
   * walk from the start skipping sequence numbers up to the cursor.
   */
  scan(
    cursor: number,
    count: number,
    visit: (key: string, e: Entry) => void,
  ): number {
    let state = cursor === 0 ? undefined : this.scans.get(cursor);
    if (state !== undefined) this.scans.delete(cursor);
    else {
      const it = this.dict.entries();
      if (cursor !== 0) {
        // Skip to the first entry created after the cursor.
        state = { it: this.skipTo(it, cursor), cursor };
      } else state = { it, cursor };
    }
    const now = this.now();
    let last = cursor;
    let seen = 0;
    const it = state.it;
    while (seen < count) {
      const r = it.next();
      if (r.done) return 0;
      const [key, e] = r.value;
      seen++;
      if (e.seq <= last) continue;
      last = e.seq;
      if (e.expireAt !== 0 && e.expireAt <= now) {
        this.expire(key);
        continue;
      }
      visit(key, e);
    }
    if (last === cursor) return 0;
    state.cursor = last;
    this.scans.set(last, state);
    if (this.scans.size > MAX_CACHED_SCANS) {
      const oldest = this.scans.keys().next().value!;
      this.scans.delete(oldest);
    }
    return last;
  }

  private skipTo(
    it: Iterator<[string, Entry]>,
    cursor: number,
  ): Iterator<[string, Entry]> {
    // Entries are in creation order, so the first seq above the cursor marks
    // the resume point; re-yield that one entry.
    while (true) {
      const r = it.next();
      if (r.done) return it;
      if (r.value[1].seq > cursor) {
        let first: IteratorResult<[string, Entry]> | null = r;
        return {
          next: () => {
            if (first !== null) {
              const f = first;
              first = null;
              return f;
            }
            return it.next();
          },
        };
      }
    }
  }

  /**
   * One step of active expiry: samples up to `sample` keys with a TTL,
   * deleting the expired ones. Returns [sampled, expired].
   */
  expireSample(sample: number): [number, number] {
    if (this.volatile.size === 0) return [0, 0];
    const now = this.now();
    let sampled = 0;
    let expired = 0;
    if (this.expireCursor === null) this.expireCursor = this.volatile.values();
    while (sampled < sample && sampled < this.volatile.size) {
      let r = this.expireCursor.next();
      if (r.done) {
        this.expireCursor = this.volatile.values();
        r = this.expireCursor.next();
        if (r.done) break;
      }
      sampled++;
      const key = r.value;
      const e = this.dict.get(key);
      if (e !== undefined && e.expireAt !== 0 && e.expireAt <= now) {
        this.expire(key);
        expired++;
      }
    }
    return [sampled, expired];
  }
}
