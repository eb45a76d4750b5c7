/**
 * Differential test: a seeded sequence of thousands of string, key-space and
 * expiry commands (valid, invalid, binary, edge-case numbers) goes to this
 * server and to a real redis-server; every reply must be byte-identical
 * (up to the normalisation in `support/differential.ts`), in RESP2 and RESP3.
 *
 * `DIFF_SEED` changes the seed (CI uses the fixed default), `DIFF_COUNT` the
 * number of commands per protocol, `DIFF_SHOW` how many differences are printed
 * in detail.
 *
 * @module
 */

import { deepStrictEqual, notDeepStrictEqual, ok } from "node:assert/strict";
import { hasRedis, skipBecause, withRedis, withServer } from "./support/servers.ts";
import { COVERED_COMMANDS, EPISODE, generateCommands } from "./support/command_gen.ts";
import { describeResult, runDifferential, sameReply } from "./support/differential.ts";
import type { Reply } from "./support/resp_connection.ts";
import { bytes, decodeOne } from "./support/resp.ts";

const SEED = Number(Deno.env.get("DIFF_SEED") ?? "20240611");
const COUNT = Number(Deno.env.get("DIFF_COUNT") ?? "8000");
/** How many differences to print in detail. */
const SHOW = Number(Deno.env.get("DIFF_SHOW") ?? "40");

Deno.test("differential generator: same seed gives the same sequence, and it covers every listed command", () => {
  const a = generateCommands(SEED, COUNT);
  deepStrictEqual(generateCommands(SEED, COUNT), a);
  notDeepStrictEqual(generateCommands(SEED + 1, COUNT), a);
  const seen = new Set(a.map((c) => c[0].toLowerCase()));
  const missing = COVERED_COMMANDS.filter((c) => !seen.has(c));
  deepStrictEqual(missing, [], "commands never generated");
  ok(a.length === COUNT && COUNT > EPISODE);
});

function reply(raw: string): Reply {
  const b = bytes(raw);
  return { raw: b, value: decodeOne(b) };
}

Deno.test("differential normalisation: only KEYS order, TTL-like clocks and RANDOMKEY's pick may differ", () => {
  const same = (cmd: string[], a: string, b: string) => sameReply(cmd, reply(a), reply(b));
  ok(same(["GET", "k"], "$1\r\nv\r\n", "$1\r\nv\r\n"));
  ok(!same(["GET", "k"], "$1\r\nv\r\n", "$1\r\nw\r\n"));
  ok(!same(["GET", "k"], "$-1\r\n", "_\r\n"), "RESP2 and RESP3 nulls differ");
  const ab = "*2\r\n$1\r\na\r\n$1\r\nb\r\n";
  ok(same(["keys", "*"], ab, "*2\r\n$1\r\nb\r\n$1\r\na\r\n"), "KEYS order ignored");
  ok(!same(["keys", "*"], ab, "*2\r\n$1\r\na\r\n$1\r\nc\r\n"), "KEYS content compared");
  ok(!same(["KEYS", "*"], ab, "*1\r\n$1\r\na\r\n"), "KEYS length compared");
  ok(!same(["GET", "*"], ab, "*2\r\n$1\r\nb\r\n$1\r\na\r\n"), "order matters elsewhere");
  ok(same(["TTL", "k"], ":100\r\n", ":99\r\n"), "TTL within 2 s");
  ok(!same(["TTL", "k"], ":100\r\n", ":90\r\n"), "TTL beyond tolerance");
  ok(!same(["TTL", "k"], ":-1\r\n", ":0\r\n"), "TTL sentinels exact");
  ok(!same(["TTL", "k"], ":-2\r\n", ":-1\r\n"), "TTL sentinels exact");
  ok(same(["pttl", "k"], ":100000\r\n", ":99000\r\n"), "PTTL within 2000 ms");
  ok(!same(["pttl", "k"], ":100000\r\n", ":90000\r\n"), "PTTL beyond tolerance");
  ok(!same(["STRLEN", "k"], ":100\r\n", ":99\r\n"), "no tolerance elsewhere");
  ok(same(["RANDOMKEY"], "$1\r\na\r\n", "$1\r\nb\r\n"), "RANDOMKEY pick ignored");
  ok(!same(["RANDOMKEY"], "$1\r\na\r\n", "$-1\r\n"), "RANDOMKEY null compared");
});

for (const resp of [2, 3] as const) {
  Deno.test(`differential: ${COUNT} seeded commands get the same replies as redis-server (RESP${resp}, seed ${SEED})`, async () => {
    if (!hasRedis) {
      skipBecause("redis-server is not installed");
      return;
    }
    const commands = generateCommands(SEED, COUNT);
    const result = await withServer(
      [],
      (ours) =>
        withRedis(
          [],
          (redis) =>
            runDifferential(`RESP${resp}, seed ${SEED}`, ours.port, redis.port, commands, { resp }),
        ),
    );
    if (result.mismatches.length > 0 || result.aborted !== null) {
      throw new Error(describeResult(result, SHOW));
    }
    deepStrictEqual(result.compared, commands.length);
  });
}
