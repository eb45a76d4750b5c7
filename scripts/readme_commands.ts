/**
 * Generates README's table of supported commands from the command table, so
 * the documentation cannot drift from what the dispatcher serves.
 *
 * `deno run -A scripts/readme_commands.ts` prints the table;
 * `--write` replaces the block between the README's markers.
 *
 * @module
 */

import { buildCommandTable } from "../src/commands/table.ts";

const START = "<!-- commands:start -->";
const END = "<!-- commands:end -->";
const README = new URL("../README.md", import.meta.url);

/** The markdown table of commands, grouped by documentation group. */
export function commandsMarkdown(): string {
  const groups = new Map<string, string[]>();
  for (const cmd of buildCommandTable().values()) {
    const spec = cmd.spec;
    let name = spec.name.toUpperCase();
    if (spec.subcommands?.length) {
      const subs = spec.subcommands.map((s) => s.name.toUpperCase()).sort();
      name += ` (${subs.join(", ")})`;
    }
    const list = groups.get(spec.group) ?? [];
    list.push(name);
    groups.set(spec.group, list);
  }
  const lines = ["| group | commands |", "|---|---|"];
  for (const group of [...groups.keys()].sort()) {
    lines.push(`| ${group} | ${groups.get(group)!.sort().join(", ")} |`);
  }
  return lines.join("\n");
}

/** README text with the generated block replaced. */
export function updatedReadme(readme: string): string {
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) throw new Error(`README.md lacks the ${START} / ${END} markers`);
  return `${readme.slice(0, a + START.length)}\n${commandsMarkdown()}\n${readme.slice(b)}`;
}

if (import.meta.main) {
  if (Deno.args.includes("--write")) {
    Deno.writeTextFileSync(README, updatedReadme(Deno.readTextFileSync(README)));
    await new Deno.Command(Deno.execPath(), { args: ["fmt", README.pathname] }).output();
  } else {
    console.log(commandsMarkdown());
  }
}
