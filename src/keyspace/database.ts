/**
 * One numbered database: keys to typed values, with expiry times.
 *
 * Keys are latin1 strings (lossless for any bytes). Each entry carries its
 * type tag, so every command family shares one WRONGTYPE path, and its
 * absolute expiry in ms (0: none). Keys with a TTL are also kept in
 * `volatile`, which active expiry walks without touching persistent keys.
 *
 * Creation order index: every entry gets a sequence number when it is
 * created (never reused, shared by all databases), and `order` lists the
 * keys by sequence number, with deleted slots left as holes until a
 * compaction. SCAN's cursor is "the sequence number of the last slot
 * visited": resuming is a binary search, and a key present for the whole
 * scan keeps its slot, so it is returned exactly once however many keys are
 * added or removed meanwhile; and a scan ends at the newest key that existed
 * when it began, so it terminates however fast keys are created. The same
 * index gives RANDOMKEY an O(1) pick.
 *
 * Values are replaced, not mutated: a stored `Uint8Array` keeps its bytes
 * (a snapshot or a reply in flight may hold it), and commands that change a
 * string store a new array. The one exception is spare capacity past the end
 * of a string grown by APPEND, which no other view covers
 * (`StringEncoding.Growable`).
 *
 * Other families' values may implement {@link ValueBehaviour} to answer
 * OBJECT ENCODING and COPY.
 *
 * Point-in-time snapshots by copy-on-write ({@link DbSnapshot}), for BGSAVE
 * and the AOF rewrite without fork: taking one is O(1) (it remembers the
 * highest sequence number in use, and references the content's map and
 * creation index), and it is read in creation order over many event-loop
 * turns while commands keep writing. Every mutation of an existing entry
 * goes through this class (`set`, `replaceValue`, `setExpire`, `delete` and
 * so `insert` and expiry), which first hands the entry to each attached
 * snapshot: one that has not read it yet keeps a copy (the before-image:
 * value reference and expiry; sharing the value is safe because values are
 * replaced, never mutated, as said above). A snapshot reads its slots by
 * position, so the index is not compacted while one is attached (deleted
 * keys stay holes, their sequence numbers findable in the before-images).
 * FLUSHDB replaces the content (`clear`), so the old map and index are
 * frozen as they are and the snapshot just detaches; SWAPDB moves the
 * attached snapshots with the content they read. The cost of a snapshot is
 * therefore O(1) to take, one array-length test per write, and one copy per
 * key changed before it was read, instead of an O(keys) synchronous copy
 * that stalled every client (~150 ms for 1M keys).
 *
 * @module
 */

/** Type tags, named as TYPE reports them. */
export type ValueType = "string" | "list" | "set" | "zset" | "hash" | "stream";

/**
 * How a string value is held, for OBJECT ENCODING / REFCOUNT. Redis decides
 * this when the value object is created, so commands record how they made it.
 */
export const StringEncoding = {
  /** As Redis' tryObjectEncoding leaves it: int, embstr (<= 44 bytes) or raw; small ints shared. */
  Auto: 0,
  /** An int that is not shared (COPY of an int). */
  Int: 1,
  /** embstr or raw by length, never int (INCRBYFLOAT results). */
  Plain: 2,
  /** raw (APPEND to an existing key, SETRANGE). */
  Raw: 3,
  /** raw, and the bytes past the value's end in its buffer are this entry's to grow into. */
  Growable: 4,
} as const;

/** A stored value and its metadata. */
export interface Entry {
  type: ValueType;
  /** The value: `Uint8Array` for strings; other types bring their own. */
  value: unknown;
  /** Absolute expiry time in ms since the epoch, 0 when persistent. */
  expireAt: number;
  /**
   * The exact expiry when it is beyond 2^53 ms (`expireAt` then holds it
   * rounded): set only by PEXPIREAT and friends with far-future times, so
   * PEXPIRETIME reads back what was given. Use `expireTime(e)` to read.
   */
  expireExact?: bigint;
  /** Creation sequence number (SCAN cursor, creation order). */
  seq: number;
  /** Last access time in ms (OBJECT IDLETIME; LFU decay). */
  atime: number;
  /** String representation, one of `StringEncoding`. */
  enc: number;
  /** LFU counter (OBJECT FREQ), maintained when an LFU policy is set. */
  freq: number;
}

/**
 * Optional methods a non-string value can implement. Without them OBJECT
 * ENCODING reports Redis' encoding for large values of the type, and COPY
 * uses `structuredClone`.
 */
export interface ValueBehaviour {
  /** The OBJECT ENCODING name (`listpack`, `quicklist`, `intset`...). */
  encoding?(): string;
  /** A deep copy for COPY. */
  clone?(): unknown;
}

/** An entry's absolute expiry in ms, exact (0: none). */
export function expireTime(e: Entry): number | bigint {
  return e.expireExact ?? e.expireAt;
}

/** Receives every key removed because its TTL passed, or created. */
export type KeyListener = (db: Database, key: string) => void;

/**
 * The clock for access times (OBJECT IDLETIME, LFU decay), like Redis' LRU
 * clock: refreshed by the server cron rather than read per access, which
 * saves a clock call on every lookup. Expiry always uses the exact time.
 */
export const accessClock = { now: Date.now() };

/** Redis' LFU_INIT_VAL: the counter of a new key. */
export const LFU_INIT_VAL = 5;

/** Scan bounds remembered per database (abandoned scans are forgotten oldest first). */
const MAX_SCAN_BOUNDS = 10000;

/** Sequence numbers are global so cursors stay meaningful across SWAPDB. */
let nextSeq = 1;

/** One database of the keyspace. */
export class Database {
  readonly id: number;
  /** Keys to entries. Read-only outside: writes go through `set`/`insert`/`delete`. */
  private map = new Map<string, Entry>();
  /** Keys that have a TTL. */
  private ttlKeys = new Set<string>();
  /** Keys by creation (null: deleted), and their sequence numbers, ascending. */
  private order: (string | null)[] = [];
  private seqs: number[] = [];
  private holes = 0;
  /** Scan bound (last sequence number to visit) of each cursor handed out. */
  private scanBounds = new Map<number, number>();
  /** Snapshots reading this content that still need before-images (see {@link DbSnapshot}). */
  private snapshots: DbSnapshot[] = [];
  /** Iterator over `volatile` kept between active expiry cycles. */
  private expireCursor: Iterator<string> | null = null;
  /** Called for each key that expires (lazily or actively), after removal. */
  onExpired: KeyListener | null = null;
  /** Called for each key created (Redis' `new` event), right after insertion. */
  onCreated: KeyListener | null = null;
  /** Current time source, replaceable in tests. */
  now: () => number = Date.now;
  /** Track access frequency instead of time (an LFU maxmemory-policy is set). */
  lfu = false;
  lfuLogFactor = 10;
  /** Minutes per decrement of the LFU counter. */
  lfuDecayTime = 1;

  constructor(id: number) {
    this.id = id;
  }

  /**
   * Every entry, expired ones included until reclaimed (KEYS, persistence).
   * Read-only: writing it directly would bypass the creation index.
   */
  get dict(): ReadonlyMap<string, Entry> {
    return this.map;
  }

  /** Keys with a TTL (active expiry, INFO's `expires`). */
  get volatile(): ReadonlySet<string> {
    return this.ttlKeys;
  }

  /** Number of keys, including expired ones not yet reclaimed. */
  get size(): number {
    return this.map.size;
  }

  /** True when the entry's TTL has passed. */
  isExpired(e: Entry): boolean {
    return e.expireAt !== 0 && e.expireAt <= this.now();
  }

  /**
   * Looks a key up for a command that uses it (Redis' lookupKey): deletes it
   * first if its TTL has passed, and records the access (LRU time or LFU).
   */
  get(key: string): Entry | undefined {
    const e = this.map.get(key);
    if (e === undefined) return undefined;
    if (e.expireAt !== 0 && e.expireAt <= this.now()) {
      this.expire(key);
      return undefined;
    }
    if (this.lfu) this.lfuTouch(e);
    else e.atime = accessClock.now;
    return e;
  }

  /** Like `get` but leaves the access time alone (TYPE, EXISTS, TTL...). */
  peek(key: string): Entry | undefined {
    const e = this.map.get(key);
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
   * Stores a value (Redis' setKey). With `keepTtl` an existing TTL survives;
   * otherwise the key becomes persistent. An existing entry is updated in
   * place (it keeps its creation slot); the string encoding resets to Auto.
   */
  set(key: string, type: ValueType, value: unknown, keepTtl = false): Entry {
    const old = this.peek(key);
    if (old !== undefined) {
      if (this.snapshots.length !== 0) this.preserve(key, old);
      old.type = type;
      old.value = value;
      old.enc = StringEncoding.Auto;
      old.atime = accessClock.now;
      if (!keepTtl && old.expireAt !== 0) {
        old.expireAt = 0;
        if (old.expireExact !== undefined) old.expireExact = undefined;
        this.ttlKeys.delete(key);
      }
      return old;
    }
    return this.add(key, type, value, 0);
  }

  /**
   * Stores a new value in an existing entry, keeping its TTL, creation slot
   * and access data (INCR, APPEND, SETRANGE).
   */
  replaceValue(key: string, e: Entry, value: unknown, enc: number): void {
    if (this.snapshots.length !== 0) this.preserve(key, e);
    e.value = value;
    e.enc = enc;
  }

  /** Creates a key known to be absent; fires `onCreated` unless told not to. */
  private add(
    key: string,
    type: ValueType,
    value: unknown,
    expireAt: number,
    announce = true,
  ): Entry {
    const seq = nextSeq++;
    const e: Entry = {
      type,
      value,
      expireAt,
      seq,
      atime: accessClock.now,
      enc: StringEncoding.Auto,
      freq: LFU_INIT_VAL,
    };
    this.map.set(key, e);
    this.order.push(key);
    this.seqs.push(seq);
    if (expireAt !== 0) this.ttlKeys.add(key);
    if (announce) this.onCreated?.(this, key);
    return e;
  }

  /**
   * Adds a string key read from a file at start-up (RDB load), with its
   * absolute expiry (0: none). False, with nothing changed, when the key
   * already exists: a duplicate the loader reports. One lookup and one
   * insert per key, and no keyspace event (Redis sends none while loading):
   * the cost of loading a large file is mostly these map operations.
   */
  loadKey(key: string, value: unknown, expireAt: number | bigint): boolean {
    if (this.map.has(key)) return false;
    const exact = typeof expireAt === "bigint";
    const e = this.add(key, "string", value, exact ? Number(expireAt) : expireAt, false);
    if (exact) e.expireExact = expireAt;
    return true;
  }

  /**
   * Adds an entry taken from elsewhere (MOVE, COPY, RENAME), replacing any
   * entry under `key`, keeping the TTL, encoding and access data of `from`.
   */
  insert(key: string, from: Entry): Entry {
    this.delete(key);
    const e = this.add(key, from.type, from.value, from.expireAt);
    e.enc = from.enc;
    e.atime = from.atime;
    e.freq = from.freq;
    if (from.expireExact !== undefined) e.expireExact = from.expireExact;
    return e;
  }

  /** Removes a key; true if it existed (expired or not). */
  delete(key: string): boolean {
    const e = this.map.get(key);
    if (e === undefined) return false;
    if (this.snapshots.length !== 0) this.preserve(key, e);
    this.map.delete(key);
    if (e.expireAt !== 0) this.ttlKeys.delete(key);
    this.unindex(e.seq);
    return true;
  }

  /**
   * Sets or clears (`at` = 0) the absolute expiry of an existing key; a
   * bigint `at` (beyond 2^53 ms) is also kept exactly.
   */
  setExpire(key: string, at: number | bigint): void {
    const e = this.map.get(key);
    if (e === undefined) return;
    if (this.snapshots.length !== 0) this.preserve(key, e);
    if (typeof at === "bigint") {
      e.expireAt = Number(at);
      e.expireExact = at;
    } else {
      e.expireAt = at;
      if (e.expireExact !== undefined) e.expireExact = undefined;
    }
    if (at === 0) this.ttlKeys.delete(key);
    else this.ttlKeys.add(key);
  }

  /** Deletes a key whose TTL passed and reports it. */
  private expire(key: string): void {
    this.delete(key);
    this.onExpired?.(this, key);
  }

  /** Removes every key. */
  clear(): void {
    // The old content is never written again: snapshots keep reading it as it is.
    for (const s of this.snapshots) s.detach();
    this.snapshots = [];
    this.map = new Map();
    this.ttlKeys = new Set();
    this.order = [];
    this.seqs = [];
    this.holes = 0;
    this.expireCursor = null;
  }

  /** Swaps contents with another database (SWAPDB). */
  swapWith(other: Database): void {
    [this.map, other.map] = [other.map, this.map];
    [this.ttlKeys, other.ttlKeys] = [other.ttlKeys, this.ttlKeys];
    [this.order, other.order] = [other.order, this.order];
    [this.seqs, other.seqs] = [other.seqs, this.seqs];
    [this.holes, other.holes] = [other.holes, this.holes];
    [this.snapshots, other.snapshots] = [other.snapshots, this.snapshots];
    for (const s of this.snapshots) s.holder = this;
    for (const s of other.snapshots) s.holder = other;
    this.expireCursor = null;
    other.expireCursor = null;
  }

  /** Index of the first slot whose sequence number is above `seq`. */
  private slotAfter(seq: number): number {
    const seqs = this.seqs;
    let lo = 0;
    let hi = seqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (seqs[mid] <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Leaves a hole in the creation index; compacts when holes dominate. */
  private unindex(seq: number): void {
    const i = this.slotAfter(seq) - 1;
    if (i < 0 || this.seqs[i] !== seq || this.order[i] === null) return;
    this.order[i] = null;
    this.holes++;
    if (this.holes > 64 && this.holes * 2 > this.order.length) this.compact();
  }

  /** Closes the holes of the creation index, unless a snapshot reads it by position. */
  private compact(): void {
    if (this.snapshots.length !== 0) return;
    const order = this.order;
    const seqs = this.seqs;
    let j = 0;
    for (let i = 0; i < order.length; i++) {
      if (order[i] === null) continue;
      order[j] = order[i];
      seqs[j] = seqs[i];
      j++;
    }
    order.length = j;
    seqs.length = j;
    this.holes = 0;
  }

  /**
   * A point-in-time view of this database's keys (see {@link DbSnapshot}).
   * Must be read to the end or released. An empty database gives an empty,
   * unattached snapshot.
   */
  snapshot(): DbSnapshot {
    const s = new DbSnapshot(this, this.map, this.order, this.seqs, nextSeq - 1);
    if (s.size > 0) this.snapshots.push(s);
    else s.release();
    return s;
  }

  /** Hands an entry about to change or go to every attached snapshot. */
  private preserve(key: string, e: Entry): void {
    for (const s of this.snapshots) s.keep(key, e);
  }

  /** Stops giving `s` before-images (called by `DbSnapshot.release`). */
  unattach(s: DbSnapshot): void {
    const i = this.snapshots.indexOf(s);
    if (i >= 0) this.snapshots.splice(i, 1);
  }

  /**
   * A uniformly random live key, or null when the database is empty.
   * Expired keys picked on the way are reclaimed, as Redis' dbRandomKey does.
   */
  randomKey(): string | null {
    while (this.map.size > 0) {
      if (this.holes * 2 > this.order.length) this.compact();
      // While a snapshot blocks compaction, picks may meet more holes: more tries, same odds.
      if (this.order.length === this.holes) return null; // index out of step: never loop
      const key = this.order[Math.floor(Math.random() * this.order.length)];
      if (key === null) continue;
      const e = this.map.get(key)!;
      if (e.expireAt !== 0 && e.expireAt <= this.now()) {
        this.expire(key);
        continue;
      }
      return key;
    }
    return null;
  }

  /**
   * Visits the next `count` slots after `cursor` (0: from the start),
   * calling `visit` for each live key; expired keys met are reclaimed.
   * Returns the cursor to continue from, 0 when the scan is complete.
   *
   * A scan stops at the last key that existed when it started (the bound is
   * kept per returned cursor in `scanBounds`), so a collection of bounded
   * size is always scanned in a bounded number of calls however fast keys
   * are created; a cursor whose bound was forgotten just runs to the end.
   */
  scan(
    cursor: number,
    count: number,
    visit: (key: string, e: Entry) => void,
  ): number {
    let i = cursor <= 0 ? 0 : this.slotAfter(cursor);
    let bound = nextSeq - 1;
    if (cursor > 0) {
      bound = this.scanBounds.get(cursor) ?? Infinity;
      this.scanBounds.delete(cursor);
    }
    let last = cursor;
    const now = this.now();
    for (let seen = 0; seen < count && i < this.order.length; seen++, i++) {
      if (this.seqs[i] > bound) return 0;
      const key = this.order[i];
      last = this.seqs[i];
      if (key === null) continue;
      const e = this.map.get(key)!;
      if (e.expireAt !== 0 && e.expireAt <= now) {
        // Deleting may compact the index: find our place again by seq.
        this.expire(key);
        i = this.slotAfter(last) - 1;
        continue;
      }
      visit(key, e);
    }
    if (i >= this.order.length || this.seqs[i] > bound) return 0;
    // Remember the bound for the cursor returned; on a collision between two
    // scans keep the later bound, which can only return more keys.
    const prev = this.scanBounds.get(last);
    this.scanBounds.set(last, prev === undefined ? bound : Math.max(prev, bound));
    if (this.scanBounds.size > MAX_SCAN_BOUNDS) {
      this.scanBounds.delete(this.scanBounds.keys().next().value!);
    }
    return last;
  }

  /**
   * One step of active expiry: samples up to `sample` keys with a TTL,
   * deleting the expired ones. Returns [sampled, expired].
   */
  expireSample(sample: number): [number, number] {
    if (this.ttlKeys.size === 0) return [0, 0];
    const now = this.now();
    let sampled = 0;
    let expired = 0;
    if (this.expireCursor === null) this.expireCursor = this.ttlKeys.values();
    while (sampled < sample && this.ttlKeys.size > 0) {
      let r = this.expireCursor.next();
      if (r.done) {
        // Wrapped around: stop here so one call never sees a key twice.
        this.expireCursor = this.ttlKeys.values();
        if (sampled > 0) break;
        r = this.expireCursor.next();
        if (r.done) break;
      }
      sampled++;
      const key = r.value;
      const e = this.map.get(key);
      if (e !== undefined && e.expireAt !== 0 && e.expireAt <= now) {
        this.expire(key);
        expired++;
      }
    }
    return [sampled, expired];
  }

  /** Redis' updateLFU: decay by idle minutes, then a logarithmic increment. */
  private lfuTouch(e: Entry): void {
    let counter = this.lfuDecayed(e);
    if (counter < 255) {
      const base = Math.max(0, counter - LFU_INIT_VAL);
      if (Math.random() < 1 / (base * this.lfuLogFactor + 1)) counter++;
    }
    e.freq = counter;
    e.atime = accessClock.now;
  }

  /** Redis' LFUDecrAndReturn: the counter after decay for idle minutes. */
  lfuDecayed(e: Entry): number {
    if (this.lfuDecayTime <= 0) return e.freq;
    const minutes = Math.floor((accessClock.now - e.atime) / 60000);
    const periods = Math.floor(minutes / this.lfuDecayTime);
    return periods > e.freq ? 0 : e.freq - periods;
  }
}

/**
 * One database as it was when `Database.snapshot()` was called, read once
 * in creation order with `next()` while commands keep changing the live
 * database. Slots up to `bound` (the newest sequence number at the
 * snapshot's instant) are read by position; a key changed or deleted before
 * its slot was read is read from the before-image the database handed to
 * `keep`. Keys created later have higher sequence numbers and are never
 * read. Reading to the end, or `release()`, detaches it.
 *
 * Access data (`atime`, `freq`) is not part of the before-image: reads
 * during the snapshot may show in the LRU/LFU info of keys not yet read.
 */
export class DbSnapshot {
  /** The database index at the snapshot's instant. */
  readonly index: number;
  /** Number of keys at the snapshot's instant. */
  readonly size: number;
  /** Number of keys with a TTL at the snapshot's instant. */
  readonly expires: number;
  /** The key of the entry `next()` returned last. */
  key = "";
  /** The database now holding the content read (SWAPDB moves it), null once detached. */
  holder: Database | null;
  private map: ReadonlyMap<string, Entry>;
  private order: readonly (string | null)[];
  private seqs: readonly number[];
  private readonly bound: number;
  private pos = 0;
  /** Sequence number of the last slot read: entries up to it need no before-image. */
  private visited = 0;
  /** Before-images of entries changed before being read, by sequence number. */
  private kept = new Map<number, [string, Entry]>();

  /** Internal: made by `Database.snapshot()`, which attaches it. */
  constructor(
    db: Database,
    map: ReadonlyMap<string, Entry>,
    order: readonly (string | null)[],
    seqs: readonly number[],
    bound: number,
  ) {
    this.index = db.id;
    this.size = map.size;
    this.expires = db.volatile.size;
    this.holder = db;
    this.map = map;
    this.order = order;
    this.seqs = seqs;
    this.bound = bound;
  }

  /** Called by the database before `e` changes or goes: keeps a copy if not read yet. */
  keep(key: string, e: Entry): void {
    if (e.seq > this.bound || e.seq <= this.visited || this.kept.has(e.seq)) return;
    this.kept.set(e.seq, [key, { ...e }]);
  }

  /**
   * The next entry as it was at the snapshot's instant (its key in `key`),
   * or null at the end. The entry must be used before the next event-loop
   * turn: a live entry may change after that.
   */
  next(): Entry | null {
    const order = this.order;
    const seqs = this.seqs;
    while (this.pos < order.length) {
      const seq = seqs[this.pos];
      if (seq > this.bound) break;
      const key = order[this.pos++];
      this.visited = seq;
      const before = this.kept.get(seq);
      if (before !== undefined) {
        this.kept.delete(seq);
        this.key = before[0];
        return before[1];
      }
      // A hole with no before-image: deleted before the snapshot was taken.
      if (key === null) continue;
      this.key = key;
      return this.map.get(key)!;
    }
    this.release();
    return null;
  }

  /** Stops following changes: the content read is frozen (FLUSHDB replaced it). */
  detach(): void {
    this.holder = null;
  }

  /** Detaches and drops everything held; `next()` then returns null. */
  release(): void {
    this.holder?.unattach(this);
    this.holder = null;
    this.kept.clear();
    this.map = new Map();
    this.order = [];
    this.seqs = [];
    this.pos = 0;
  }
}
