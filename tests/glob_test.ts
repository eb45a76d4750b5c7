/**
 * `GlobPattern` against Redis' `stringmatchlen`: unit cases (each checked
 * on redis-server 7.0.15 when written), then a property test comparing the
 * matcher with a real redis-server's KEYS and PUBSUB CHANNELS on generated
 * patterns and names over an alphabet rich in special and binary bytes.
 *
 * @module
 */

import { deepStrictEqual, strictEqual } from "node:assert/strict";
import fc from "fast-check";
import { globMatch, GlobPattern } from "../src/common/glob.ts";
import { hasRedis, skipBecause, withRedis } from "./support/servers.ts";
import { RespConnection } from "./support/resp_connection.ts";
import { bytes, encodeCommand, type RespValue, show, text } from "./support/resp.ts";

/** [pattern, subject, expected] (case-sensitive, as KEYS and PSUBSCRIBE use it). */
const CASES: [string, string, boolean][] = [
  ["", "", true],
  ["", "a", false],
  ["*", "", false], // only the empty pattern matches the empty string
  ["**", "", false],
  ["*", "anything", true],
  ["a*", "a", true],
  ["a**", "a", true],
  ["a*b", "ab", true],
  ["a*b", "axxb", true],
  ["a*b", "axxbc", false],
  ["*a*b*", "xxaxxbxx", true],
  ["h?llo", "hello", true],
  ["h?llo", "hllo", false],
  ["h[ae]llo", "hallo", true],
  ["h[ae]llo", "hillo", false],
  ["h[^e]llo", "hallo", true],
  ["h[^e]llo", "hello", false],
  ["h[a-b]llo", "hbllo", true],
  ["h[b-a]llo", "hallo", true], // reversed range
  ["[a-]", "]", true], // '-' before the closing ']' makes a range a..]
  ["[a-]", "-", false],
  ["[]]", "]", false], // empty class, then a literal ']'
  ["[^]]", "a]", true], // negated empty class matches any byte
  ["[abc", "c", true], // unterminated class runs to the end
  ["[abc", "[", false],
  ["[\\]]", "]", true],
  ["[\\", "\\", true],
  ["\\*", "*", true],
  ["\\*", "a", false],
  ["a\\", "a\\", true], // trailing backslash is literal
  ["\\?x", "?x", true],
  ["[a-\xff]", "b", false], // signed chars: the range is -1..97
  ["[a-\xff]", "a", true],
  ["[a-\xff]", "\xff", true],
  ["[a-\xff]", "\x80", false],
  ["[\x7f-\x81]", "b", true], // -127..127
  ["[\x7f-\x81]", "\xf0", true],
  ["[\x7f-\x81]", "\x80", false],
  ["\x00*", "\x00\x01", true],
  ["?", "\xff", true],
];

Deno.test("glob: stringmatchlen unit cases", () => {
  for (const [p, s, want] of CASES) {
    strictEqual(new GlobPattern(p).matches(s), want, `${show(p)} vs ${show(s)}`);
    strictEqual(globMatch(p, s), want, `globMatch ${show(p)} vs ${show(s)}`);
  }
});

Deno.test("glob: nocase (CONFIG GET) follows tolower after the range swap", () => {
  // Checked with CONFIG GET on redis-server 7.0.15.
  strictEqual(globMatch("[Z-a]ctive", "active", true), false);
  strictEqual(globMatch("[Z-a]ctive", "active", false), true);
  strictEqual(globMatch("ACTIVE[R]*", "activerehashing", true), true);
  strictEqual(globMatch("ACTIVE[\\R]*", "activerehashing", true), false); // escapes stay exact
  strictEqual(globMatch("*HASH*", "activerehashing", true), true);
});

Deno.test("glob: matchesAll only for exactly '*' (the KEYS/SCAN shortcut)", () => {
  strictEqual(new GlobPattern("*").matchesAll, true);
  strictEqual(new GlobPattern("**").matchesAll, false);
  strictEqual(new GlobPattern("a*").matchesAll, false);
});

/** Bytes that exercise every branch of the matcher. */
const ALPHABET = [..."ab-[]^\\*?Z", "\x00", "\x7f", "\x80", "\xff", "c"];
const byteChar = fc.constantFrom(...ALPHABET);
const nameArb = fc.array(byteChar, { minLength: 0, maxLength: 5 }).map((a) => a.join(""));
const patternArb = fc.array(byteChar, { minLength: 0, maxLength: 7 }).map((a) => a.join(""));

function bulkStrings(v: RespValue): string[] {
  if (v.type !== "array" || v.value === null) throw new Error(`not an array: ${v.type}`);
  return v.value.map((x) => {
    if (x.type !== "bulk" || x.value === null) throw new Error("not a bulk string");
    return text(x.value);
  });
}

Deno.test("glob: agrees with redis-server KEYS and PUBSUB CHANNELS on generated input", async () => {
  if (!hasRedis) {
    skipBecause("redis-server is not installed");
    return;
  }
  await withRedis([], async (srv) => {
    const cmd = await RespConnection.connect(srv.port);
    const sub = await RespConnection.connect(srv.port);
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(nameArb, { minLength: 1, maxLength: 40 }),
          fc.array(patternArb, { minLength: 1, maxLength: 25 }),
          async (names, patterns) => {
            await cmd.call(["FLUSHALL"]);
            await cmd.call(["MSET", ...names.flatMap((n) => [bytes(n), bytes("v")])]);
            await sub.call(["RESET"]);
            await sub.send(encodeCommand(["SUBSCRIBE", ...names.map(bytes)]));
            for (let i = 0; i < names.length; i++) await sub.reply();
            for (const p of patterns) {
              const glob = new GlobPattern(p);
              const ours = names.filter((n) => glob.matches(n)).sort();
              // KEYS lists everything for exactly "*" without matching.
              const oursKeys = glob.matchesAll ? [...names].sort() : ours;
              const keys = bulkStrings((await cmd.call(["KEYS", bytes(p)])).value).sort();
              deepStrictEqual(oursKeys, keys, `KEYS ${show(p)}`);
              const chans = bulkStrings(
                (await cmd.call(["PUBSUB", "CHANNELS", bytes(p)])).value,
              ).sort();
              deepStrictEqual(ours, chans, `PUBSUB CHANNELS ${show(p)}`);
            }
          },
        ),
        { numRuns: 60 },
      );
    } finally {
      await cmd.close();
      await sub.close();
    }
  });
});
