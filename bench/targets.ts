/**
 * Benchmark targets, each run in its own process by bench/gateway.bench.ts:
 *   tsx bench/targets.ts mock                 → the mock OpenAI upstream
 *   tsx bench/targets.ts gateway <base URL>   → Clearance on the example policy and demo directory
 * Each prints the port it listens on. For the gateway, BENCH_STORE=<store URL> reads the directory
 * from that store (seeded with the demo directory) and writes the audit log into it (hash-chained,
 * group commit); BENCH_AUDIT=memory keeps no audit record (what the audit costs, diagnostic only).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMockUpstream } from "../src/demo/mock-upstreams.ts";
import { loadDirectoryFile } from "../src/directory/file.ts";
import { parseConfig } from "../src/gateway/config.ts";
import { startGateway } from "../src/gateway/start.ts";
import { openStore, seedDirectory } from "../src/store/index.ts";

/** Run from the repository root (as npm scripts do): paths below are relative to it. */
const ROOT = process.cwd();
const [what, upstream] = process.argv.slice(2);

if (what === "mock") {
  const mock = await startMockUpstream({ name: "bench", kind: "openai" });
  console.log(new URL(mock.url).port);
} else if (what === "gateway") {
  const audit = join(
    mkdtempSync(join(process.env.BENCH_AUDIT_DIR ?? tmpdir(), "clearance-bench-")),
    "audit.jsonl",
  );
  const storeUrl = process.env.BENCH_STORE;
  if (storeUrl) {
    const store = await openStore(storeUrl);
    await seedDirectory(store, (await loadDirectoryFile("examples/gateway/demo-directory.yaml")).entries());
    await store.close();
  }
  const sources = storeUrl
    ? `store: "${storeUrl}"\naudit: { store: true, node: bench-${process.pid} }`
    : `directory: examples/gateway/demo-directory.yaml\naudit: { file: "${audit}" }`;
  const text = `
listen: { host: 127.0.0.1, port: 0 }
policy: examples/policies/us-2026-frontier.yaml
reload: { enabled: false }
${sources}
deployments:
  claude-mythos-5:
    - { provider: openai, base_url: "${upstream}/v1", region: us, api_key_env: BENCH_KEY }
`;
  const config = parseConfig(text, "<bench config>", { BENCH_KEY: "bench-secret" }, ROOT);
  // BENCH_AUDIT=memory: an audit sink that keeps nothing, to measure what durability costs. Diagnostic only.
  const memory = process.env.BENCH_AUDIT === "memory";
  const gw = await startGateway(config, {
    logger: { level: "error" },
    ...(memory
      ? { audit: { ready: true, open: () => ({ commit: async () => {} }), close: async () => {} } }
      : {}),
  });
  console.log(new URL(gw.url).port);
} else {
  console.error("usage: tsx bench/targets.ts mock | gateway <upstream origin>");
  process.exit(2);
}

// Exit cleanly on a signal so `node --cpu-prof` can write its profile.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(0));
