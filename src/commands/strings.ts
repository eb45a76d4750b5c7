/**
 * String commands (minimal, to be completed).
 *
 * @module
 */

import type { CommandSpec } from "./types.ts";
import { latin1 } from "../protocol/latin1.ts";
import { lookupTyped } from "./util.ts";

/** String command declarations. */
export const stringCommands: CommandSpec[] = [
  {
    name: "get",
    arity: 2,
    flags: ["readonly", "fast"],
    keys: [1, 1, 1],
    group: "string",
    summary: "Returns the string value of a key.",
    since: "1.0.0",
    complexity: "O(1)",
    syntax: "key",
    handler: (c, args) => {
      const e = lookupTyped(c, latin1(args[1]), "string");
      if (e === null) return;
      c.out.bulk(e === undefined ? null : e.value as Uint8Array);
    },
  },
  {
    name: "set",
    arity: -3,
    flags: ["write", "denyoom"],
    keys: [1, 1, 1],
    group: "string",
    summary: "Sets the string value of a key.",
    since: "1.0.0",
    complexity: "O(1)",
    syntax: "key value",
    handler: (c, args) => {
      c.db.set(latin1(args[1]), "string", args[2].slice());
      c.server.keyspace.dirty++;
      c.out.ok();
    },
  },
];
