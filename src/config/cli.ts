/**
 * Command-line arguments, handled exactly as redis-server 7.0 handles argv:
 * `-v`/`--version` or `-h`/`--help` as the first argument; a first argument
 * not starting with `-` is the config file; each `--name` starts a directive
 * whose values are the following arguments (quoted, so spaces and any bytes
 * survive) until the next `--name`; a lone `-` first or last reads config
 * from stdin. A bare `--save` means `--save ""`. The directives are joined
 * into redis.conf text that is parsed after the file.
 *
 * @module
 */

import { splitArgs } from "../protocol/split_args.ts";
import { bytesOf } from "../protocol/latin1.ts";
import { REDIS_VERSION } from "../server/server.ts";
import { configText, repr } from "./values.ts";

/** What the command line asks for. */
export type CommandLine =
  | { action: "version" }
  | { action: "help" }
  | { action: "run"; configFile: string | null; options: string; stdin: boolean };

/** Parses `Deno.args` (program name excluded). */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  if (argv.length === 0) return { action: "run", configFile: null, options: "", stdin: false };
  if (argv[0] === "-v" || argv[0] === "--version") return { action: "version" };
  if (argv[0] === "--help" || argv[0] === "-h") return { action: "help" };
  let j = 0;
  let configFile: string | null = null;
  if (!argv[0].startsWith("-")) {
    configFile = argv[0];
    j = 1;
  }
  const last = argv.length - 1;
  let options = "";
  let stdin = false;
  // False right after a bare `--name`: the next argument is its value even if it starts with `--`.
  let handledLastConfigArg = true;
  for (; j < argv.length; j++) {
    const arg = argv[j];
    if (arg === "-" && (j === 0 || j === last)) {
      stdin = true;
    } else if (handledLastConfigArg && arg.startsWith("--")) {
      if (options.length > 0) options += "\n";
      options += configText(arg.slice(2)) + " ";
      const parts = splitArgs(bytesOf(configText(arg)));
      if (parts !== null && parts.length === 1) {
        handledLastConfigArg = false;
        const nextIsName = j !== last && argv[j + 1].startsWith("--");
        const name = arg.toLowerCase();
        if (name === "--save" && (nextIsName || j === last)) {
          // `--save --port 1` and a trailing `--save` mean `--save ""`.
          options += '""';
          handledLastConfigArg = nextIsName;
        } else if (name === "--sentinel" && nextIsName) {
          handledLastConfigArg = true;
        }
      } else {
        // "--port 6380" in one argument: name and value together.
        handledLastConfigArg = true;
      }
    } else {
      options += repr(configText(arg)) + " ";
      handledLastConfigArg = true;
    }
  }
  return { action: "run", configFile, options, stdin };
}

/** `--version` output. */
export function versionText(): string {
  return `Redis server v=${REDIS_VERSION} sha=00000000:0 malloc=libc bits=64 build=0000000000000000\n`;
}

/** `--help` output (printed on stderr, exit code 1, as redis-server does). */
export function usageText(): string {
  const p = "deno task start";
  return [
    `Usage: ${p} [/path/to/redis.conf] [options] [-]`,
    `       ${p} - (read config from stdin)`,
    `       ${p} -v or --version`,
    `       ${p} -h or --help`,
    "",
    "Examples:",
    `       ${p} (run the server with default conf)`,
    `       echo 'maxmemory 128mb' | ${p} -`,
    `       ${p} /etc/redis/6379.conf`,
    `       ${p} --port 7777`,
    `       ${p} /etc/myredis.conf --loglevel verbose -`,
    `       ${p} /etc/myredis.conf --loglevel verbose`,
    "",
  ].join("\n");
}
