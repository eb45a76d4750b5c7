/**
 * The `<COMMAND> HELP` reply every container command shares.
 *
 * @module
 */

import type { ReplyWriter } from "../protocol/reply_writer.ts";

/**
 * Writes a help reply as Redis' `addReplyHelp` does: a header line, the
 * given lines, then the HELP entry, each as a status string.
 */
export function replyHelp(out: ReplyWriter, command: string, lines: readonly string[]): void {
  out.array(lines.length + 3);
  out.simple(`${command.toUpperCase()} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:`);
  for (const l of lines) out.simple(l);
  out.simple("HELP");
  out.simple("    Prints this help.");
}
