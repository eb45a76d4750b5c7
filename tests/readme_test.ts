import { strictEqual } from "node:assert/strict";
import { updatedReadme } from "../scripts/readme_commands.ts";

Deno.test("README's command table lists exactly the commands the table declares", () => {
  const readme = Deno.readTextFileSync(new URL("../README.md", import.meta.url));
  strictEqual(
    readme,
    updatedReadme(readme),
    "README.md is stale: run `deno run -A scripts/readme_commands.ts --write`",
  );
});
