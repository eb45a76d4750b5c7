/**
 * The pub/sub broker: who listens to what, and fan-out of published messages.
 *
 * Three inverted indexes map a name to its subscribers: channels, patterns
 * (each compiled once into a `GlobPattern`) and shard channels. Each client
 * mirrors its own subscriptions in `client.channels` / `patterns` /
 * `shardChannels`, so unsubscribing everything touches only that client's
 * entries. An entry is deleted as soon as its last subscriber leaves, so the
 * maps only ever hold live names.
 *
 * PUBLISH costs O(N+M): the channel's subscribers plus one match per distinct
 * pattern; no client list is scanned. A message is encoded once per protocol
 * (RESP2 array, RESP3 push) and the same bytes are appended to every
 * receiver's output buffer, which is flushed once at the end of the turn.
 * A receiver that has stopped reading is dropped by the output-buffer limit of
 * the pubsub class; nobody else waits for it.
 *
 * @module
 */

import { GlobPattern } from "../common/glob.ts";
import { ReplyWriter } from "../protocol/reply_writer.ts";
import type { Client } from "../server/client.ts";
import type { Server } from "../server/server.ts";
import { installKeyspaceNotifications } from "./notifications.ts";

/** Most channel names whose pattern matches are remembered at once. */
const MATCH_CACHE_MAX = 4096;

/** The three namespaces a client can subscribe in. */
export type SubscriptionKind = "channel" | "pattern" | "shard";

/** A pattern with its compiled matcher and subscribers. */
interface PatternEntry {
  glob: GlobPattern;
  clients: Set<Client>;
}

/**
 * One published message, encoded at most once per protocol version.
 *
 * The first receiver of each protocol gets the frame encoded straight into
 * its output buffer (no allocation: the common one-receiver PUBLISH costs no
 * copy at all). A second receiver copies those bytes out once, and every
 * further receiver appends that same copy.
 */
class SharedFrame {
  private frames: [Uint8Array | null, Uint8Array | null] = [null, null];
  /** Where the first receiver's copy lies: writer, start, end, per protocol. */
  private firstOut: [ReplyWriter | null, ReplyWriter | null] = [null, null];
  private firstStart = [0, 0];
  private firstEnd = [0, 0];

  constructor(
    private readonly kind: string,
    private readonly pattern: string | null,
    private readonly channel: string,
    private readonly message: Uint8Array,
  ) {}

  /** The frame for a client speaking `resp`, as bytes of its own. */
  for(resp: 2 | 3): Uint8Array {
    const i = resp - 2;
    const frame = this.frames[i];
    if (frame !== null) return frame;
    const src = this.firstOut[i];
    // Copy the first receiver's bytes now, while they are surely still there.
    return this.frames[i] = src !== null
      ? src.buf.slice(this.firstStart[i], this.firstEnd[i])
      : encodeMessage(resp, this.kind, this.pattern, this.channel, this.message);
  }

  /** Appends the frame to `client`'s output. */
  deliver(client: Client): void {
    const out = client.out;
    const i = out.resp - 2;
    if (this.frames[i] !== null || this.firstOut[i] !== null || client.keptPushes !== null) {
      return appendFrame(client, this.for(out.resp));
    }
    this.firstOut[i] = out;
    this.firstStart[i] = out.len;
    writeMessage(out, this.kind, this.pattern, this.channel, this.message);
    this.firstEnd[i] = out.len;
  }
}

/** Writes a pub/sub message frame into `w` (its protocol decides array or push). */
function writeMessage(
  w: ReplyWriter,
  kind: string,
  pattern: string | null,
  channel: string,
  message: Uint8Array,
): void {
  w.push(pattern === null ? 3 : 4);
  w.bulkString(kind);
  if (pattern !== null) w.bulkString(pattern);
  w.bulkString(channel);
  w.bulk(message);
}

/**
 * Encodes a `message` / `pmessage` / `smessage` frame: an array in RESP2, a
 * push in RESP3, exactly as Redis' `addReplyPubsubMessage` and
 * `addReplyPubsubPatMessage` write them.
 */
export function encodeMessage(
  resp: 2 | 3,
  kind: string,
  pattern: string | null,
  channel: string,
  message: Uint8Array,
): Uint8Array {
  const size = 96 + kind.length + (pattern?.length ?? 0) + channel.length + message.length;
  const w = new ReplyWriter(size);
  w.resp = resp;
  writeMessage(w, kind, pattern, channel, message);
  return w.bytes();
}

/**
 * Appends a pub/sub frame to a client's output. While the client's own
 * command runs silenced by CLIENT REPLY OFF/SKIP, the frame is kept aside
 * for the dispatcher to send anyway (Redis 7.0 writes pub/sub frames with
 * CLIENT_PUSHING, which bypasses the silencing).
 */
export function appendFrame(client: Client, frame: Uint8Array): void {
  if (client.keptPushes !== null) client.keptPushes.push(frame);
  else client.out.raw(frame);
}

/** Channel name → subscribers, for one of the plain namespaces. */
class ChannelIndex {
  readonly map = new Map<string, Set<Client>>();

  /** Adds `client` to `name`; false when it already was there. */
  add(client: Client, own: Set<string>, name: string): boolean {
    if (own.has(name)) return false;
    own.add(name);
    let set = this.map.get(name);
    if (set === undefined) {
      set = new Set();
      this.map.set(name, set);
    }
    set.add(client);
    return true;
  }

  /** Removes `client` from `name`; false when it was not there. */
  remove(client: Client, own: Set<string>, name: string): boolean {
    if (!own.delete(name)) return false;
    const set = this.map.get(name);
    if (set !== undefined) {
      set.delete(client);
      if (set.size === 0) this.map.delete(name);
    }
    return true;
  }

  /** Active names, filtered by an optional glob pattern. */
  names(pattern: string | null): string[] {
    if (pattern === null) return [...this.map.keys()];
    const glob = new GlobPattern(pattern);
    const out: string[] = [];
    for (const name of this.map.keys()) if (glob.matches(name)) out.push(name);
    return out;
  }

  /** Number of subscribers of `name`. */
  count(name: string): number {
    return this.map.get(name)?.size ?? 0;
  }
}

/** Pub/sub state of one server. */
export class Broker {
  private readonly server: Server;
  private readonly channelIndex = new ChannelIndex();
  private readonly shardIndex = new ChannelIndex();
  private readonly patternIndex = new Map<string, PatternEntry>();
  /**
   * Channel name → the pattern entries matching it, so a PUBLISH to a
   * channel seen before costs one lookup instead of one glob match per
   * pattern. Cleared whenever a pattern appears or disappears (adding a
   * subscriber to an existing pattern reuses its entry), and when it grows
   * past MATCH_CACHE_MAX names.
   */
  private readonly matchCache = new Map<string, PatternEntry[]>();
  /** PUBLISH / SPUBLISH calls and keyspace notifications sent. */
  messagesPublished = 0;
  /** Message frames handed to receivers (one per receiver per match). */
  messagesDelivered = 0;

  constructor(server: Server) {
    this.server = server;
    // A client going away (or RESET) leaves every channel, silently.
    server.clientCloseHooks.push((client) => this.unsubscribeAll(client));
    installKeyspaceNotifications(server.keyspace, server.config, this);
  }

  /** Channels with at least one subscriber (INFO `pubsub_channels`). */
  get channelCount(): number {
    return this.channelIndex.map.size;
  }

  /** Distinct patterns with at least one subscriber (INFO `pubsub_patterns`, PUBSUB NUMPAT). */
  get patternCount(): number {
    return this.patternIndex.size;
  }

  /** Shard channels with at least one subscriber (INFO `pubsubshard_channels`). */
  get shardChannelCount(): number {
    return this.shardIndex.map.size;
  }

  /** True when nobody is subscribed to any channel or pattern (shard channels aside). */
  get idle(): boolean {
    return this.channelIndex.map.size === 0 && this.patternIndex.size === 0;
  }

  /** Subscribes `client` to a channel; false when it already was. */
  subscribe(client: Client, channel: string): boolean {
    return this.channelIndex.add(client, client.channels, channel);
  }

  /** Unsubscribes `client` from a channel; false when it was not subscribed. */
  unsubscribe(client: Client, channel: string): boolean {
    return this.channelIndex.remove(client, client.channels, channel);
  }

  /** Subscribes `client` to a shard channel; false when it already was. */
  ssubscribe(client: Client, channel: string): boolean {
    return this.shardIndex.add(client, client.shardChannels, channel);
  }

  /** Unsubscribes `client` from a shard channel; false when it was not subscribed. */
  sunsubscribe(client: Client, channel: string): boolean {
    return this.shardIndex.remove(client, client.shardChannels, channel);
  }

  /** Subscribes `client` to a pattern; false when it already was. */
  psubscribe(client: Client, pattern: string): boolean {
    if (client.patterns.has(pattern)) return false;
    client.patterns.add(pattern);
    let entry = this.patternIndex.get(pattern);
    if (entry === undefined) {
      entry = { glob: new GlobPattern(pattern), clients: new Set() };
      this.patternIndex.set(pattern, entry);
      this.matchCache.clear();
    }
    entry.clients.add(client);
    return true;
  }

  /** Unsubscribes `client` from a pattern; false when it was not subscribed. */
  punsubscribe(client: Client, pattern: string): boolean {
    if (!client.patterns.delete(pattern)) return false;
    const entry = this.patternIndex.get(pattern);
    if (entry !== undefined) {
      entry.clients.delete(client);
      if (entry.clients.size === 0) {
        this.patternIndex.delete(pattern);
        this.matchCache.clear();
      }
    }
    return true;
  }

  /** Drops every subscription of `client` without replying (disconnect, RESET). */
  unsubscribeAll(client: Client): void {
    for (const ch of [...client.channels]) this.unsubscribe(client, ch);
    for (const p of [...client.patterns]) this.punsubscribe(client, p);
    for (const ch of [...client.shardChannels]) this.sunsubscribe(client, ch);
  }

  /**
   * Publishes `message` on `channel` to its subscribers, then to the
   * subscribers of every matching pattern; returns the number of frames
   * delivered (a client matching twice counts twice, as in Redis).
   */
  publish(channel: string, message: Uint8Array): number {
    this.messagesPublished++;
    let receivers = 0;
    const subs = this.channelIndex.map.get(channel);
    if (subs !== undefined) {
      receivers += this.fanOut(subs, new SharedFrame("message", null, channel, message));
    }
    if (this.patternIndex.size === 0) return receivers;
    for (const entry of this.patternsMatching(channel)) {
      const frame = new SharedFrame("pmessage", entry.glob.source, channel, message);
      receivers += this.fanOut(entry.clients, frame);
    }
    return receivers;
  }

  /** The pattern entries matching `channel`, in subscription order (cached). */
  private patternsMatching(channel: string): PatternEntry[] {
    let list = this.matchCache.get(channel);
    if (list === undefined) {
      list = [];
      for (const entry of this.patternIndex.values()) {
        if (entry.glob.matches(channel)) list.push(entry);
      }
      if (this.matchCache.size >= MATCH_CACHE_MAX) this.matchCache.clear();
      this.matchCache.set(channel, list);
    }
    return list;
  }

  /** Publishes on a shard channel (SPUBLISH); returns the number of receivers. */
  spublish(channel: string, message: Uint8Array): number {
    this.messagesPublished++;
    const subs = this.shardIndex.map.get(channel);
    if (subs === undefined) return 0;
    return this.fanOut(subs, new SharedFrame("smessage", null, channel, message));
  }

  /** Appends `frame` to every client in `clients`; returns how many. */
  private fanOut(clients: Set<Client>, frame: SharedFrame): number {
    const server = this.server;
    const limit = server.config.clientOutputBufferLimit.pubsub;
    // Below this, the output limit cannot be reached: skip the check.
    const threshold = Math.min(limit.hard || Infinity, limit.soft || Infinity);
    let n = 0;
    let now = 0;
    // A client over its hard limit is closed (and unsubscribed) mid-loop;
    // Set iteration tolerates the deletion.
    for (const c of clients) {
      if (c.closed) continue;
      n++;
      frame.deliver(c);
      this.messagesDelivered++;
      if (c.pendingOutput >= threshold) {
        if (now === 0) now = Date.now();
        if (c.overOutputLimit(now)) continue;
      }
      server.scheduleFlush(c);
    }
    return n;
  }

  /** Active channels, optionally filtered by a glob pattern (PUBSUB CHANNELS). */
  channels(pattern: string | null = null): string[] {
    return this.channelIndex.names(pattern);
  }

  /** Active shard channels, optionally filtered (PUBSUB SHARDCHANNELS). */
  shardChannels(pattern: string | null = null): string[] {
    return this.shardIndex.names(pattern);
  }

  /** Subscribers of a channel, patterns excluded (PUBSUB NUMSUB). */
  numsub(channel: string): number {
    return this.channelIndex.count(channel);
  }

  /** Subscribers of a shard channel (PUBSUB SHARDNUMSUB). */
  shardNumsub(channel: string): number {
    return this.shardIndex.count(channel);
  }

  /** Sizes of the internal maps (for tests that check nothing leaks). */
  get sizes(): { channels: number; patterns: number; shardChannels: number } {
    return {
      channels: this.channelIndex.map.size,
      patterns: this.patternIndex.size,
      shardChannels: this.shardIndex.map.size,
    };
  }
}
