import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";

/** A fresh, empty database for one test, with raw SQL access for tampering and cleanup. */
export interface TestDatabase {
  url: string;
  /** Runs raw SQL outside the store (to tamper with records or fake a newer schema). */
  exec(sql: string): Promise<void>;
  drop(): Promise<void>;
}

export const PG_URL = process.env.CLEARANCE_TEST_PG_URL;
export const REDIS_URL = process.env.CLEARANCE_TEST_REDIS_URL;
export const PG_SKIP = PG_URL ? undefined : "CLEARANCE_TEST_PG_URL is not set (bash .ci/run sets it)";
export const REDIS_SKIP = REDIS_URL
  ? undefined
  : "CLEARANCE_TEST_REDIS_URL is not set (bash .ci/run sets it)";

let counter = 0;
const runId = `${process.pid}_${Date.now().toString(36)}`;

export async function sqliteDatabase(): Promise<TestDatabase> {
  const dir = mkdtempSync(join(tmpdir(), "clearance-store-"));
  const file = join(dir, "clearance.db");
  return {
    url: `sqlite:${file}`,
    async exec(sql) {
      const db = new Database(file);
      try {
        db.exec(sql);
      } finally {
        db.close();
      }
    },
    async drop() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A schema of its own per test (`?schema=`), so parallel runs never collide; dropped afterwards. */
export async function postgresDatabase(base = PG_URL!): Promise<TestDatabase> {
  const schema = `clr_t_${runId}_${++counter}`.toLowerCase();
  const raw = async (sql: string) => {
    const client = new pg.Client({ connectionString: base, options: `-c search_path=${schema}` });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  const sep = base.includes("?") ? "&" : "?";
  return {
    url: `${base}${sep}schema=${schema}`,
    exec: raw,
    drop: () => raw(`DROP SCHEMA IF EXISTS ${schema} CASCADE`),
  };
}
