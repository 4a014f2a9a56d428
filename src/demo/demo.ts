import { mkdirSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { issueAdminToken } from "../admin/index.ts";
import { loadDirectoryFile } from "../directory/file.ts";
import { parseConfig } from "../gateway/config.ts";
import { type RunningGateway, startGateway } from "../gateway/start.ts";
import { publishPolicyText } from "../gateway/store-policy.ts";
import { openStore } from "../store/open.ts";
import { seedDirectory } from "../store/seed.ts";
import { type MockUpstream, startMockUpstream } from "./mock-upstreams.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The demo's store: SQLite, seeded with the demo directory on first start. */
export const DEMO_STORE = "data/demo.db";
export const DEMO_DIRECTORY = "examples/gateway/demo-directory.yaml";
export const DEMO_POLICY = "examples/policies/us-2026-frontier.yaml";

export interface Demo {
  gateway: RunningGateway;
  mocks: MockUpstream[];
  /** Admin tokens issued for this run (shown once, stored hashed), one per lifecycle role. */
  adminTokens: { name: string; role: string; token: string }[];
  close(): Promise<void>;
}

/**
 * The gateway on the example policy and the demo directory (seeded into a SQLite store on first
 * start; audit records go to the store's hash-chained log), in front of four mock upstreams on
 * loopback (OpenAI and Anthropic wire formats, in a US and an EU region). Works offline.
 */
export async function startDemo(
  options: { port?: number; adminPort?: number; host?: string; storeFile?: string; logger?: boolean } = {},
): Promise<Demo> {
  const storeFile = resolve(ROOT, options.storeFile ?? DEMO_STORE);
  mkdirSync(dirname(storeFile), { recursive: true });
  const store = await openStore(`sqlite:${storeFile}`);
  const adminTokens: Demo["adminTokens"] = [];
  try {
    await seedDirectory(store, (await loadDirectoryFile(resolve(ROOT, DEMO_DIRECTORY))).entries());
    // The example policy is version 1; later versions come through the admin API's lifecycle.
    if (!(await store.latestPolicy())) {
      await publishPolicyText(store, readFileSync(resolve(ROOT, DEMO_POLICY), "utf8"), DEMO_POLICY, "demo");
    }
    // Two people for the two-person rule, and an auditor for reports.
    for (const [name, role] of [
      ["erin (editor)", "editor"],
      ["aaron (approver)", "approver"],
      ["ada (admin)", "admin"],
      ["audra (auditor)", "auditor"],
    ]) {
      const { token } = await issueAdminToken(store, {
        name: name!,
        role: role!,
        createdBy: "demo",
        at: Date.now(),
      });
      adminTokens.push({ name: name!, role: role!, token });
    }
  } finally {
    await store.close();
  }
  const [openaiUs, openaiEu, anthropicUs, anthropicEu] = await Promise.all([
    startMockUpstream({ name: "mock-openai-us", kind: "openai" }),
    startMockUpstream({ name: "mock-openai-eu", kind: "openai" }),
    startMockUpstream({ name: "mock-anthropic-us", kind: "anthropic" }),
    startMockUpstream({ name: "mock-anthropic-eu", kind: "anthropic" }),
  ]);
  const env = { DEMO_UPSTREAM_KEY: "demo-upstream-secret" };
  const dep = (m: MockUpstream, region: string, model?: string) =>
    `{ provider: ${m.options.kind}, base_url: "${m.baseUrl}", region: ${region}${model ? `, model: ${model}` : ""}, api_key_env: DEMO_UPSTREAM_KEY }`;
  const text = `
listen: { host: "${options.host ?? "127.0.0.1"}", port: ${options.port ?? 8787} }
policy: { store: true }
store: "sqlite:${storeFile}"
audit: { store: true, node: demo }
admin: { listen: { host: "${options.host ?? "127.0.0.1"}", port: ${options.adminPort ?? (options.port === 0 ? 0 : (options.port ?? 8787) + 1)} } }
deployments:
  claude-mythos-5:
    - ${dep(anthropicUs, "us", "claude-mythos-5-20260601")}
    - ${dep(anthropicEu, "eu", "claude-mythos-5-20260601")}
    - ${dep(openaiUs, "us")}
    - ${dep(openaiEu, "eu")}
  fable-5:
    - ${dep(anthropicUs, "us")}
    - ${dep(openaiUs, "us")}
  glm-5.2:
    - ${dep(openaiEu, "eu")}
    - ${dep(anthropicEu, "eu")}
  cyber-preview:
    - ${dep(openaiUs, "us")}
`;
  const config = parseConfig(text, "<demo config>", env, ROOT);
  const gateway = await startGateway(config, { logger: options.logger ?? true });
  const mocks = [openaiUs, openaiEu, anthropicUs, anthropicEu];
  return {
    gateway,
    mocks,
    adminTokens,
    async close() {
      await gateway.close();
      await Promise.all(mocks.map((m) => m.close()));
    },
  };
}
