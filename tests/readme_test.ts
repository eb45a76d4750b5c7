import { deepStrictEqual, ok } from "node:assert/strict";
import { commandsMarkdown } from "../scripts/readme_commands.ts";
import { V8_FLAGS_ARG } from "../src/server/v8_flags.ts";

/** Table rows as trimmed cells, ignoring alignment and separator rows (deno fmt pads tables). */
function rows(markdown: string): string[][] {
  return markdown.split("\n")
    .filter((l) => l.trim().startsWith("|") && !/^\|[\s|:-]+\|$/.test(l.trim()))
    .map((l) => l.trim().slice(1, -1).split("|").map((c) => c.trim()));
}

Deno.test("README's command table lists exactly the commands the table declares", () => {
  const readme = Deno.readTextFileSync(new URL("../README.md", import.meta.url));
  const block = readme.slice(
    readme.indexOf("<!-- commands:start -->"),
    readme.indexOf("<!-- commands:end -->"),
  );
  deepStrictEqual(
    rows(block),
    rows(commandsMarkdown()),
    "README.md is stale: run `deno run -A scripts/readme_commands.ts --write`",
  );
});

Deno.test("deno.json runs the server with the V8 flags the benchmarks and tests use", () => {
  const config = JSON.parse(Deno.readTextFileSync(new URL("../deno.json", import.meta.url)));
  for (const task of ["start", "dev", "compile"]) {
    ok(config.tasks[task].includes(` ${V8_FLAGS_ARG} `), `task ${task}: ${config.tasks[task]}`);
  }
});
