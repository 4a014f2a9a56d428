import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ADMIN_CODES } from "../src/admin/errors.ts";
import { POLICY_CODES } from "../src/policy/index.ts";

const doc = readFileSync(new URL("../docs/errors.md", import.meta.url), "utf8");

describe("error catalog", () => {
  it("documents every policy error code in docs/errors.md", () => {
    const missing = Object.keys(POLICY_CODES).filter((code) => !doc.includes(`\`${code}\``));
    expect(missing).toEqual([]);
  });

  it("documents every admin API error code with its HTTP status in docs/errors.md", () => {
    const missing = Object.entries(ADMIN_CODES)
      .filter(([code, { status }]) => !new RegExp(`\\| \`${code}\` +\\| ${status} +\\|`).test(doc))
      .map(([code]) => code);
    expect(missing).toEqual([]);
  });

  it("gives every admin code a 4xx or 5xx status and a stable ADMIN_ prefix", () => {
    for (const [code, { status }] of Object.entries(ADMIN_CODES)) {
      expect(code).toMatch(/^ADMIN_[A-Z_]+$/);
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(600);
    }
  });
});
