import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { POLICY_CODES } from "../src/policy/index.ts";

const doc = readFileSync(new URL("../docs/errors.md", import.meta.url), "utf8");

describe("error catalog", () => {
  it("documents every policy error code in docs/errors.md", () => {
    const missing = Object.keys(POLICY_CODES).filter((code) => !doc.includes(`\`${code}\``));
    expect(missing).toEqual([]);
  });
});
