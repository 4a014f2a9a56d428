/**
 * `npm run bench:gateway`: what Clearance adds over a bare Node proxy, in front of the same mock
 * upstream. Three targets, each in its own process: (a) the mock upstream directly, (b) a bare
 * pass-through proxy (bench/bare-proxy.ts), (c) Clearance on the example policy, demo directory and
 * a durable JSONL audit log. Non-streaming and streaming chat completions.
 *
 * Latency at a fixed low rate (one request at a time) and at 1,000 req/s (open loop: each request
 * timed from its scheduled start) is measured with an undici client and high-resolution timers,
 * because autocannon records whole milliseconds; saturation throughput is measured with autocannon.
 * A script that prints figures, not a test: it never fails on timing. Like bench:policy it runs the
 * tsc build (dist/), because tsx's keepNames wrapping slows closure-heavy code.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import pg from "pg";
import { Pool } from "undici";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const children: ChildProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];

/** Runs a sibling script: compiled (`dist/bench/*.js`, as `npm run bench:gateway` does) or under tsx. */
function start([script, ...args]: string[], env: Record<string, string> = {}): Promise<string> {
  const compiled = import.meta.url.endsWith(".js");
  const file = fileURLToPath(new URL(compiled ? script!.replace(/\.ts$/, ".js") : script!, import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(compiled ? [] : ["--import", "tsx"]), file, ...args], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, ...env },
    });
    children.push(child);
    child.stdout!.once("data", (d: Buffer) => resolve(`http://127.0.0.1:${d.toString().trim()}`));
    child.once("exit", (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

const PATH = "/v1/chat/completions";
const HEADERS = { authorization: "Bearer clr_demo_acme_us", "content-type": "application/json" };
const body = (stream: boolean) =>
  JSON.stringify({
    model: "claude-mythos-5",
    user: "dana",
    stream,
    messages: [{ role: "user", content: "Say hello in one sentence." }],
  });

async function once(pool: Pool, payload: string): Promise<void> {
  const res = await pool.request({ path: PATH, method: "POST", headers: HEADERS, body: payload });
  await res.body.text();
  if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

/** One request at a time. */
async function sequential(url: string, payload: string): Promise<number[]> {
  const pool = new Pool(url, { connections: 1 });
  const end = performance.now() + 1000;
  while (performance.now() < end) await once(pool, payload);
  const out: number[] = [];
  const stop = performance.now() + SECONDS * 1000;
  while (performance.now() < stop) {
    const t = performance.now();
    await once(pool, payload);
    out.push(performance.now() - t);
  }
  await pool.close();
  return out.sort((a, b) => a - b);
}

/** Open loop at `rate` req/s: request i is due at t0 + i/rate and timed from then (queueing counts). */
async function fixedRate(url: string, payload: string, rate: number): Promise<number[]> {
  const pool = new Pool(url, { connections: 64 });
  const run = async (seconds: number, record: boolean) => {
    const out: number[] = [];
    const n = Math.floor(rate * seconds);
    const t0 = performance.now();
    const pending: Promise<void>[] = [];
    let i = 0;
    while (i < n) {
      const now = performance.now();
      while (i < n && t0 + (i * 1000) / rate <= now) {
        const due = t0 + (i * 1000) / rate;
        pending.push(once(pool, payload).then(() => void (record && out.push(performance.now() - due))));
        i++;
      }
      const wait = t0 + (i * 1000) / rate - performance.now();
      // Timers are coarse (1 ms); yield to I/O with setImmediate when the next request is near.
      await new Promise((r) => (wait > 2 ? setTimeout(r, 1) : setImmediate(r)));
    }
    await Promise.all(pending);
    return out;
  };
  await run(1, false);
  const out = await run(SECONDS, true);
  await pool.close();
  return out.sort((a, b) => a - b);
}

async function saturation(url: string, payload: string): Promise<number> {
  const opts = {
    url: url + PATH,
    method: "POST" as const,
    headers: HEADERS,
    body: payload,
    connections: CONNECTIONS,
  };
  await autocannon({ ...opts, duration: 2 });
  const r = await autocannon({ ...opts, duration: SECONDS });
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`${url}: ${r.non2xx} non-2xx, ${r.errors} errors`);
  return r.requests.average;
}

const f = (ms: number) => ms.toFixed(3);

async function main() {
  const upstream = await start(["./targets.ts", "mock"]);
  const proxy = await start(["./bare-proxy.ts", upstream]);
  const gateway = await start(["./targets.ts", "gateway", upstream]);
  // Diagnostic: Clearance with an audit sink that keeps nothing, to show what durability costs.
  const noAudit = await start(["./targets.ts", "gateway", upstream], { BENCH_AUDIT: "memory" });
  const all: Record<string, string> = {
    upstream,
    "bare proxy": proxy,
    clearance: gateway,
    "clearance, audit off": noAudit,
  };
  // Clearance on a store (directory read from it, audit records hash-chained into it), audit on and off.
  const sqliteDir = mkdtempSync(join(process.env.BENCH_AUDIT_DIR ?? tmpdir(), "clearance-bench-db-"));
  const stores: [string, string][] = [["sqlite store", `sqlite:${join(sqliteDir, "bench.db")}`]];
  const pgBase = process.env.BENCH_PG_URL ?? process.env.CLEARANCE_TEST_PG_URL;
  const pgSchema = `clearance_bench_${process.pid}`;
  if (pgBase)
    stores.push(["postgres store", `${pgBase}${pgBase.includes("?") ? "&" : "?"}schema=${pgSchema}`]);
  cleanups.push(async () => {
    rmSync(sqliteDir, { recursive: true, force: true });
    if (!pgBase) return;
    const client = new pg.Client({ connectionString: pgBase });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${pgSchema} CASCADE`);
    await client.end();
  });
  for (const [name, url] of stores) {
    all[name] = await start(["./targets.ts", "gateway", upstream], { BENCH_STORE: url });
    all[`${name} audit off`] = await start(["./targets.ts", "gateway", upstream], {
      BENCH_STORE: url,
      BENCH_AUDIT: "memory",
    });
  }
  // BENCH_TARGETS=clearance,… measures only those (and the upstream alone, the baseline).
  const only = process.env.BENCH_TARGETS?.split(",");
  const targets = Object.fromEntries(
    Object.entries(all).filter(([name]) => name === "upstream" || !only || only.includes(name)),
  );
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  console.log(
    `machine: ${machine}; ${SECONDS} s per measurement, ${CONNECTIONS} connections at saturation\n`,
  );
  const lines: string[] = [];
  // BENCH_STREAM=0 measures only non-streaming requests, =1 only streaming.
  const modes = process.env.BENCH_STREAM === undefined ? [false, true] : [process.env.BENCH_STREAM === "1"];
  for (const stream of modes) {
    const payload = body(stream);
    const mode = stream ? "streaming" : "non-streaming";
    const seq: Record<string, number[]> = {};
    const rate: Record<string, number[]> = {};
    const sat: Record<string, number> = {};
    for (const [name, url] of Object.entries(targets) as [string, string][]) {
      seq[name] = await sequential(url, payload);
      rate[name] = await fixedRate(url, payload, 1000);
      sat[name] = await saturation(url, payload);
      console.log(
        `${mode.padEnd(14)} ${name.padEnd(20)} sequential p50 ${f(pct(seq[name]!, 0.5))} ms p99 ${f(pct(seq[name]!, 0.99))} ms | ` +
          `1000 req/s p50 ${f(pct(rate[name]!, 0.5))} ms p99 ${f(pct(rate[name]!, 0.99))} ms | saturation ${Math.round(sat[name]!)} req/s`,
      );
    }
    const added = (name: string, xs: Record<string, number[]>, p: number) =>
      pct(xs[name]!, p) - pct(xs.upstream!, p);
    for (const name of Object.keys(targets).filter((n) => n !== "upstream")) {
      lines.push(
        `| ${mode} | ${name} | ${f(added(name, seq, 0.5))} | ${f(added(name, seq, 0.99))} | ${f(added(name, rate, 0.5))} | ${f(added(name, rate, 0.99))} | ${Math.round(sat[name]!)} | ${sat["bare proxy"] ? `${Math.round((100 * sat[name]!) / sat["bare proxy"])}%` : "—"} |`,
      );
    }
    lines.push(`| ${mode} | (upstream alone) | — | — | — | — | ${Math.round(sat.upstream!)} | |`);
  }
  console.log(
    `\nAdded latency over the upstream alone (ms), throughput at saturation (req/s, ${CONNECTIONS} connections):\n`,
  );
  console.log("| mode | target | seq p50 | seq p99 | 1000/s p50 | 1000/s p99 | saturation | vs bare proxy |");
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const l of lines) console.log(l);
}

try {
  await main();
} finally {
  for (const c of children) c.kill();
  await new Promise((r) => setTimeout(r, 200));
  for (const cleanup of cleanups) await cleanup().catch((err: Error) => console.error(err.message));
}
