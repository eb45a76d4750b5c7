/**
 * Glob-style matching with the semantics of Redis' `stringmatchlen`.
 *
 * One matcher serves KEYS, SCAN MATCH, CONFIG GET, PUBSUB CHANNELS and
 * PSUBSCRIBE. Patterns and subjects are latin1 strings, so every byte value
 * matches literally. Supported: `*`, `?`, `[abc]`, `[^a]`, `[a-z]` (reversed
 * ranges allowed), backslash escapes, and Redis' treatment of malformed
 * patterns (an unterminated class runs to the end of the pattern; in `[a-]`
 * the `-` starts a range ending at `]`).
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
      const set = new Uint8Array(256);
      while (p < n) {
        const d = pattern.charCodeAt(p);
        if (d === 92 && n - p >= 2) { // escaped char
          set[pattern.charCodeAt(p + 1) & 255] = 1;
          p += 2;
        } else if (d === 93) { // ']' closes the class
          p++;
          break;
        } else if (n - p >= 3 && pattern.charCodeAt(p + 1) === 45) { // range
          let a = d & 255;
          let b = pattern.charCodeAt(p + 2) & 255;
          if (a > b) [a, b] = [b, a];
          for (let x = a; x <= b; x++) set[x] = 1;
          p += 3;
        } else {
          set[d & 255] = 1;
          p++;
        }
      }
      if (nocase) {
        for (let x = 65; x <= 90; x++) {
          if (set[x] || set[x + 32]) set[x] = set[x + 32] = 1;
        }
      }
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
  /** True when the pattern is a lone `*` (matches everything). */
  readonly matchesAll: boolean;

  constructor(pattern: string, nocase = false) {
    this.source = pattern;
    this.nocase = nocase;
    this.tokens = compile(pattern, nocase);
    this.matchesAll = this.tokens.length === 1 && this.tokens[0].kind === STAR;
  }

  /** Tests a latin1 string against the pattern. */
  matches(s: string): boolean {
    if (this.matchesAll) return true;
    const tokens = this.tokens;
    const nt = tokens.length;
    const ns = s.length;
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
