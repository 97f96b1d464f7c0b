// Validates EPCIS 2.0 documents against GS1's EPCIS JSON Schema (draft-07) with ajv and
// ajv-formats (tests/package.json; installed into tests/node_modules as tests/lint.sh does).
// The schema is GS1's file, read where it is (../shared/epcis), never copied into the project.
//   node tests/tools/epcis_validate.mjs SCHEMA.json DOCUMENT.json...
// Prints "ok FILE: N events" or every error of a file; exits 1 if any file is invalid, 2 on a
// usage error or a schema that does not compile.
import { readFileSync } from "node:fs";
import AjvModule from "ajv";
import addFormatsModule from "ajv-formats";

const Ajv = AjvModule.default ?? AjvModule;
const addFormats = addFormatsModule.default ?? addFormatsModule;

const [schemaPath, ...docs] = process.argv.slice(2);
if (!schemaPath || docs.length === 0) {
  console.error("usage: node tests/tools/epcis_validate.mjs SCHEMA.json DOCUMENT.json...");
  process.exit(2);
}
// strict off: GS1's schema uses draft-07 idioms (if/then without type, ...) that ajv's strict
// mode reports as warnings about the schema, not about our documents
const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
let validate;
try {
  validate = ajv.compile(JSON.parse(readFileSync(schemaPath, "utf8")));
} catch (e) {
  console.error(`${schemaPath}: ${e.message}`);
  process.exit(2);
}
let bad = 0;
for (const path of docs) {
  const doc = JSON.parse(readFileSync(path, "utf8"));
  if (validate(doc)) {
    console.log(`ok ${path}: ${doc.epcisBody?.eventList?.length ?? 0} events`);
  } else {
    bad++;
    console.log(`INVALID ${path}:`);
    for (const e of validate.errors.slice(0, 20)) console.log(`  ${e.instancePath || "/"} ${e.message} ${JSON.stringify(e.params)}`);
  }
}
process.exit(bad ? 1 : 0);
