import { StoreError } from "./errors.ts";

/** A row as the driver returns it. */
export type Row = Record<string, unknown>;

/**
 * The little that the shared store code needs from a database connection. SQL uses `?`
 * placeholders; the PostgreSQL adapter rewrites them to `$1, $2, ...`.
 */
export interface Executor {
  all<T extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Returns the number of rows changed. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
}

/** The audit_log columns both dialects insert, in this order. */
export const AUDIT_COLUMNS =
  "node, seq, prev, hash, time, decision_id, org, user_id, model, decision, status, record";

/** An audit row's values in the order of AUDIT_COLUMNS. */
export function auditRowValues(r: import("./types.ts").StoredAuditRow): unknown[] {
  return [
    r.node,
    r.seq,
    r.prev,
    r.hash,
    r.time,
    r.decisionId,
    r.org,
    r.user,
    r.model,
    r.decision,
    r.status,
    r.record,
  ];
}

/** What differs between the dialects beyond plain SQL. */
export interface Dialect {
  readonly kind: "sqlite" | "postgres";
  /** Inserts audit rows in as few round trips as the driver allows. */
  insertAudit(exec: Executor, rows: readonly import("./types.ts").StoredAuditRow[]): Promise<void>;
  /** Serialises publishers and announces a new version (PostgreSQL: advisory lock, NOTIFY). */
  lockPolicy(exec: Executor): Promise<void>;
  announcePolicy(exec: Executor, version: number): Promise<void>;
  /** Locks a chain head row for update (PostgreSQL: FOR UPDATE). */
  readonly forUpdate: string;
}

/** A promise-chain mutex: one holder at a time, in arrival order. */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T> | T): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/** Translates constraint violations into STORE_CONFLICT and everything else into STORE_UNAVAILABLE. */
export function driverError(err: unknown, sql: string): StoreError {
  if (err instanceof StoreError) return err;
  const e = err as { code?: string; message?: string; detail?: string };
  const code = String(e.code ?? "");
  const first = (e.message ?? String(err)).split("\n")[0];
  if (code === "23505" || code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY") {
    return new StoreError("STORE_CONFLICT", `already stored: ${e.detail ?? first}`, { cause: err });
  }
  if (code === "23503" || code === "SQLITE_CONSTRAINT_FOREIGNKEY") {
    return new StoreError(
      "STORE_NOT_FOUND",
      `refers to something that does not exist: ${e.detail ?? first}`,
      {
        cause: err,
      },
    );
  }
  const verb = sql.trimStart().split(/\s+/, 1)[0]?.toLowerCase() ?? "query";
  return new StoreError("STORE_UNAVAILABLE", `database ${verb} failed: ${first}`, { cause: err });
}
