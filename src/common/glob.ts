/**
 * Glob-style matching with the semantics of Redis' `stringmatchlen`.
 *
 * One matcher serves KEYS, SCAN MATCH, CONFIG GET, PUBSUB CHANNELS and
 * PSUBSCRIBE. Patterns and subjects are latin1 strings, so every byte value
 * matches literally. Supported: `*`, `?`, `[abc]`, `[^a]`, `[a-z]` (reversed
 * ranges allowed), backslash escapes, and Redis' treatment of malformed
 * patterns (an unterminated class runs to the end of the pattern; in `[a-]`
 * the `-` starts a range ending at `]`), its signed-char ranges, and its
 * rule that only the empty pattern matches the empty string.
 *
 * The pattern is compiled once into tokens that each match exactly one byte,
 * plus stars; matching is the classic two-pointer backtracking walk, linear
 * in practice and free of the deep recursion the C version guards against.
 *
 * @module
 */

const STAR = 0;
const ANY = 1;
const LITERAL = 2;
const CLASS = 3;

interface Token {
  kind: number;
  /** LITERAL: char code (lower-cased when nocase). */
  code: number;
  /** CLASS: 256 flags, one per byte. */
  set: Uint8Array | null;
  negate: boolean;
}

function lower(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

const ITEM_BYTE = 0;
const ITEM_ESCAPED = 1;
const ITEM_RANGE = 2;

/** One member of a `[...]` class: a byte, an escaped byte, or a range a-b. */
interface ClassItem {
  kind: number;
  a: number;
  b: number;
}

/** Byte as C's (signed) `char` on the platforms Redis runs on. */
function signedChar(c: number): number {
  return c >= 128 ? c - 256 : c;
}

/**
 * Whether byte `x` is in a class, evaluated exactly as `stringmatchlen`
 * does: escaped bytes compare case-sensitively even when nocase; ranges
 * compare signed chars (so `[a-\xff]` is the range -1..97), swapped when
 * reversed, and lower-cased after the swap when nocase.
 */
function classHas(items: readonly ClassItem[], x: number, nocase: boolean): boolean {
  for (const it of items) {
    if (it.kind === ITEM_ESCAPED) {
      if (it.a === x) return true;
    } else if (it.kind === ITEM_RANGE) {
      let start = signedChar(it.a);
      let end = signedChar(it.b);
      let c = signedChar(x);
      if (start > end) [start, end] = [end, start];
      if (nocase) {
        start = lower(start);
        end = lower(end);
        c = lower(c);
      }
      if (c >= start && c <= end) return true;
    } else if (nocase ? lower(it.a) === lower(x) : it.a === x) {
      return true;
    }
  }
  return false;
}

function compile(pattern: string, nocase: boolean): Token[] {
  const tokens: Token[] = [];
  const n = pattern.length;
  let p = 0;
  while (p < n) {
    const c = pattern.charCodeAt(p);
    if (c === 42) { // '*'
      if (tokens.length === 0 || tokens[tokens.length - 1].kind !== STAR) {
        tokens.push({ kind: STAR, code: 0, set: null, negate: false });
      }
      p++;
    } else if (c === 63) { // '?'
      tokens.push({ kind: ANY, code: 0, set: null, negate: false });
      p++;
    } else if (c === 91) { // '['
      p++;
      const negate = p < n && pattern.charCodeAt(p) === 94; // '^'
      if (negate) p++;
      const items: ClassItem[] = [];
      while (p < n) {
        const d = pattern.charCodeAt(p) & 255;
        if (d === 92 && n - p >= 2) { // escaped char
          items.push({ kind: ITEM_ESCAPED, a: pattern.charCodeAt(p + 1) & 255, b: 0 });
          p += 2;
        } else if (d === 93) { // ']' closes the class
          p++;
          break;
        } else if (n - p >= 3 && pattern.charCodeAt(p + 1) === 45) { // range
          items.push({ kind: ITEM_RANGE, a: d, b: pattern.charCodeAt(p + 2) & 255 });
          p += 3;
        } else {
          items.push({ kind: ITEM_BYTE, a: d, b: 0 });
          p++;
        }
      }
      const set = new Uint8Array(256);
      for (let x = 0; x < 256; x++) set[x] = classHas(items, x, nocase) ? 1 : 0;
      tokens.push({ kind: CLASS, code: 0, set, negate });
    } else if (c === 92 && n - p >= 2) { // escaped literal
      const e = pattern.charCodeAt(p + 1);
      tokens.push({ kind: LITERAL, code: nocase ? lower(e) : e, set: null, negate: false });
      p += 2;
    } else {
      tokens.push({ kind: LITERAL, code: nocase ? lower(c) : c, set: null, negate: false });
      p++;
    }
  }
  return tokens;
}

function matchOne(t: Token, c: number, nocase: boolean): boolean {
  switch (t.kind) {
    case ANY:
      return true;
    case LITERAL:
      return (nocase ? lower(c) : c) === t.code;
    default: {
      const hit = t.set![c & 255] === 1;
      return t.negate ? !hit : hit;
    }
  }
}

/** A compiled glob pattern. */
export class GlobPattern {
  readonly source: string;
  private tokens: Token[];
  private nocase: boolean;
  /**
   * True when the pattern is exactly `*`. KEYS and SCAN MATCH treat that as
   * "everything" (even the empty key) without matching, as Redis does;
   * `matches` itself follows `stringmatchlen`, where no pattern but the empty
   * one matches the empty string.
   */
  readonly matchesAll: boolean;
  /** The pattern is only stars: matches every non-empty string. */
  private starsOnly: boolean;

  constructor(pattern: string, nocase = false) {
    this.source = pattern;
    this.nocase = nocase;
    this.tokens = compile(pattern, nocase);
    this.starsOnly = this.tokens.length === 1 && this.tokens[0].kind === STAR;
    this.matchesAll = pattern === "*";
  }

  /** Tests a latin1 string against the pattern. */
  matches(s: string): boolean {
    const ns = s.length;
    // stringmatchlen's loop never runs on an empty subject.
    if (ns === 0) return this.source.length === 0;
    if (this.starsOnly) return true;
    const tokens = this.tokens;
    const nt = tokens.length;
    let ti = 0;
    let si = 0;
    let starTi = -1;
    let starSi = 0;
    while (si < ns) {
      if (ti < nt) {
        const t = tokens[ti];
        if (t.kind === STAR) {
          starTi = ti++;
          starSi = si;
          continue;
        }
        if (matchOne(t, s.charCodeAt(si), this.nocase)) {
          ti++;
          si++;
          continue;
        }
      }
      if (starTi < 0) return false;
      ti = starTi + 1;
      si = ++starSi;
    }
    while (ti < nt && tokens[ti].kind === STAR) ti++;
    return ti === nt;
  }
}

/** One-off match of `s` against `pattern` (compile once with `GlobPattern` in loops). */
export function globMatch(pattern: string, s: string, nocase = false): boolean {
  return new GlobPattern(pattern, nocase).matches(s);
}
