/**
 * Audit write throughput with group commit: `npm run bench:audit`.
 * Many concurrent "requests" each open an entry and await its durable commit, as the gateway does;
 * the writer batches whatever is queued into one transaction per tick. Prints records/s per store.
 * SQLite: a temporary file (WAL, synchronous=FULL). PostgreSQL: CLEARANCE_TEST_PG_URL (or
 * CLEARANCE_BENCH_PG_URL), in a schema of its own that is dropped afterwards; skipped when unset.
 * Env: AUDIT_BENCH_RECORDS (default 100000), AUDIT_BENCH_CONCURRENCY (default 200).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { type AuditDecisionV1, AuditWriter, openStore, type Store, verifyAudit } from "../src/store/index.ts";

const RECORDS = Number(process.env.AUDIT_BENCH_RECORDS ?? 100_000);
const CONCURRENCY = Number(process.env.AUDIT_BENCH_CONCURRENCY ?? 200);
const PG_URL = process.env.CLEARANCE_BENCH_PG_URL ?? process.env.CLEARANCE_TEST_PG_URL;

function decision(i: number): AuditDecisionV1 {
  return {
    v: 1,
    time: new Date(Date.UTC(2026, 6, 1) + i).toISOString(),
    decision_id: `bench-${i}`,
    key_id: `key_${i % 50}`,
    org: `org-${i % 100}`,
    user: `user-${i % 1000}`,
    request_country: "DE",
    source_ip: "198.51.100.7",
    requested_model: i % 3 ? "claude-mythos-5" : "glm-5.2",
    decision: i % 7 ? "allow" : "deny",
    reasons: [
      {
        directive: "us-2026-06-26",
        rule: "trusted-partners",
        effect: "exempt",
        authority: "US BIS",
        title: "Partial lift for trusted partners",
        source: "letter 2026-06-26",
      },
    ],
    unknown: [],
    policy: "a".repeat(64),
  };
}

async function bench(label: string, store: Store): Promise<void> {
  const writer = await AuditWriter.start(store, { node: "bench", maxQueue: CONCURRENCY * 2 });
  const latencies: number[] = [];
  let next = 0;
  const client = async () => {
    while (next < RECORDS) {
      const i = next++;
      const t0 = performance.now();
      await writer.open(decision(i)).commit({
        served_model: "claude-mythos-5",
        deployment: "eu-1",
        upstream_status: 200,
        status: 200,
        added_latency_ms: 0.8,
      });
      latencies.push(performance.now() - t0);
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, client));
  const seconds = (performance.now() - start) / 1000;
  await writer.close();
  const s = writer.stats;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]!.toFixed(1);
  const v0 = performance.now();
  const report = await verifyAudit(store);
  const verifySeconds = (performance.now() - v0) / 1000;
  console.log(
    `${label.padEnd(10)} ${Math.round(RECORDS / seconds)
      .toLocaleString("en-US")
      .padStart(8)} records/s  (${RECORDS} records in ${seconds.toFixed(2)} s; ${s.batches} transactions, ` +
      `mean batch ${Math.round(s.committed / s.batches)}, largest ${s.largestBatch}; commit latency p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms; ` +
      `verify ${report.ok ? "ok" : "FAILED"} at ${Math.round(report.records / verifySeconds).toLocaleString("en-US")} records/s)`,
  );
}

console.log(`audit write throughput, group commit: ${RECORDS} records, ${CONCURRENCY} concurrent requests`);
console.log(`node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? "?"})`);

const dir = mkdtempSync(join(tmpdir(), "clearance-bench-"));
try {
  const store = await openStore(`sqlite:${join(dir, "audit.db")}`);
  await bench("sqlite", store);
  await store.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

if (!PG_URL) {
  console.log("postgres   skipped: set CLEARANCE_TEST_PG_URL (e.g. postgres://postgres@127.0.0.1:5432/test)");
} else {
  const schema = `clr_bench_${process.pid}`;
  const store = await openStore(`${PG_URL}${PG_URL.includes("?") ? "&" : "?"}schema=${schema}`);
  try {
    await bench("postgres", store);
  } finally {
    await store.close();
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  }
}
