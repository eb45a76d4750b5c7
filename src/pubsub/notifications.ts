/**
 * Keyspace notifications: keyspace events turned into pub/sub messages.
 *
 * Every write reports `keyspace.notify(db, classLetter, event, key)`; when
 * `notify-keyspace-events` enables the event's class, this module publishes
 * `__keyspace@<db>__:<key>` (message: the event) if `K` is set and
 * `__keyevent@<db>__:<event>` (message: the key) if `E` is set, in that
 * order, as Redis' `notifyKeyspaceEvent` does.
 *
 * The class string itself (parsing, CONFIG GET's canonical form) belongs to
 * the config layer (`src/config/notify_flags.ts`); the listener reads the
 * bits from `config.notifyKeyspaceEventsFlags` on every event, so CONFIG SET
 * takes effect at once.
 *
 * @module
 */

import { bytesOf } from "../protocol/latin1.ts";
import { NOTIFY } from "../config/notify_flags.ts";
import type { Keyspace } from "../keyspace/keyspace.ts";
import type { ServerConfig } from "../config/server_config.ts";
import type { Broker } from "./broker.ts";

/** Flag bit of a class letter passed to `Keyspace.notify` (0 when unknown). */
function classBit(letter: string): number {
  return Object.hasOwn(NOTIFY, letter) ? NOTIFY[letter as keyof typeof NOTIFY] : 0;
}

/** Registers the listener that publishes keyspace events through `broker`. */
export function installKeyspaceNotifications(
  keyspace: Keyspace,
  config: ServerConfig,
  broker: Broker,
): void {
  keyspace.onEvent((db, type, event, key) => {
    const flags = config.notifyKeyspaceEventsFlags;
    if (flags === 0 || (flags & classBit(type)) === 0) return;
    if (flags & NOTIFY.K) broker.publish(`__keyspace@${db.id}__:${key}`, bytesOf(event));
    if (flags & NOTIFY.E) broker.publish(`__keyevent@${db.id}__:${event}`, bytesOf(key));
  });
}
