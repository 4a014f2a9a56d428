import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Pool } from "undici";
import { afterAll, describe, expect, it } from "vitest";
import { type MockUpstream, startMockUpstream } from "../../src/demo/mock-upstreams.ts";
import { openStore, verifyAudit } from "../../src/store/index.ts";
import { BIN, clearance, ROOT } from "../cli/run.ts";
import { PG_URL, postgresDatabase, sqliteDatabase, type TestDatabase } from "../helpers/databases.ts";
import { seedDemoDirectory } from "../helpers/demo-store.ts";
import { KEYS } from "./harness.ts";

/** Starts `clearance serve` as its own process; resolves with its URL once it listens. */
function serve(config: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [BIN, "serve", "--config", config], {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, CLEARANCE_LOG_LEVEL: "warn" },
  });
  return new Promise((resolve, reject) => {
    let err = "";
    child.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) resolve({ child, url: m[1]! });
    });
    child.once("exit", () => reject(new Error(`the gateway exited: ${err}`)));
  });
}

const BODY = JSON.stringify({
  model: "claude-mythos-5",
  user: "alice",
  messages: [{ role: "user", content: "hi" }],
});

/**
 * Concurrent requests until `stop()`; returns the decision ids of every response whose status
 * line said 2xx (the gateway sends it only after the record is durable).
 */
function load(url: string, concurrency: number, maxRequests: number) {
  const pool = new Pool(url, { connections: concurrency });
  const ok: string[] = [];
  let sent = 0;
  let stopped = false;
  const worker = async () => {
    while (!stopped && sent < maxRequests) {
      sent++;
      try {
        const res = await pool.request({
          path: "/v1/chat/completions",
          method: "POST",
          headers: { authorization: `Bearer ${KEYS.orgA}`, "content-type": "application/json" },
          body: BODY,
        });
        if (res.statusCode >= 200 && res.statusCode < 300)
          ok.push(String(res.headers["x-clearance-decision-id"]));
        await res.body.dump().catch(() => undefined);
      } catch {
        // Killed under us: the connection broke; nothing was promised for this one.
      }
    }
  };
  const done = Promise.all(Array.from({ length: concurrency }, worker));
  return {
    ok,
    /** Resolves when `maxRequests` have been sent and answered (or failed). */
    finished: done,
    async stop() {
      stopped = true;
      await done;
      await pool.destroy();
    },
  };
}

const targets: [string, () => Promise<TestDatabase>][] = [["SQLite file", sqliteDatabase]];
if (PG_URL) targets.push(["PostgreSQL", () => postgresDatabase(PG_URL)]);

describe("kill -9 under load", () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  });

  for (const [name, open] of targets) {
    it(`${name}: every request that got a 2xx has its audit record after a restart, and the log verifies`, async () => {
      const db = await open();
      cleanup.push(() => db.drop());
      const store = await openStore(db.url);
      cleanup.push(() => store.close());
      await seedDemoDirectory(store);
      const upstream: MockUpstream = await startMockUpstream({
        name: "crash-upstream",
        kind: "openai",
        delayMs: 2,
      });
      cleanup.push(() => upstream.close());
      const dir = mkdtempSync(join(tmpdir(), "clearance-crash-"));
      cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
      const config = join(dir, "gw.yaml");
      writeFileSync(
        config,
        `listen: { port: 0 }
store: "${db.url}"
policy: ${ROOT}/examples/policies/us-2026-frontier.yaml
audit: { store: true, node: crash-node }
reload: { enabled: false }
deployments:
  claude-mythos-5:
    - { provider: openai, base_url: "${upstream.baseUrl}", region: us }
`,
      );

      const first = await serve(config);
      cleanup.push(async () => void first.child.kill("SIGKILL"));
      const traffic = load(first.url, 32, 5_000);
      const t0 = Date.now();
      while (traffic.ok.length < 300 && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 5));
      first.child.kill("SIGKILL");
      await traffic.stop();
      expect(traffic.ok.length).toBeGreaterThanOrEqual(300);

      // After a restart the node's chain continues where the durable head is.
      const second = await serve(config);
      cleanup.push(async () => void second.child.kill("SIGKILL"));
      const after = load(second.url, 4, 20);
      await after.finished;
      await after.stop();
      expect(after.ok.length).toBe(20);
      second.child.kill("SIGTERM");
      await new Promise((r) => second.child.once("exit", r));

      const ids = [...traffic.ok, ...after.ok];
      const stored = await store.findAuditRecords(ids);
      expect(ids.filter((id) => !stored.has(id))).toEqual([]);
      const report = await verifyAudit(store);
      expect(report.ok).toBe(true);
      expect(report.records).toBeGreaterThanOrEqual(ids.length);
      const cli = clearance(["audit", "verify", "--db", db.url]);
      expect(cli.stdout).toMatch(/^ok: \d+ records verified$/m);
      expect(cli.code).toBe(0);
    }, 60_000);
  }
});
