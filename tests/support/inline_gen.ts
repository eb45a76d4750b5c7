/**
 * fast-check generators for inline (telnet) request lines: quotes, escapes,
 * every kind of blank and high bytes, the material `sdssplitargs` cares about.
 *
 * @module
 */

import fc from "fast-check";

/** One piece of an inline line. */
export const inlinePieceArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    " ",
    "  ",
    "\t",
    "\x0b",
    "\x0c",
    "\r",
    '"',
    "'",
    "\\",
    "\\x",
    "\\x4",
    "\\x41",
    "\\xfF",
    "\\xZZ",
    "\\n",
    "\\'",
    '\\"',
    "a",
    "bc",
    "\xa0",
    "\xff",
    "\x01",
  ),
  fc.integer({ min: 1, max: 255 }).filter((c) => c !== 10).map((c) => String.fromCharCode(c)),
);

/**
 * A line (latin1) without LF or NUL: redis-server looks for the end of an
 * inline line with strchr, which stops at NUL, so a NUL makes it wait forever.
 */
export const inlineLineArb: fc.Arbitrary<string> = fc.array(inlinePieceArb, { maxLength: 24 })
  .map((p) => p.join(""));
