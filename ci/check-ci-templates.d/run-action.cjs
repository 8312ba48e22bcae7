// node run-action.cjs ACTION_YML OUT_DIR [INPUT=VALUE]...
//
// Runs a composite action's steps the way a GitHub runner does, far enough to
// test ci/github/action.yml for real: GITHUB_ACTIONS=true, GITHUB_ACTION_PATH,
// RUNNER_TEMP, one GITHUB_OUTPUT file per step, one GITHUB_STEP_SUMMARY,
// `shell: bash` as `bash --noprofile --norc -eo pipefail FILE`, a step's `env`
// and `working-directory`, skipping the remaining steps after a failure.
// Only the expressions the action uses are understood (inputs.X,
// steps.ID.outputs.X, github.action_path, and `if: inputs.X == ''` / `!= ''`);
// anything else is an error rather than a guess.
//
// Writes OUT_DIR/outputs (the action's outputs, NAME=VALUE lines) and
// OUT_DIR/summary.md; exits with the failed step's exit code, else 0
// (2 when the action cannot be emulated).
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { spawnSync } = require("node:child_process");
const yaml = require("js-yaml");

function fail(msg) {
  console.error(`run-action: ${msg}`);
  process.exit(2);
}

const [actionFile, outDir, ...pairs] = process.argv.slice(2);
if (!actionFile || !outDir) fail("usage: run-action.cjs ACTION_YML OUT_DIR [INPUT=VALUE]...");
const action = yaml.load(fs.readFileSync(actionFile, "utf8"));
if (!action.runs || action.runs.using !== "composite") fail("not a composite action");
const actionPath = path.dirname(path.resolve(actionFile));

const inputs = {};
for (const [name, spec] of Object.entries(action.inputs || {}))
  inputs[name] = spec && spec.default !== undefined ? String(spec.default) : "";
for (const pair of pairs) {
  const eq = pair.indexOf("=");
  if (eq < 1) fail(`not INPUT=VALUE: ${pair}`);
  const name = pair.slice(0, eq);
  if (!(name in inputs)) fail(`the action has no input '${name}'`);
  inputs[name] = pair.slice(eq + 1);
}

const steps = {}; // id -> {outputs}
function value(expr) {
  expr = expr.trim();
  let m;
  if ((m = /^inputs\.([A-Za-z0-9_-]+)$/.exec(expr))) {
    if (!(m[1] in inputs)) fail(`unknown input in \${{ ${expr} }}`);
    return inputs[m[1]];
  }
  if ((m = /^steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)$/.exec(expr)))
    return (steps[m[1]] && steps[m[1]].outputs[m[2]]) || "";
  if (expr === "github.action_path") return actionPath;
  fail(`unsupported expression \${{ ${expr} }}`);
}
const expand = (s) => String(s).replace(/\$\{\{(.*?)\}\}/g, (_, e) => value(e));
function condition(expr) {
  if (expr === undefined) return true; // success(): we stop at the first failure anyway
  const m = /^\s*(?:\$\{\{)?\s*(inputs\.[A-Za-z0-9_-]+)\s*(==|!=)\s*''\s*(?:\}\})?\s*$/.exec(String(expr));
  if (!m) fail(`unsupported if: ${expr}`);
  return (value(m[1]) === "") === (m[2] === "==");
}

fs.mkdirSync(outDir, { recursive: true });
const runnerTemp = fs.mkdtempSync(path.join(path.resolve(outDir), "runner-temp-"));
const summary = path.join(path.resolve(outDir), "summary.md");
fs.writeFileSync(summary, "");

let exitCode = 0;
action.runs.steps.forEach((step, index) => {
  const id = step.id || `__step${index}`;
  steps[id] = { outputs: {} };
  if (exitCode !== 0) return;
  const name = expand(step.name || step.run.split("\n")[0]);
  if (!condition(step.if)) {
    console.log(`[action] skip: ${name}`);
    return;
  }
  if (step.uses) fail(`step '${name}': uses: is not emulated`);
  if (step.shell !== "bash") fail(`step '${name}': only shell: bash is emulated`);
  const script = path.join(runnerTemp, `step-${index}.sh`);
  const output = path.join(runnerTemp, `output-${index}`);
  fs.writeFileSync(script, step.run);
  fs.writeFileSync(output, "");
  const env = { ...process.env };
  for (const [k, v] of Object.entries(step.env || {})) env[k] = expand(v);
  Object.assign(env, {
    GITHUB_ACTIONS: "true",
    CI: "true",
    GITHUB_ACTION_PATH: actionPath,
    GITHUB_OUTPUT: output,
    GITHUB_STEP_SUMMARY: summary,
    GITHUB_WORKSPACE: process.cwd(),
    RUNNER_TEMP: runnerTemp,
    RUNNER_TOOL_CACHE: path.join(runnerTemp, "tool-cache"),
  });
  const cwd = path.resolve(process.cwd(), expand(step["working-directory"] || "."));
  console.log(`[action] run: ${name}`);
  const r = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", script], { cwd, env, stdio: "inherit" });
  exitCode = r.status === null ? 128 : r.status;
  const text = fs.readFileSync(output, "utf8").split("\n");
  for (let i = 0; i < text.length; i++) {
    const line = text[i];
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const lines = [];
      for (i++; i < text.length && text[i] !== heredoc[2]; i++) lines.push(text[i]);
      steps[id].outputs[heredoc[1]] = lines.join("\n");
    } else if (line.includes("=")) {
      steps[id].outputs[line.slice(0, line.indexOf("="))] = line.slice(line.indexOf("=") + 1);
    }
  }
  if (exitCode !== 0) console.log(`[action] '${name}' failed with exit code ${exitCode}`);
});

const outputs = Object.entries(action.outputs || {}).map(([k, spec]) => `${k}=${expand(spec.value)}\n`);
fs.writeFileSync(path.join(outDir, "outputs"), outputs.join(""));
fs.rmSync(runnerTemp, { recursive: true, force: true });
process.exit(exitCode);
