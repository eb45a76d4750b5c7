/**
 * Keyspace notifications end to end: a subscriber on `__keyspace@*__:*` and
 * `__keyevent@*__:*` records the events of a scripted series of writes
 * (SET, INCRBY, APPEND, EXPIRE, RENAME, DEL, lazy and active expiry, other
 * databases, CONFIG SET of the flags at run time). The events must equal the
 * list below (taken from redis-server 7.0.15) and, when redis-server is
 * installed, what it sends for the same script.
 *
 * @module
 */

import { deepStrictEqual } from "node:assert/strict";
import { hasRedis, skipBecause, withRedis, withServer } from "./support/servers.ts";
import { RespConnection } from "./support/resp_connection.ts";
import { decodeOne, encodeCommand, type RespValue, text } from "./support/resp.ts";

/** A command, or a pause (for expiry to happen). */
type Step = string[] | { sleep: number };

/** "channel message" for a pmessage frame. */
function eventOf(raw: Uint8Array): string {
  const v: RespValue = decodeOne(raw);
  const list = v.type === "array" || v.type === "push" ? v.value : null;
  const s = (x: RespValue | undefined) => x?.type === "bulk" && x.value ? text(x.value) : "?";
  if (list === null || list.length !== 4 || s(list[0]) !== "pmessage") return `? ${text(raw)}`;
  return `${s(list[2])} ${s(list[3])}`;
}

/** Runs `steps` on `port`; returns the events each step produced. */
async function events(port: number, steps: Step[]): Promise<string[][]> {
  const sub = await RespConnection.connect(port);
  const cmd = await RespConnection.connect(port);
  try {
    await sub.call(["PSUBSCRIBE", "__keyspace@*__:*", "__keyevent@*__:*"]);
    await sub.reply(); // the second confirmation
    const out: string[][] = [];
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i];
      if (Array.isArray(step)) await cmd.call(step);
      else await new Promise((r) => setTimeout(r, step.sleep));
      // Everything a step caused is queued before the answer to this PING.
      const tag = `barrier-${i}`;
      await sub.send(encodeCommand(["PING", tag]));
      const got: string[] = [];
      while (true) {
        const r = await sub.reply();
        if (text(r.raw).includes(tag)) break;
        got.push(eventOf(r.raw));
      }
      out.push(got);
    }
    return out;
  } finally {
    await sub.close();
    await cmd.close();
  }
}

const ks = (db: number, key: string, ev: string) => `__keyspace@${db}__:${key} ${ev}`;
const ke = (db: number, ev: string, key: string) => `__keyevent@${db}__:${ev} ${key}`;
const both = (key: string, ev: string, db = 0) => [ks(db, key, ev), ke(db, ev, key)];

/** The script and the events redis-server 7.0.15 sends for each step. */
const SCRIPT: [Step, string[]][] = [
  [["CONFIG", "SET", "notify-keyspace-events", "KEA"], []],
  [["FLUSHALL"], []],
  [["SET", "a", "1"], both("a", "set")],
  [["SET", "a", "2"], both("a", "set")],
  [["INCRBY", "a", "3"], both("a", "incrby")],
  [["APPEND", "a", "x"], both("a", "append")],
  [["EXPIRE", "a", "100"], both("a", "expire")],
  [["RENAME", "a", "b"], [...both("a", "rename_from"), ...both("b", "rename_to")]],
  [["DEL", "b"], both("b", "del")],
  [["DEL", "b"], []],
  [["SET", "c", "1", "PX", "100000"], [...both("c", "set"), ...both("c", "expire")]],
  [["SELECT", "2"], []],
  [["SET", "k\x00\xff", "v"], both("k\x00\xff", "set", 2)],
  [["SELECT", "0"], []],
  // Lazy expiry: with active expiry off, the read finds the key expired.
  [["DEBUG", "SET-ACTIVE-EXPIRE", "0"], []],
  [["SET", "lazy", "1", "PX", "20"], [...both("lazy", "set"), ...both("lazy", "expire")]],
  [{ sleep: 80 }, []],
  [["GET", "lazy"], both("lazy", "expired")],
  [["DEBUG", "SET-ACTIVE-EXPIRE", "1"], []],
  // Active expiry: nobody touches the key.
  [["SET", "active", "1", "PX", "20"], [...both("active", "set"), ...both("active", "expire")]],
  [{ sleep: 600 }, both("active", "expired")],
  // Flags change at run time.
  [["CONFIG", "SET", "notify-keyspace-events", "E$"], []],
  [["SET", "e", "1"], [ke(0, "set", "e")]],
  [["DEL", "e"], []],
  [["CONFIG", "SET", "notify-keyspace-events", "Kg"], []],
  [["SET", "f", "1"], []],
  [["DEL", "f"], [ks(0, "f", "del")]],
  [["CONFIG", "SET", "notify-keyspace-events", "Ex"], []],
  [["SET", "x", "1", "PX", "20"], []],
  [{ sleep: 600 }, [ke(0, "expired", "x")]],
  [["CONFIG", "SET", "notify-keyspace-events", ""], []],
  [["SET", "g", "1"], []],
];

/** `n` (new key) is not part of `A`, and comes before the write's own event. */
const NEW_KEYS: [Step, string[]][] = [
  [["CONFIG", "SET", "notify-keyspace-events", "KEAn"], []],
  [["FLUSHALL"], []],
  [["SET", "n1", "1"], [...both("n1", "new"), ...both("n1", "set")]],
  [["SET", "n1", "2"], both("n1", "set")],
  [["CONFIG", "SET", "notify-keyspace-events", "En"], []],
  [["SET", "n2", "1"], [ke(0, "new", "n2")]],
  [["INCRBY", "n3", "1"], [ke(0, "new", "n3")]],
  [["CONFIG", "SET", "notify-keyspace-events", ""], []],
];

const ARGS = ["--enable-debug-command", "yes"];

async function check(script: [Step, string[]][]): Promise<void> {
  const steps = script.map(([s]) => s);
  const expected = script.map(([, e]) => e);
  const ours = await withServer(ARGS, ({ port }) => events(port, steps));
  deepStrictEqual(ours, expected);
  if (!hasRedis) {
    skipBecause("redis-server is not installed (compared with the recorded events only)");
    return;
  }
  const real = await withRedis(ARGS, ({ port }) => events(port, steps));
  deepStrictEqual(ours, real);
}

Deno.test("notifications: events of writes, expiry and run-time flag changes", async () => {
  await check(SCRIPT);
});

Deno.test("notifications: new-key events (n)", async () => {
  await check(NEW_KEYS);
});

Deno.test("notifications: CONFIG GET prints the flags back as Redis does", async () => {
  const cases: [string, string][] = [
    ["KEA", "AKE"],
    ["Kg", "gK"],
    ["g$lshzxetdmn", "Am"], // 'n' is set but not printed next to A
    ["KEn", "nKE"],
    ["", ""],
  ];
  await withServer([], async ({ port }) => {
    const c = await RespConnection.connect(port);
    try {
      for (const [set, shown] of cases) {
        await c.call(["CONFIG", "SET", "notify-keyspace-events", set]);
        const v = (await c.call(["CONFIG", "GET", "notify-keyspace-events"])).value;
        const got = v.type === "array" && v.value?.[1]?.type === "bulk"
          ? text(v.value[1].value ?? new Uint8Array())
          : "?";
        deepStrictEqual(got, shown, `CONFIG SET ${set}`);
      }
      const bad = await c.call(["CONFIG", "SET", "notify-keyspace-events", "xyz"]);
      deepStrictEqual(
        text(bad.raw),
        "-ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'.\r\n",
      );
    } finally {
      await c.close();
    }
  });
});
