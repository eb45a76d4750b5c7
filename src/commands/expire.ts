/**
 * Placeholder family.
 *
 * @module
 */

import type { CommandSpec } from "./types.ts";

/** Declarations. */
export const expireCommands: CommandSpec[] = [];
