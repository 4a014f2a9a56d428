import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type MockOptions, type MockUpstream, startMockUpstream } from "../../src/demo/mock-upstreams.ts";
import { parseConfig } from "../../src/gateway/config.ts";
import { type RunningGateway, type StartOptions, startGateway } from "../../src/gateway/start.ts";
import type { AuditRecordV1 } from "../../src/store/audit-port.ts";

export const KEYS = {
  orgA: "clr_demo_annex_a_partner",
  acme: "clr_demo_acme_us",
  euBody: "clr_demo_eu_public_body",
  frontier: "clr_demo_frontier_staff",
  revoked: "clr_demo_acme_revoked",
} as const;

/** Decisions in tests are taken at a fixed instant when every example directive is in force. */
export const NOW = Date.parse("2026-10-01T12:00:00Z");

export interface Harness {
  gw: RunningGateway;
  url: string;
  dir: string;
  policyFile: string;
  directoryFile: string;
  auditFile: string;
  mocks: Record<string, MockUpstream>;
  audit(): AuditRecordV1[];
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Mock upstreams by name; defaults to the demo's four. */
  mocks?: Record<string, Omit<MockOptions, "name">>;
  /** The `deployments:` section; `{name}` is replaced by that mock's base URL. */
  deployments?: string;
  /** Where policy, directory and audit come from (YAML); default: the files in the harness folder. */
  sources?: string;
  /** Extra top-level config (YAML). */
  extra?: string;
  start?: StartOptions;
  /** Policy text instead of the example policy. */
  policyText?: string;
}

const DEFAULT_MOCKS: Record<string, Omit<MockOptions, "name">> = {
  "openai-us": { kind: "openai" },
  "openai-eu": { kind: "openai" },
  "anthropic-us": { kind: "anthropic" },
  "anthropic-eu": { kind: "anthropic" },
};

const DEFAULT_DEPLOYMENTS = `
  claude-mythos-5:
    - { provider: anthropic, base_url: "{anthropic-us}", region: us, model: claude-mythos-5-20260601, api_key_env: UPSTREAM_KEY }
    - { provider: anthropic, base_url: "{anthropic-eu}", region: eu, model: claude-mythos-5-20260601, api_key_env: UPSTREAM_KEY }
    - { provider: openai, base_url: "{openai-us}", region: us, model: claude-mythos-5-20260601, api_key_env: UPSTREAM_KEY }
    - { provider: openai, base_url: "{openai-eu}", region: eu, model: claude-mythos-5-20260601, api_key_env: UPSTREAM_KEY }
  fable-5:
    - { provider: anthropic, base_url: "{anthropic-us}", region: us }
    - { provider: openai, base_url: "{openai-us}", region: us }
  glm-5.2:
    - { provider: openai, base_url: "{openai-eu}", region: eu }
    - { provider: anthropic, base_url: "{anthropic-eu}", region: eu }
  cyber-preview:
    - { provider: openai, base_url: "{openai-us}", region: us }
`;

export const UPSTREAM_SECRET = "sk-upstream-secret-do-not-leak";

/** The gateway on copies of the example policy and demo directory, in front of real mock upstreams. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), "clearance-gw-"));
  const policyFile = join(dir, "policy.yaml");
  const directoryFile = join(dir, "directory.yaml");
  const auditFile = join(dir, "audit.jsonl");
  if (options.policyText) writeFileSync(policyFile, options.policyText);
  else copyFileSync("examples/policies/us-2026-frontier.yaml", policyFile);
  copyFileSync("examples/gateway/demo-directory.yaml", directoryFile);
  const mocks: Record<string, MockUpstream> = {};
  for (const [name, o] of Object.entries(options.mocks ?? DEFAULT_MOCKS)) {
    mocks[name] = await startMockUpstream({ name, ...o });
  }
  const deployments = (options.deployments ?? DEFAULT_DEPLOYMENTS).replace(
    /\{([a-z0-9-]+)\}/g,
    (_, name: string) => mocks[name]?.baseUrl ?? "http://127.0.0.1:9",
  );
  const text = `
listen: { host: 127.0.0.1, port: 0 }
${options.sources ?? "policy: policy.yaml\ndirectory: directory.yaml\naudit: { file: audit.jsonl }"}
${options.extra ?? ""}
deployments:
${deployments}`;
  const config = parseConfig(text, join(dir, "gateway.yaml"), { UPSTREAM_KEY: UPSTREAM_SECRET });
  const gw = await startGateway(config, { logger: false, now: () => NOW, ...options.start });
  return {
    gw,
    url: gw.url,
    dir,
    policyFile,
    directoryFile,
    auditFile,
    mocks,
    audit: () =>
      readFileSync(auditFile, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as AuditRecordV1),
    async close() {
      await gw.close(200);
      await Promise.all(Object.values(mocks).map((m) => m.close()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls until `check` passes or `ms` elapse; returns how long it took. */
export async function eventually(check: () => Promise<boolean> | boolean, ms = 1000): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < ms) {
    if (await check()) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`condition not met within ${ms} ms`);
}
