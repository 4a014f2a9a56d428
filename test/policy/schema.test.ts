import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { policyJsonSchema } from "../../src/policy/index.ts";

describe("JSON Schema for editors", () => {
  it("schema/policy.schema.json is up to date with the zod schema (npm run schema)", () => {
    const committed = JSON.parse(
      readFileSync(new URL("../../schema/policy.schema.json", import.meta.url), "utf8"),
    );
    expect(committed).toEqual(JSON.parse(JSON.stringify(policyJsonSchema())));
  });

  it("offers every attribute and operator for completion", () => {
    const text = JSON.stringify(policyJsonSchema());
    for (const name of [
      "user.nationality",
      "org.cohorts",
      "request.country",
      "not_in",
      "contains",
      "exempts",
    ]) {
      expect(text).toContain(`"${name}"`);
    }
  });
});
