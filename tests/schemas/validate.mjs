// Checks the JSON Schemas in schemas/ with ajv (draft 2020-12), run by tests/lint.sh:
//   - every schemas/*.schema.json compiles in ajv's strict mode;
//   - schemas/topics.json is valid against schemas/topics.schema.json, and every shipped policy
//     deploy/policies/*.json against schemas/policy.schema.json;
//   - every tests/schemas/examples/<Message>/*.json is valid against schemas/<Message>.schema.json
//     and every tests/schemas/bad/<Message>/*.json is not;
//   - with --codec PATH (build/tools/json_schema): the C codec reads every example and refuses
//     every bad one, and the JSON it writes back for an example is valid too, so the schemas,
//     the codec's reader and its writer agree. ("topics" and "policy" are not proto messages: schema only.)
//   - every message schema has at least one example.
// Prints each failure, then "schemas: N passed, N failed"; exits 1 on any failure.
//   node tests/schemas/validate.mjs [--codec build/tools/json_schema] [--schemas DIR] [-v]
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import Ajv2020Module from "ajv/dist/2020.js";

const Ajv2020 = Ajv2020Module.default ?? Ajv2020Module;
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const here = join(root, "tests/schemas");

let codec = null;
let schemasDir = join(root, "schemas");
let verbose = false;
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === "--codec") codec = resolve(process.argv[++i]);
  else if (a === "--schemas") schemasDir = resolve(process.argv[++i]);
  else if (a === "-v") verbose = true;
  else {
    console.error(`validate.mjs: unknown argument ${a}`);
    process.exit(2);
  }
}

let passed = 0;
let failed = 0;
const rel = (p) => relative(root, p);
function ok(what) {
  passed++;
  if (verbose) console.log(`  ok    ${what}`);
}
function fail(what, why) {
  failed++;
  console.log(`  FAIL  ${what}${why ? `\n        ${why.trim().replace(/\n/g, "\n        ")}` : ""}`);
}
const listJson = (dir) =>
  existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".json")).sort() : [];
const listDirs = (dir) =>
  existsSync(dir)
    ? readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort()
    : [];
const ajvErrors = (v) =>
  (v.errors ?? []).slice(0, 5).map((e) => `${e.instancePath || "(top)"} ${e.message}`).join("\n");

// 1. every schema compiles (strict: unknown keywords, ignored constraints etc. are errors)
const ajv = new Ajv2020({ strict: true, allErrors: true });
const validators = new Map(); // "BatchEvent" -> validate function
for (const f of listJson(schemasDir).filter((f) => f.endsWith(".schema.json"))) {
  const name = f.slice(0, -".schema.json".length);
  const path = join(schemasDir, f);
  try {
    validators.set(name, ajv.compile(JSON.parse(readFileSync(path, "utf8"))));
    ok(`${rel(path)} compiles`);
  } catch (e) {
    fail(`${rel(path)} does not compile`, String(e.message ?? e));
  }
}

function validate(name, path, doc, expectValid, what) {
  const v = validators.get(name);
  if (!v) return fail(what, `no schema ${name}.schema.json`);
  const valid = v(doc);
  if (valid === expectValid) return ok(what);
  fail(what, expectValid ? ajvErrors(v) : "the schema accepts it");
}

// 2. the real topics file
{
  const path = join(schemasDir, "topics.json");
  if (existsSync(path))
    validate("topics", path, JSON.parse(readFileSync(path, "utf8")), true, `${rel(path)} is valid`);
  const policies = join(root, "deploy/policies");
  for (const f of listJson(policies))
    validate("policy", join(policies, f), JSON.parse(readFileSync(join(policies, f), "utf8")), true,
             `${rel(join(policies, f))} is valid`);
}

// Runs the codec on a file: {status, stdout, stderr}.
function runCodec(name, path) {
  try {
    const stdout = execFileSync(codec, ["--parse", name, path], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    return { status: 0, stdout, stderr: "" };
  } catch (e) {
    return { status: e.status ?? -1, stdout: e.stdout ?? "", stderr: e.stderr ?? String(e) };
  }
}

// 3. examples and bad examples (the hand-written schemas are not proto messages: schema only)
const handWritten = new Set(["topics", "audit-report", "policy"]);
const examples = new Set();
for (const [kind, expectValid] of [["examples", true], ["bad", false]]) {
  for (const name of listDirs(join(here, kind))) {
    for (const f of listJson(join(here, kind, name))) {
      const path = join(here, kind, name, f);
      let doc;
      try {
        doc = JSON.parse(readFileSync(path, "utf8"));
      } catch (e) {
        fail(`${rel(path)} is not JSON`, String(e.message));
        continue;
      }
      if (expectValid) examples.add(name);
      validate(name, path, doc, expectValid, `${rel(path)} is ${expectValid ? "valid" : "invalid"}`);
      if (!codec || handWritten.has(name)) continue;
      const r = runCodec(name, path);
      if (r.status !== 0 && r.status !== 1) {
        fail(`${rel(path)}: codec failed to run`, r.stderr);
      } else if (expectValid && r.status !== 0) {
        fail(`${rel(path)}: the codec refuses it`, r.stderr);
      } else if (!expectValid && r.status !== 1) {
        fail(`${rel(path)}: the codec accepts it`, r.stdout);
      } else if (expectValid) {
        ok(`${rel(path)}: the codec reads it`);
        validate(name, path, JSON.parse(r.stdout), true, `${rel(path)}: the codec's JSON of it is valid`);
      } else {
        ok(`${rel(path)}: the codec refuses it (${r.stderr.trim().split(": ").slice(1).join(": ")})`);
      }
    }
  }
}

// 4. every schema has an example
for (const name of validators.keys()) {
  if (examples.has(name)) ok(`${name} has examples`);
  else fail(`${name} has no example in tests/schemas/examples/${name}/`);
}

console.log(`schemas: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
