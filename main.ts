/**
 * Entry point: `deno task start [config-file] [--directive value ...]`.
 *
 * @module
 */

import { defaultServerConfig } from "./src/config/server_config.ts";
import { ConfigRegistry } from "./src/config/registry.ts";
import { setupLogging } from "./src/server/logging.ts";
import { REDIS_VERSION, Server } from "./src/server/server.ts";

const config = defaultServerConfig();
const registry = new ConfigRegistry(config);
const args = Deno.args;
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--port") config.port = Number(args[++i]);
  else if (args[i] === "--dir") config.dir = args[++i];
}
const log = setupLogging({ level: config.loglevel, file: config.logfile });
const server = new Server(config, registry, log);
server.listen();
log.info(`Redis version=${REDIS_VERSION}, bits=64, pid=${Deno.pid}, just started`);
log.info(`Running mode=standalone, port=${server.boundPorts[0]}.`);
log.info("Ready to accept connections");
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(sig, () => server.shutdown());
}
await server.finished();
Deno.exit(0);
