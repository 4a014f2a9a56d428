import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { StoreError } from "./errors.ts";
import {
  AUDIT_COLUMNS,
  auditRowValues,
  type Dialect,
  driverError,
  type Executor,
  Mutex,
  type Row,
} from "./sql.ts";
import { migrate, SqlOps } from "./sql-store.ts";
import type { Store, StoredAuditRow, StoreOps } from "./types.ts";

export interface SqliteOptions {
  /** Milliseconds to wait for a lock held by another connection before failing (default 2000). */
  busyTimeoutMs?: number;
  now?: () => number;
}

/**
 * The embedded adapter: one better-sqlite3 connection, WAL journal, synchronous=FULL so a
 * committed audit batch survives a power cut. better-sqlite3 is synchronous; a mutex keeps an
 * async transaction's statements together.
 */
export async function openSqliteStore(path: string, options: SqliteOptions = {}): Promise<Store> {
  let db: Database.Database;
  try {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    db = new Database(path);
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 2000}`);
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.pragma("foreign_keys = ON");
  } catch (err) {
    throw new StoreError(
      "STORE_UNAVAILABLE",
      `cannot open sqlite database \`${path}\`: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  const store = new SqliteStore(db, path, options.now ?? Date.now);
  try {
    (store as { schemaVersion: number }).schemaVersion = await migrate({
      kind: "sqlite",
      exec: store.raw,
      script: async (_exec, sql) => {
        db.exec(sql);
      },
      transaction: (fn) => store.lock.run(() => store.inTransaction(() => fn(store.raw))),
    });
  } catch (err) {
    db.close();
    throw err;
  }
  return store;
}

class SqliteExecutor implements Executor {
  private readonly statements = new Map<string, Database.Statement>();
  constructor(private readonly db: Database.Database) {}

  prepare(sql: string): Database.Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      try {
        stmt = this.db.prepare(sql);
      } catch (err) {
        throw driverError(err, sql);
      }
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  async all<T extends Row = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    try {
      return this.prepare(sql).all(...params) as T[];
    } catch (err) {
      throw driverError(err, sql);
    }
  }

  async run(sql: string, params: readonly unknown[] = []): Promise<number> {
    try {
      return this.prepare(sql).run(...params).changes;
    } catch (err) {
      throw driverError(err, sql);
    }
  }
}

/** Top-level statements wait for any transaction in progress. */
class LockedExecutor implements Executor {
  constructor(
    private readonly inner: Executor,
    private readonly lock: Mutex,
  ) {}
  all<T extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    return this.lock.run(() => this.inner.all<T>(sql, params));
  }
  run(sql: string, params?: readonly unknown[]): Promise<number> {
    return this.lock.run(() => this.inner.run(sql, params));
  }
}

const INSERT_AUDIT = `INSERT INTO audit_log (${AUDIT_COLUMNS})
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

function sqliteDialect(raw: SqliteExecutor): Dialect {
  return {
    kind: "sqlite",
    forUpdate: "",
    async insertAudit(_exec, rows: readonly StoredAuditRow[]) {
      const stmt = raw.prepare(INSERT_AUDIT);
      try {
        for (const r of rows) {
          stmt.run(...auditRowValues(r));
        }
      } catch (err) {
        throw driverError(err, INSERT_AUDIT);
      }
    },
    async lockPolicy() {},
    async announcePolicy() {},
  };
}

class SqliteStore extends SqlOps implements Store {
  readonly kind = "sqlite" as const;
  readonly schemaVersion: number = 0;
  readonly lock: Mutex;
  readonly raw: SqliteExecutor;
  private closed = false;

  constructor(
    private readonly db: Database.Database,
    readonly url: string,
    now: () => number,
  ) {
    const raw = new SqliteExecutor(db);
    const lock = new Mutex();
    const dialect = sqliteDialect(raw);
    super(new LockedExecutor(raw, lock), dialect, now);
    this.raw = raw;
    this.lock = lock;
    this.url = `sqlite:${url}`;
  }

  protected override atomic<T>(fn: (ops: SqlOps) => Promise<T>): Promise<T> {
    return this.transaction((tx) => fn(tx as SqlOps));
  }

  /** BEGIN IMMEDIATE … COMMIT around fn; the caller holds the lock. */
  async inTransaction<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new StoreError("STORE_UNAVAILABLE", "the store is closed");
    try {
      this.db.exec("BEGIN IMMEDIATE");
    } catch (err) {
      throw driverError(err, "BEGIN");
    }
    try {
      const result = await fn();
      this.db.exec("COMMIT");
      return result;
    } catch (err) {
      if (this.db.inTransaction) this.db.exec("ROLLBACK");
      throw driverError(err, "COMMIT");
    }
  }

  transaction<T>(fn: (tx: StoreOps) => Promise<T>): Promise<T> {
    return this.lock.run(() =>
      this.inTransaction(() => {
        const tx = new SqlOps(this.raw, this.dialect, this.now);
        return fn(tx);
      }),
    );
  }

  async ping(): Promise<void> {
    await this.exec.all("SELECT 1");
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.lock.run(() => {
      this.closed = true;
      this.db.close();
    });
  }
}
