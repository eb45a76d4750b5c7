/**
 * Entry point: `deno task start [config-file] [--directive value ...]`, with
 * redis-server's argument rules (see `src/config/cli.ts`).
 *
 * Start-up: read the configuration (file, then stdin with `-`, then the
 * command line), enter the data directory (`dir`; by default `./data`,
 * created if missing), set up logging, write the pid file if asked, start
 * the server listening, then load `dir/dbfilename` when AOF is off, the AOF
 * in `dir/appenddirname` when it is on (clients connecting meanwhile get
 * `LOADING`; a dataset that cannot be loaded whole exits with code 1), and
 * log `Ready to accept connections`. SIGINT/SIGTERM shut the server down
 * (with the final save when save points exist, never during the load) and
 * exit with code 0. A bad configuration prints Redis' FATAL CONFIG FILE
 * ERROR report on stderr and exits with code 1.
 *
 * @module
 */

import { defaultServerConfig } from "./src/config/server_config.ts";
import { ConfigRegistry } from "./src/config/registry.ts";
import { parseCommandLine, usageText, versionText } from "./src/config/cli.ts";
import { ConfigLoadError, earlyLogLine, loadServerConfig } from "./src/config/loader.ts";
import { ConfigValueError, strerror } from "./src/config/values.ts";
import { setupLogging } from "./src/server/logging.ts";
import { REDIS_VERSION, Server } from "./src/server/server.ts";
import { RdbLoadError } from "./src/persistence/manager.ts";
import { AofLoadError } from "./src/persistence/aof_loader.ts";
import { LoadCancelled } from "./src/persistence/load_progress.ts";
import { bytesOf, latin1 } from "./src/protocol/latin1.ts";

/** Prints `text` (latin1: one char per byte) on stderr and exits with code 1. */
function fail(text: string): never {
  Deno.stderr.writeSync(bytesOf(text));
  Deno.exit(1);
}

/** An absolute path (relative ones resolve against the working directory now). */
function absolute(path: string): string {
  return path === "" || path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
}

/** Reads config text from stdin (the `-` argument), logging it as Redis does. */
async function readStdin(): Promise<string> {
  Deno.stdout.writeSync(bytesOf(earlyLogLine("Reading config from stdin")));
  const chunks: Uint8Array[] = [];
  for await (const chunk of Deno.stdin.readable) chunks.push(chunk);
  let text = "";
  for (const c of chunks) text += latin1(c);
  return text;
}

const cli = parseCommandLine(Deno.args);
if (cli.action === "version") {
  Deno.stdout.writeSync(new TextEncoder().encode(versionText()));
  Deno.exit(0);
}
if (cli.action === "help") fail(usageText());
if (Deno.args.some((a) => a.toLowerCase() === "--sentinel")) {
  fail("Sentinel mode is not supported by this server.\n");
}

const config = defaultServerConfig();
const registry = new ConfigRegistry(config);
if (cli.configFile !== null) config.configFile = absolute(cli.configFile);
try {
  loadServerConfig(registry, {
    configFile: cli.configFile === null ? null : config.configFile,
    stdin: cli.stdin ? await readStdin() : undefined,
    options: cli.options,
  });
} catch (err) {
  if (err instanceof ConfigLoadError) fail(err.report);
  throw err;
}

// Relative log and pid files resolve where Redis would open them: in the
// configured dir, or where the server was started when no dir was given.
const logfile = absolute(config.logfile);
const pidfile = absolute(config.pidfile);
if (!registry.setAtStartup("dir")) {
  // This server's default data directory is ./data, created when missing.
  try {
    Deno.mkdirSync("./data", { recursive: true });
    registry.applyStartupDefault("dir");
  } catch (err) {
    const reason = err instanceof ConfigValueError ? err.message : strerror(err);
    fail(earlyLogLine(`Can't use the data directory ./data: ${reason}`));
  }
}

const log = setupLogging({ level: config.loglevel, file: logfile });
log.warn("oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo");
log.warn(
  `Redis version=${REDIS_VERSION}, bits=64, commit=00000000, modified=0, pid=${Deno.pid}, just started`,
);
if (Deno.args.length === 0) {
  log.warn(
    "Warning: no config file specified, using the default config. In order to specify a config file use deno task start /path/to/redis.conf",
  );
} else {
  log.warn("Configuration loaded");
}

if (pidfile !== "") {
  try {
    Deno.writeTextFileSync(pidfile, `${Deno.pid}\n`);
  } catch (err) {
    log.warn(`Failed to write PID file: ${strerror(err)}`);
  }
}

const server = new Server(config, registry, log);
registry.onWarning = (message) => log.warn(message);
// Effects of CONFIG SET outside the typed config: a hook that throws rolls the change back.
registry.onChange("port", () => {
  try {
    server.rebind();
  } catch {
    throw new Error("Unable to listen on this port. Check server logs.");
  }
});
registry.onChange("bind", () => {
  try {
    server.rebind();
  } catch {
    throw new Error("Failed to bind to specified addresses.");
  }
});
registry.onChange("hz", () => server.restartCron());
registry.onChange("appendonly", (c) => server.persistence.setAppendonly(c.appendonly));

try {
  server.listen();
} catch (err) {
  log.warn(`Failed listening on port ${config.port} (TCP), aborting. (${strerror(err)})`);
  Deno.exit(1);
}
// With `port 0` (any free port), CONFIG GET port reports the port actually bound.
if (config.port === 0 && server.boundPorts.length > 0) {
  registry.assume("port", String(server.boundPorts[0]));
}
log.info(`Running mode=standalone, port=${config.port}.`);
log.warn("Server initialized");
log.info(`Data directory: ${config.dir}`);

// As Redis, the server listens while it loads: clients that connect meanwhile
// get LOADING for everything but commands flagged `loading` (INFO, CONFIG…).
// With `appendonly yes` the AOF is loaded (or created) instead of the RDB. A
// file that cannot be loaded entirely stops the server (exit code 1).
const loaded = (async () => {
  try {
    if (config.appendonly) await server.persistence.startAof();
    else await server.persistence.loadAtStartup();
    log.info("Ready to accept connections");
  } catch (err) {
    if (err instanceof LoadCancelled) return;
    if (!(err instanceof RdbLoadError) && !(err instanceof AofLoadError)) throw err;
    log.warn(err.message);
    Deno.exit(1);
  }
})();

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(sig, () => {
    log.warn(`Received ${sig} scheduling shutdown...`);
    // As in Redis, a failed final save keeps the server running.
    if (server.persistence.wantsFinalSave(null) && !server.persistence.finalSave()) {
      log.warn("Errors trying to shut down the server. Check the logs for more information.");
      return;
    }
    server.shutdown();
  });
}
await loaded;
await server.finished();
if (pidfile !== "") {
  try {
    Deno.removeSync(pidfile);
  } catch { /* already gone */ }
}
Deno.exit(0);
