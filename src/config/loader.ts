/**
 * Reading the start-up configuration with redis.conf syntax: the config
 * file, optionally stdin, then the command-line directives (appended after
 * the file, so they win), exactly in the order and with the line numbering
 * of Redis' `loadServerConfig`.
 *
 * Lines are trimmed, `#` comments and blank lines skipped, and arguments
 * split with `sdssplitargs` quoting. Besides parameters, `include <path>`
 * (relative to the working directory, globs allowed) and Redis' deprecated
 * directives are understood; `rename-command`, `user` and `loadmodule` are
 * refused with a clear message. The first error stops start-up with Redis'
 * FATAL CONFIG FILE ERROR report, which also names the file.
 *
 * @module
 */

import { REDIS_VERSION } from "../server/server.ts";
import { redisTimestamp } from "../server/logging.ts";
import { GlobPattern } from "../common/glob.ts";
import { splitArgs } from "../protocol/split_args.ts";
import { bytesOf, latin1 } from "../protocol/latin1.ts";
import type { ConfigRegistry } from "./registry.ts";
import { DEPRECATED_DIRECTIVES } from "./params.ts";
import { trimConfigLine } from "./rewrite_state.ts";
import { configText, ConfigValueError, fsPath, strerror } from "./values.ts";

/** A fatal start-up configuration error; `report` is what to print (stderr) before exiting 1. */
export class ConfigLoadError extends Error {
  readonly report: string;
  constructor(report: string) {
    super(report.trim());
    this.report = report;
  }
}

/** What to load at start-up. */
export interface LoadOptions {
  /** Config file path (null: none). */
  configFile: string | null;
  /** Config text read from standard input (`-` argument), appended after the file. */
  stdin?: string;
  /** Directives built from the command line (see `parseCommandLine`). */
  options?: string;
}

/** Names where the lines of a parsed text come from (null: not a file). */
type SourceOf = (line: number) => string | null;

/** A Redis-style log line for errors printed before logging is set up. */
export function earlyLogLine(message: string): string {
  return `${Deno.pid}:C ${redisTimestamp(Date.now())} # ${message}\n`;
}

function fatalReport(reason: string, at?: { source: string | null; line: number; text: string }) {
  let report = `\n*** FATAL CONFIG FILE ERROR (Redis ${REDIS_VERSION}) ***\n`;
  if (at) {
    const where = at.source === null ? "" : ` ${configText(at.source)}`;
    report += `Reading the configuration file${where}, at line ${at.line}\n`;
    report += `>>> '${at.text}'\n`;
  }
  return new ConfigLoadError(report + reason + "\n");
}

function readConfigFile(path: string): string {
  try {
    return latin1(Deno.readFileSync(path));
  } catch (err) {
    throw new ConfigLoadError(
      earlyLogLine(`Fatal error, can't open config file '${configText(path)}': ${strerror(err)}`),
    );
  }
}

/** Files an `include` pattern names: the file itself, or the glob's matches (possibly none). */
function expandInclude(path: string): string[] {
  if (!/[*?[]/.test(path)) return [path];
  const slash = path.lastIndexOf("/");
  const dir = slash < 0 ? "." : path.slice(0, slash) || "/";
  const glob = new GlobPattern(configText(path.slice(slash + 1)));
  const found: string[] = [];
  try {
    for (const e of Deno.readDirSync(dir)) {
      if (!e.name.startsWith(".") && glob.matches(configText(e.name))) {
        found.push(slash < 0 ? e.name : `${path.slice(0, slash)}/${e.name}`);
      }
    }
  } catch {
    return []; // like glob(3): an unreadable directory matches nothing
  }
  return found.sort();
}

/** Loads the start-up configuration into `registry`; throws `ConfigLoadError`. */
export function loadServerConfig(registry: ConfigRegistry, opts: LoadOptions): void {
  registry.beginLoad();
  try {
    let text = "";
    let fileLines = 0;
    if (opts.configFile !== null) {
      text = readConfigFile(opts.configFile);
      fileLines = text.split("\n").length;
    }
    if (opts.stdin) text += opts.stdin;
    if (opts.options) text += "\n" + opts.options;
    const file = opts.configFile;
    const loader = new Loader(registry);
    loader.loadString(text, (line) => (line <= fileLines ? file : null));
    loader.finish();
  } finally {
    registry.endLoad();
  }
}

/** Parses config texts into a registry (one per start-up, includes share it). */
class Loader {
  private registry: ConfigRegistry;
  /** Module parameters (`name.with.dot value`): there are no modules, so start-up fails at the end. */
  private moduleConfigs = new Set<string>();

  constructor(registry: ConfigRegistry) {
    this.registry = registry;
  }

  /** Parses a whole config text (`loadServerConfigFromString`). */
  loadString(text: string, sourceOf: SourceOf): void {
    const lines = text.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const line = trimConfigLine(lines[i]);
      if (line === "" || line.startsWith("#")) continue;
      const error = this.directive(line);
      if (error !== null) {
        throw fatalReport(error, { source: sourceOf(i + 1), line: i + 1, text: line });
      }
    }
    this.checkLogFile();
  }

  /** Applies one line; returns Redis' error reason, or null. */
  private directive(line: string): string | null {
    const argv = splitArgs(bytesOf(line));
    if (argv === null) return "Unbalanced quotes in configuration line";
    if (argv.length === 0) return null;
    const args = argv.map(latin1);
    const name = args[0].toLowerCase();
    try {
      if (this.registry.loadDirective(name, args.slice(1))) return null;
    } catch (err) {
      if (err instanceof ConfigValueError) return err.message;
      throw err;
    }
    if (DEPRECATED_DIRECTIVES.get(name) === args.length) return null;
    if (name === "include" && args.length === 2) {
      for (const path of expandInclude(fsPath(args[1]))) {
        this.loadString(readConfigFile(path), () => path);
      }
      return null;
    }
    if (name === "rename-command" && args.length === 3) {
      return "rename-command is not supported by this server";
    }
    if (name === "user" && args.length >= 2) {
      return "user directive is not supported by this server (no ACL users)";
    }
    if (name === "loadmodule" && args.length >= 2) {
      return "loadmodule is not supported by this server (no modules)";
    }
    if (name.includes(".")) {
      if (args.length !== 2) return "Module config specified without value";
      this.moduleConfigs.add(name);
      return null;
    }
    if (name === "sentinel") {
      return args.length === 1 ? null : "sentinel directive while not in sentinel mode";
    }
    return "Bad directive or wrong number of arguments";
  }

  /** Redis checks after each text that the log file can be opened. */
  private checkLogFile(): void {
    const logfile = this.registry.target.logfile;
    if (logfile === "") return;
    try {
      Deno.openSync(logfile, { append: true, create: true }).close();
    } catch (err) {
      throw fatalReport(`Can't open the log file: ${strerror(err)}`);
    }
  }

  /** End-of-load checks. */
  finish(): void {
    if (this.moduleConfigs.size > 0) {
      throw new ConfigLoadError(
        earlyLogLine(
          "Module Configuration detected without loadmodule directive or no ApplyConfig call: aborting",
        ),
      );
    }
  }
}
