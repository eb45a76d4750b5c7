/**
 * The slow log: commands that took longer than `slowlog-log-slower-than`.
 *
 * @module
 */

/** One slow log record, as SLOWLOG GET reports it. */
export interface SlowLogEntry {
  id: number;
  /** Unix time in seconds. */
  time: number;
  /** Duration in microseconds. */
  durationUs: number;
  /** Arguments, already trimmed as Redis does (32 args, 128 bytes each). */
  args: Uint8Array[];
  addr: string;
  name: string;
}

const MAX_ARGS = 32;
const MAX_ARG_LEN = 128;
const enc = new TextEncoder();

/** A bounded list of slow commands, newest first. */
export class SlowLog {
  entries: SlowLogEntry[] = [];
  private nextId = 0;

  /** Records a command; `args` are copied and trimmed. */
  add(
    args: Uint8Array[],
    durationUs: number,
    addr: string,
    name: string,
    maxLen: number,
  ): void {
    const kept: Uint8Array[] = [];
    const n = Math.min(args.length, MAX_ARGS);
    for (let i = 0; i < n; i++) {
      if (i === MAX_ARGS - 1 && args.length > MAX_ARGS) {
        kept.push(enc.encode(`... (${args.length - MAX_ARGS + 1} more arguments)`));
        break;
      }
      const a = args[i];
      if (a.length > MAX_ARG_LEN) {
        const more = enc.encode(`... (${a.length - MAX_ARG_LEN} more bytes)`);
        const t = new Uint8Array(MAX_ARG_LEN + more.length);
        t.set(a.subarray(0, MAX_ARG_LEN));
        t.set(more, MAX_ARG_LEN);
        kept.push(t);
      } else kept.push(a.slice());
    }
    this.entries.unshift({
      id: this.nextId++,
      time: Math.floor(Date.now() / 1000),
      durationUs,
      args: kept,
      addr,
      name,
    });
    this.trim(maxLen);
  }

  /** Drops the oldest entries beyond `maxLen`. */
  trim(maxLen: number): void {
    if (this.entries.length > maxLen) this.entries.length = Math.max(0, maxLen);
  }

  /** Empties the log (SLOWLOG RESET). */
  reset(): void {
    this.entries = [];
  }
}
