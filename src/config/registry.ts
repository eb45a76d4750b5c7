/**
 * The config registry (placeholder until the full parameter table lands).
 *
 * @module
 */

import type { ServerConfig } from "./server_config.ts";

/** Config parameters by name, with their string forms. */
export class ConfigRegistry {
  readonly target: ServerConfig;

  constructor(target: ServerConfig) {
    this.target = target;
  }
}
