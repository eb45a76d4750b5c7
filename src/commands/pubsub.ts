/**
 * Pub/Sub commands: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE,
 * SSUBSCRIBE, SUNSUBSCRIBE, PUBLISH, SPUBLISH and the PUBSUB container
 * (CHANNELS, NUMSUB, NUMPAT, SHARDCHANNELS, SHARDNUMSUB, HELP).
 *
 * Replies follow Redis 7.0's `addReplyPubsubSubscribed` /
 * `addReplyPubsubUnsubscribed`: one frame per name, `[kind, name, count]`,
 * an array in RESP2 and a push in RESP3, where the count is the client's
 * channels plus patterns (shard channels are counted on their own). An
 * unsubscribe-all with nothing to drop still answers one frame with a null
 * name. The state lives in the broker (`server.pubsub`).
 *
 * @module
 */

import type { CommandSpec } from "./types.ts";
import type { Client } from "../server/client.ts";
import { appendFrame, type Broker } from "../pubsub/broker.ts";
import { ReplyWriter } from "../protocol/reply_writer.ts";
import { latin1 } from "../protocol/latin1.ts";
import { replyHelp } from "./help.ts";

/** How one namespace is (un)subscribed and counted. */
interface Namespace {
  subscribeKind: string;
  unsubscribeKind: string;
  /** The client's own set of names in this namespace. */
  own: (c: Client) => Set<string>;
  add: (b: Broker, c: Client, name: string) => boolean;
  remove: (b: Broker, c: Client, name: string) => boolean;
  /** The count reported in confirmations. */
  count: (c: Client) => number;
}

const CHANNELS: Namespace = {
  subscribeKind: "subscribe",
  unsubscribeKind: "unsubscribe",
  own: (c) => c.channels,
  add: (b, c, n) => b.subscribe(c, n),
  remove: (b, c, n) => b.unsubscribe(c, n),
  count: (c) => c.subscriptionCount,
};

const PATTERNS: Namespace = {
  subscribeKind: "psubscribe",
  unsubscribeKind: "punsubscribe",
  own: (c) => c.patterns,
  add: (b, c, n) => b.psubscribe(c, n),
  remove: (b, c, n) => b.punsubscribe(c, n),
  count: (c) => c.subscriptionCount,
};

const SHARDS: Namespace = {
  subscribeKind: "ssubscribe",
  unsubscribeKind: "sunsubscribe",
  own: (c) => c.shardChannels,
  add: (b, c, n) => b.ssubscribe(c, n),
  remove: (b, c, n) => b.sunsubscribe(c, n),
  count: (c) => c.shardChannels.size,
};

/**
 * Writes `[kind, name, count]` (a push in RESP3); a null name when `name` is
 * null. Under CLIENT REPLY OFF/SKIP the frame is still sent, as in Redis 7.0.
 */
function confirm(client: Client, kind: string, name: string | null, count: number): void {
  const silenced = client.keptPushes !== null;
  const out = silenced ? new ReplyWriter(64 + kind.length + (name?.length ?? 0)) : client.out;
  if (silenced) out.resp = client.out.resp;
  out.push(3);
  out.bulkString(kind);
  if (name === null) out.nullBulk();
  else out.bulkString(name);
  out.integer(count);
  if (silenced) appendFrame(client, out.bytes());
}

/** SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE: one confirmation per name, duplicates included. */
function subscribeHandler(ns: Namespace) {
  return (client: Client, args: Uint8Array[]): void => {
    const broker = client.server.pubsub;
    for (let i = 1; i < args.length; i++) {
      const name = latin1(args[i]);
      ns.add(broker, client, name);
      confirm(client, ns.subscribeKind, name, ns.count(client));
    }
  };
}

/**
 * UNSUBSCRIBE / PUNSUBSCRIBE / SUNSUBSCRIBE: the named ones (confirmed even
 * when not subscribed), or all of the client's, or one null frame when it
 * had none.
 */
function unsubscribeHandler(ns: Namespace) {
  return (client: Client, args: Uint8Array[]): void => {
    const broker = client.server.pubsub;
    const names = args.length > 1 ? args.slice(1).map(latin1) : [...ns.own(client)];
    for (const name of names) {
      ns.remove(broker, client, name);
      confirm(client, ns.unsubscribeKind, name, ns.count(client));
    }
    if (names.length === 0) confirm(client, ns.unsubscribeKind, null, ns.count(client));
  };
}

function publish(client: Client, args: Uint8Array[]): void {
  client.out.integer(client.server.pubsub.publish(latin1(args[1]), args[2]));
}

function spublish(client: Client, args: Uint8Array[]): void {
  client.out.integer(client.server.pubsub.spublish(latin1(args[1]), args[2]));
}

/** Redis' reply when a subcommand gets a wrong number of arguments in its handler. */
function subcommandSyntaxError(client: Client, args: Uint8Array[]): void {
  client.out.error(
    `ERR unknown subcommand or wrong number of arguments for '${
      latin1(args[1]).slice(0, 128)
    }'. Try ${latin1(args[0]).toUpperCase()} HELP.`,
  );
}

/** PUBSUB CHANNELS / SHARDCHANNELS [pattern]. */
function listNames(which: "channels" | "shardChannels") {
  return (client: Client, args: Uint8Array[]): void => {
    if (args.length > 3) return subcommandSyntaxError(client, args);
    const pattern = args.length === 3 ? latin1(args[2]) : null;
    client.out.stringArray(client.server.pubsub[which](pattern));
  };
}

/** PUBSUB NUMSUB / SHARDNUMSUB [name ...]: a flat array of name, count pairs. */
function countSubscribers(which: "numsub" | "shardNumsub") {
  return (client: Client, args: Uint8Array[]): void => {
    const broker = client.server.pubsub;
    const out = client.out;
    out.array((args.length - 2) * 2);
    for (let i = 2; i < args.length; i++) {
      const name = latin1(args[i]);
      out.bulkString(name);
      out.integer(broker[which](name));
    }
  };
}

const HELP_LINES = [
  "CHANNELS [<pattern>]",
  "    Return the currently active channels matching a <pattern> (default: '*').",
  "NUMPAT",
  "    Return number of subscriptions to patterns.",
  "NUMSUB [<channel> ...]",
  "    Return the number of subscribers for the specified channels, excluding",
  "    pattern subscriptions(default: no channels).",
  "SHARDCHANNELS [<pattern>]",
  "    Return the currently active shard level channels matching a <pattern> (default: '*').",
  "SHARDNUMSUB [<shardchannel> ...]",
  "    Return the number of subscribers for the specified shard level channel(s)",
];

/** Flags of the (un)subscribe commands. */
const SUB_FLAGS: CommandSpec["flags"] = ["pubsub", "noscript", "loading", "stale"];
/** Flags of the PUBSUB introspection subcommands. */
const INTROSPECTION_FLAGS: CommandSpec["flags"] = ["pubsub", "loading", "stale"];

/** Pub/Sub command declarations. */
export const pubsubCommands: CommandSpec[] = [
  {
    name: "subscribe",
    arity: -2,
    flags: SUB_FLAGS,
    group: "pubsub",
    summary: "Listen for messages published to the given channels",
    since: "2.0.0",
    complexity: "O(N) where N is the number of channels to subscribe to.",
    syntax: "channel [channel ...]",
    handler: subscribeHandler(CHANNELS),
  },
  {
    name: "unsubscribe",
    arity: -1,
    flags: SUB_FLAGS,
    group: "pubsub",
    summary: "Stop listening for messages posted to the given channels",
    since: "2.0.0",
    complexity: "O(N) where N is the number of clients already subscribed to a channel.",
    syntax: "[channel [channel ...]]",
    handler: unsubscribeHandler(CHANNELS),
  },
  {
    name: "psubscribe",
    arity: -2,
    flags: SUB_FLAGS,
    group: "pubsub",
    summary: "Listen for messages published to channels matching the given patterns",
    since: "2.0.0",
    complexity: "O(N) where N is the number of patterns the client is already subscribed to.",
    syntax: "pattern [pattern ...]",
    handler: subscribeHandler(PATTERNS),
  },
  {
    name: "punsubscribe",
    arity: -1,
    flags: SUB_FLAGS,
    group: "pubsub",
    summary: "Stop listening for messages posted to channels matching the given patterns",
    since: "2.0.0",
    complexity:
      "O(N+M) where N is the number of patterns the client is already subscribed and M is the number of total patterns subscribed in the system (by any client).",
    syntax: "[pattern [pattern ...]]",
    handler: unsubscribeHandler(PATTERNS),
  },
  {
    name: "ssubscribe",
    arity: -2,
    flags: SUB_FLAGS,
    keys: [1, -1, 1],
    group: "pubsub",
    summary: "Listen for messages published to the given shard channels",
    since: "7.0.0",
    complexity: "O(N) where N is the number of shard channels to subscribe to.",
    syntax: "shardchannel [shardchannel ...]",
    handler: subscribeHandler(SHARDS),
  },
  {
    name: "sunsubscribe",
    arity: -1,
    flags: SUB_FLAGS,
    keys: [1, -1, 1],
    group: "pubsub",
    summary: "Stop listening for messages posted to the given shard channels",
    since: "7.0.0",
    complexity: "O(N) where N is the number of clients already subscribed to a shard channel.",
    syntax: "[shardchannel [shardchannel ...]]",
    handler: unsubscribeHandler(SHARDS),
  },
  {
    name: "publish",
    arity: 3,
    flags: ["pubsub", "loading", "stale", "fast"],
    group: "pubsub",
    summary: "Post a message to a channel",
    since: "2.0.0",
    complexity:
      "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client).",
    syntax: "channel message",
    handler: publish,
  },
  {
    name: "spublish",
    arity: 3,
    flags: ["pubsub", "loading", "stale", "fast"],
    keys: [1, 1, 1],
    group: "pubsub",
    summary: "Post a message to a shard channel",
    since: "7.0.0",
    complexity: "O(N) where N is the number of clients subscribed to the receiving shard channel.",
    syntax: "shardchannel message",
    handler: spublish,
  },
  {
    name: "pubsub",
    arity: -2,
    flags: [],
    group: "pubsub",
    summary: "A container for Pub/Sub commands",
    since: "2.8.0",
    complexity: "Depends on subcommand.",
    subcommands: [
      {
        name: "channels",
        arity: -2,
        flags: INTROSPECTION_FLAGS,
        group: "pubsub",
        summary: "List active channels",
        since: "2.8.0",
        complexity:
          "O(N) where N is the number of active channels, and assuming constant time pattern matching (relatively short channels and patterns)",
        syntax: "[pattern]",
        handler: listNames("channels"),
      },
      {
        name: "numsub",
        arity: -2,
        flags: INTROSPECTION_FLAGS,
        group: "pubsub",
        summary: "Get the count of subscribers for channels",
        since: "2.8.0",
        complexity: "O(N) for the NUMSUB subcommand, where N is the number of requested channels",
        syntax: "[channel [channel ...]]",
        handler: countSubscribers("numsub"),
      },
      {
        name: "numpat",
        arity: 2,
        flags: INTROSPECTION_FLAGS,
        group: "pubsub",
        summary: "Get the count of unique patterns pattern subscriptions",
        since: "2.8.0",
        complexity: "O(1)",
        handler: (c) => c.out.integer(c.server.pubsub.patternCount),
      },
      {
        name: "shardchannels",
        arity: -2,
        flags: INTROSPECTION_FLAGS,
        group: "pubsub",
        summary: "List active shard channels",
        since: "7.0.0",
        complexity:
          "O(N) where N is the number of active shard channels, and assuming constant time pattern matching (relatively short shard channels).",
        syntax: "[pattern]",
        handler: listNames("shardChannels"),
      },
      {
        name: "shardnumsub",
        arity: -2,
        flags: INTROSPECTION_FLAGS,
        group: "pubsub",
        summary: "Get the count of subscribers for shard channels",
        since: "7.0.0",
        complexity:
          "O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels",
        syntax: "[shardchannel [shardchannel ...]]",
        handler: countSubscribers("shardNumsub"),
      },
      {
        name: "help",
        arity: 2,
        flags: ["loading", "stale"],
        group: "pubsub",
        summary: "Show helpful text about the different subcommands",
        since: "6.2.0",
        complexity: "O(1)",
        handler: (c) => replyHelp(c.out, "pubsub", HELP_LINES),
      },
    ],
  },
];
