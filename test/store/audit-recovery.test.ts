import Database from "better-sqlite3";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import {
  AuditUnavailableError,
  AuditWriter,
  openStore,
  type Store,
  verifyAudit,
} from "../../src/store/index.ts";
import {
  PG_SKIP,
  PG_URL,
  postgresDatabase,
  sqliteDatabase,
  type TestDatabase,
} from "../helpers/databases.ts";
import { startProxy, type TcpProxy } from "../helpers/proxy.ts";
import { decision, outcome } from "./conformance.ts";

/** Polls until cond() holds (or fails the test after `ms`). */
async function until(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

const fast = { retryMs: 10, maxRetryMs: 50 };

describe("audit log: store down → not ready, open() throws; store back → recovers by itself", () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it("sqlite: another process holding the database's write lock", async () => {
    const db = await sqliteDatabase();
    cleanups.push(() => db.drop());
    const store = await openStore(db.url, { busyTimeoutMs: 20 });
    cleanups.push(() => store.close());
    const states: boolean[] = [];
    const writer = await AuditWriter.start(store, {
      node: "n",
      commitTimeoutMs: 5_000,
      ...fast,
      onStateChange: (r) => states.push(r),
    });
    await writer.open(decision(1)).commit(outcome);

    const blocker = new Database(db.url.slice("sqlite:".length));
    blocker.exec("BEGIN IMMEDIATE");
    const pending = writer.open(decision(2)).commit(outcome);
    await until(() => !writer.ready);
    expect(() => writer.open(decision(3))).toThrow(AuditUnavailableError);

    blocker.exec("ROLLBACK");
    blocker.close();
    await pending;
    await until(() => writer.ready);
    await writer.open(decision(3)).commit(outcome);
    await writer.close();
    expect(states).toEqual([false, true]);
    expect(await verifyAudit(store)).toMatchObject({ ok: true, records: 3 });
  });

  it("sqlite: a record that cannot be committed in time is rejected, never silently kept", async () => {
    const db = await sqliteDatabase();
    cleanups.push(() => db.drop());
    const store = await openStore(db.url, { busyTimeoutMs: 20 });
    cleanups.push(() => store.close());
    const writer = await AuditWriter.start(store, { node: "n", commitTimeoutMs: 150, ...fast });
    const blocker = new Database(db.url.slice("sqlite:".length));
    blocker.exec("BEGIN IMMEDIATE");
    await expect(writer.open(decision(1)).commit(outcome)).rejects.toBeInstanceOf(AuditUnavailableError);
    expect(writer.stats.rejected).toBe(1);
    blocker.exec("ROLLBACK");
    blocker.close();
    await until(() => writer.ready);
    await writer.open(decision(2)).commit(outcome);
    await writer.close();
    const rows = (await store.queryAudit({}, 10)).rows;
    expect(rows.map((r) => r.decisionId)).toEqual(["d-2"]);
    expect((await verifyAudit(store)).ok).toBe(true);
  });

  describe.skipIf(PG_SKIP !== undefined)(`postgres${PG_SKIP ? ` (skipped: ${PG_SKIP})` : ""}`, () => {
    let db: TestDatabase;
    let proxy: TcpProxy;
    let store: Store;

    it("the connection to the server is cut, then restored", async () => {
      proxy = await startProxy(Number(new URL(PG_URL!).port || 5432), new URL(PG_URL!).hostname);
      cleanups.push(() => proxy.close());
      const viaProxy = new URL(PG_URL!);
      viaProxy.port = String(proxy.port);
      db = await postgresDatabase(viaProxy.toString());
      cleanups.push(() => db.drop());
      store = await openStore(db.url, { connectTimeoutMs: 500, queryTimeoutMs: 2_000 });
      cleanups.push(() => store.close());
      const writer = await AuditWriter.start(store, { node: "n", commitTimeoutMs: 10_000, ...fast });
      await Promise.all([1, 2, 3].map((i) => writer.open(decision(i)).commit(outcome)));

      proxy.cut();
      const pending = writer.open(decision(4)).commit(outcome);
      await until(() => !writer.ready);
      expect(() => writer.open(decision(5))).toThrow(/audit store is unavailable/);

      proxy.restore();
      await pending;
      await until(() => writer.ready);
      await writer.open(decision(5)).commit(outcome);
      await writer.close();
      expect(await verifyAudit(store)).toMatchObject({ ok: true, records: 5 });
    });

    it("a partition that hangs a write makes the writer not ready within the commit timeout", async () => {
      proxy = await startProxy(Number(new URL(PG_URL!).port || 5432), new URL(PG_URL!).hostname);
      cleanups.push(() => proxy.close());
      const viaProxy = new URL(PG_URL!);
      viaProxy.port = String(proxy.port);
      db = await postgresDatabase(viaProxy.toString());
      cleanups.push(() => db.drop());
      store = await openStore(db.url, { queryTimeoutMs: 30_000 });
      cleanups.push(() => store.close());
      const writer = await AuditWriter.start(store, { node: "n", commitTimeoutMs: 300, ...fast });
      await writer.open(decision(1)).commit(outcome);

      proxy.freeze();
      const started = Date.now();
      const pending = writer.open(decision(2)).commit(outcome);
      await until(() => !writer.ready);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(() => writer.open(decision(3))).toThrow(/has not answered for 300 ms/);

      proxy.thaw();
      await pending;
      await until(() => writer.ready);
      await writer.close();
      expect(await verifyAudit(store)).toMatchObject({ ok: true, records: 2 });
    });

    it("the server terminates the writer's backends mid-stream", async () => {
      db = await postgresDatabase();
      cleanups.push(() => db.drop());
      const app = `clr_term_${process.pid}`;
      store = await openStore(`${db.url}&application_name=${app}`);
      cleanups.push(() => store.close());
      const writer = await AuditWriter.start(store, { node: "n", ...fast });
      const admin = new pg.Client({ connectionString: PG_URL });
      await admin.connect();
      cleanups.push(() => admin.end());
      const commits: Promise<void>[] = [];
      let refused = 0;
      for (let round = 0; round < 5; round++) {
        for (let i = 0; i < 50; i++) {
          try {
            commits.push(writer.open(decision(round * 100 + i)).commit(outcome));
          } catch (err) {
            expect(err).toBeInstanceOf(AuditUnavailableError); // the gateway answers 503
            refused++;
          }
        }
        await admin.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
          [app],
        );
        await new Promise((r) => setTimeout(r, 20));
      }
      await Promise.all(commits);
      await until(() => writer.ready);
      await writer.open(decision(999)).commit(outcome);
      await writer.close();
      const report = await verifyAudit(store);
      expect(report.ok).toBe(true);
      // Every accepted record was committed once (none lost, none doubled), the refused ones never entered.
      expect(writer.stats.rejected).toBe(0);
      expect(refused + writer.stats.failedWrites).toBeGreaterThan(0);
      expect(report.records).toBe(250 - refused + 1);
    });
  });
});
