import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { STORE_CODES } from "../../src/store/index.ts";

describe("store error catalog", () => {
  const doc = readFileSync(join(import.meta.dirname, "../../docs/store.md"), "utf8");
  it.each(Object.keys(STORE_CODES))("%s is documented in docs/store.md", (code) => {
    expect(doc).toMatch(new RegExp(`\\| \`${code}\` +\\|`));
  });
});
