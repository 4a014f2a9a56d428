// Writes schema/policy.schema.json from the zod schema in src/policy/schema.ts (npm run schema).
import { writeFileSync } from "node:fs";
import { policyJsonSchema } from "../src/policy/index.ts";

const file = new URL("../schema/policy.schema.json", import.meta.url);
writeFileSync(file, `${JSON.stringify(policyJsonSchema(), null, 2)}\n`);
console.log(`wrote ${file.pathname}`);
