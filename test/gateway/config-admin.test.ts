import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/gateway/config.ts";

const base = `
policy: examples/policies/us-2026-frontier.yaml
directory: examples/gateway/demo-directory.yaml
audit: { file: data/audit.jsonl }
deployments: {}
`;

describe("gateway config: admin API", () => {
  it("needs a store, with a located error", () => {
    let error: unknown;
    try {
      parseConfig(`${base}admin: { listen: { port: 9000 } }\n`, "gw.yaml", {}, process.cwd());
    } catch (err) {
      error = err;
    }
    expect(String((error as Error).message)).toMatch(
      /gw\.yaml:\d+:\d+.*CONFIG_NO_STORE.*admin API needs `store`/s,
    );
  });

  it("defaults to 127.0.0.1:8788 and reads the webhook secret from the named variable", () => {
    const c = parseConfig(
      `${base}store: "sqlite:data/x.db"\nadmin: { webhook_secret_env: HOOK_SECRET }\n`,
      "gw.yaml",
      {
        HOOK_SECRET: "s3cret",
      },
      process.cwd(),
    );
    expect(c.admin).toEqual({
      host: "127.0.0.1",
      port: 8788,
      webhookSecret: "s3cret",
      noticeRefreshMs: 5000,
    });
  });
});
