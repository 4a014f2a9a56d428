import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openStore, verifyAudit } from "../../src/store/index.ts";
import { PG_SKIP, postgresDatabase, sqliteDatabase, type TestDatabase } from "../helpers/databases.ts";

const CHILD = join(import.meta.dirname, "fixtures/audit-writer-child.ts");

/** Runs the writer process, kills it with SIGKILL after `ms`, returns the ids it saw committed. */
async function runAndKill(url: string, node: string, run: string, ms: number): Promise<string[]> {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, url, node, run], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => {
    out += d;
  });
  child.stderr.on("data", (d) => {
    err += d;
  });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  const start = Date.now();
  while (!err.includes("ready") && Date.now() - start < 20_000) await new Promise((r) => setTimeout(r, 20));
  expect(err).toContain("ready");
  await new Promise((r) => setTimeout(r, ms));
  child.kill("SIGKILL");
  await exited;
  const lines = out.split("\n");
  lines.pop(); // a line cut by the kill is not a confirmed commit
  return lines;
}

const cases: [string, string | undefined, () => Promise<TestDatabase>][] = [
  ["sqlite", undefined, sqliteDatabase],
  ["postgres", PG_SKIP, () => postgresDatabase()],
];

describe("crash: kill -9 the writer under load; every acknowledged record is stored and the chain verifies", () => {
  let db: TestDatabase | undefined;
  afterEach(async () => {
    await db?.drop();
    db = undefined;
  });

  for (const [name, skip, open] of cases) {
    it.skipIf(skip !== undefined)(`${name}${skip ? ` (skipped: ${skip})` : ""}`, async () => {
      db = await open();
      const first = await runAndKill(db.url, "gw-1", "a", 700);
      // Restart on the same chain, write more, kill again.
      const second = await runAndKill(db.url, "gw-1", "b", 500);
      expect(first.length).toBeGreaterThan(100);
      expect(second.length).toBeGreaterThan(100);
      const store = await openStore(db.url);
      try {
        const stored = await store.findAuditRecords([...first, ...second]);
        const missing = [...first, ...second].filter((id) => !stored.has(id));
        expect(missing).toEqual([]);
        const report = await verifyAudit(store);
        expect(report.ok).toBe(true);
        expect(report.records).toBeGreaterThanOrEqual(first.length + second.length);
      } finally {
        await store.close();
      }
    });
  }
});
