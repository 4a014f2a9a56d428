import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { PolicyWatcher } from "../../src/cluster/index.ts";
import { openStore, type PolicyVersion, type Store } from "../../src/store/index.ts";
import { PG_SKIP, PG_URL, postgresDatabase, sqliteDatabase } from "../helpers/databases.ts";

const publish = (store: Store, n: number) =>
  store.publishPolicy({
    document: `version: 1\n# ${n}\n`,
    sha256: String(n).repeat(64).slice(0, 64),
    publishedBy: "test",
    publishedAt: new Date().toISOString(),
  });

function nextChange(watcher: PolicyWatcher): Promise<{ version: PolicyVersion; ms: number }> {
  const start = performance.now();
  return new Promise((resolve) => {
    const stop = watcher.onChange((version) => {
      stop();
      resolve({ version, ms: performance.now() - start });
    });
  });
}

describe("policy watcher: a version published on one node reaches the others", () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it("sqlite: polling sees a version published by another connection", async () => {
    const db = await sqliteDatabase();
    cleanups.push(() => db.drop());
    const a = await openStore(db.url);
    const b = await openStore(db.url);
    cleanups.push(
      () => a.close(),
      () => b.close(),
    );
    await publish(a, 1);
    const watcher = await PolicyWatcher.start(b, { intervalMs: 30 });
    cleanups.push(() => watcher.close());
    expect(watcher.current?.version).toBe(1);
    const change = nextChange(watcher);
    await publish(a, 2);
    expect((await change).version).toMatchObject({ version: 2, document: "version: 1\n# 2\n" });
    expect(watcher.current?.version).toBe(2);
  });

  describe.skipIf(PG_SKIP !== undefined)(`postgres${PG_SKIP ? ` (skipped: ${PG_SKIP})` : ""}`, () => {
    it("LISTEN/NOTIFY delivers a publish on node A to node B well within 1 s", async () => {
      const db = await postgresDatabase();
      cleanups.push(() => db.drop());
      const a = await openStore(db.url);
      const b = await openStore(db.url);
      cleanups.push(
        () => a.close(),
        () => b.close(),
      );
      // A long interval: only the notification can deliver it in time.
      const watcher = await PolicyWatcher.start(b, { intervalMs: 60_000 });
      cleanups.push(() => watcher.close());
      expect(watcher.current).toBeUndefined();
      const change = nextChange(watcher);
      await publish(a, 1);
      const { version, ms } = await change;
      expect(version.version).toBe(1);
      expect(ms).toBeLessThan(1_000);
    });

    it("a notification missed while the LISTEN connection was down heals on the periodic re-check", async () => {
      const db = await postgresDatabase();
      cleanups.push(() => db.drop());
      const app = `clr_listen_${process.pid}`;
      const a = await openStore(db.url);
      const b = await openStore(`${db.url}&application_name=${app}`);
      cleanups.push(
        () => a.close(),
        () => b.close(),
      );
      const errors: Error[] = [];
      const watcher = await PolicyWatcher.start(b, { intervalMs: 200, onError: (e) => errors.push(e) });
      cleanups.push(() => watcher.close());
      const admin = new pg.Client({ connectionString: PG_URL });
      await admin.connect();
      cleanups.push(() => admin.end());
      await admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
        [app],
      );
      const change = nextChange(watcher);
      await publish(a, 1);
      expect((await change).version.version).toBe(1);
      expect(errors.length).toBeGreaterThan(0);
      // Re-subscribed: the next publish arrives by notification again.
      await new Promise((r) => setTimeout(r, 400));
      const again = nextChange(watcher);
      await publish(a, 2);
      expect((await again).version.version).toBe(2);
    });
  });
});
