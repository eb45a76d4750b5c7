/**
 * `notify-keyspace-events` classes as Redis 7.0 encodes them: one bit per
 * class letter, `A` as the alias for `g$lshzxetd`, and the canonical string
 * CONFIG GET shows (`AKE`, `gxE`...).
 *
 * The server keeps both forms in `ServerConfig`: `notifyKeyspaceEvents`
 * (the canonical string) and `notifyKeyspaceEventsFlags` (the bits, for a
 * cheap per-event test with `notifyEnabled`).
 *
 * @module
 */

/** Bit of each class letter (Redis' NOTIFY_* constants). */
export const NOTIFY = {
  K: 1 << 0, // keyspace channel
  E: 1 << 1, // keyevent channel
  g: 1 << 2,
  $: 1 << 3,
  l: 1 << 4,
  s: 1 << 5,
  h: 1 << 6,
  z: 1 << 7,
  x: 1 << 8,
  e: 1 << 9,
  t: 1 << 10,
  m: 1 << 11, // key miss (not part of A)
  d: 1 << 12, // module
  n: 1 << 13, // new key (not part of A)
} as const;

/** The classes `A` stands for. */
export const NOTIFY_ALL = NOTIFY.g | NOTIFY.$ | NOTIFY.l | NOTIFY.s | NOTIFY.h | NOTIFY.z |
  NOTIFY.x | NOTIFY.e | NOTIFY.t | NOTIFY.d;

/** Parses a class string (`keyspaceEventsStringToFlags`); null on a bad letter. */
export function parseNotifyFlags(classes: string): number | null {
  let flags = 0;
  for (const c of classes) {
    if (c === "\0") break; // C string: stops at NUL
    if (c === "A") flags |= NOTIFY_ALL;
    else if (Object.hasOwn(NOTIFY, c)) flags |= NOTIFY[c as keyof typeof NOTIFY];
    else return null;
  }
  return flags;
}

/** Canonical string of a flag set (`keyspaceEventsFlagsToString`). */
export function formatNotifyFlags(flags: number): string {
  let s = "";
  if ((flags & NOTIFY_ALL) === NOTIFY_ALL) {
    s = "A";
  } else {
    for (const c of "g$lshzxetdn") {
      if (flags & NOTIFY[c as keyof typeof NOTIFY]) s += c;
    }
  }
  if (flags & NOTIFY.K) s += "K";
  if (flags & NOTIFY.E) s += "E";
  if (flags & NOTIFY.m) s += "m";
  return s;
}

/**
 * True when an event of class `letter` (as passed to `Keyspace.notify`)
 * must be published on `channel` ("K" keyspace or "E" keyevent).
 */
export function notifyEnabled(flags: number, letter: string, channel: "K" | "E"): boolean {
  const bit = NOTIFY[letter as keyof typeof NOTIFY] ?? 0;
  return (flags & bit) !== 0 && (flags & NOTIFY[channel]) !== 0;
}
