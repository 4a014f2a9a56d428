import pg from "pg";
import { StoreError } from "./errors.ts";
import { AUDIT_COLUMNS, auditRowValues, type Dialect, driverError, type Executor, type Row } from "./sql.ts";
import { migrate, SqlOps } from "./sql-store.ts";
import type { Store, StoredAuditRow, StoreOps } from "./types.ts";

export interface PostgresOptions {
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** Milliseconds to wait for a connection before failing (default 3000). */
  connectTimeoutMs?: number;
  /** Milliseconds after which a query is abandoned as failed (default 10000). */
  queryTimeoutMs?: number;
  now?: () => number;
}

const placeholderCache = new Map<string, string>();
/** `?` → `$1, $2, ...` (the shared SQL has no `?` inside literals). */
function numbered(sql: string): string {
  let out = placeholderCache.get(sql);
  if (out === undefined) {
    let n = 0;
    out = sql.replace(/\?/g, () => `$${++n}`);
    placeholderCache.set(sql, out);
  }
  return out;
}

type Queryable = Pick<pg.Pool, "query"> | pg.PoolClient | pg.Client;

class PgExecutor implements Executor {
  constructor(private readonly q: Queryable) {}
  async all<T extends Row = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    try {
      return (await this.q.query(numbered(sql), params as unknown[])).rows as T[];
    } catch (err) {
      throw driverError(err, sql);
    }
  }
  async run(sql: string, params: readonly unknown[] = []): Promise<number> {
    try {
      return (await this.q.query(numbered(sql), params as unknown[])).rowCount ?? 0;
    } catch (err) {
      throw driverError(err, sql);
    }
  }
}

const INSERT_AUDIT = `INSERT INTO audit_log (${AUDIT_COLUMNS})
  SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
    $8::text[], $9::text[], $10::text[], $11::int[], $12::text[])`;

/** `postgres://host/db?schema=name`: `schema` is ours (search_path), the rest goes to pg. */
export function parsePostgresUrl(url: string): { connectionString: string; schema?: string } {
  const u = new URL(url);
  const schema = u.searchParams.get("schema") ?? undefined;
  u.searchParams.delete("schema");
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new StoreError("STORE_BAD_URL", `schema \`${schema}\` must be lowercase letters, digits and _`);
  }
  return { connectionString: u.toString(), ...(schema ? { schema } : {}) };
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return url;
  }
}

export async function openPostgresStore(url: string, options: PostgresOptions = {}): Promise<Store> {
  const { connectionString, schema } = parsePostgresUrl(url);
  const config: pg.PoolConfig = {
    connectionString,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 3000,
    query_timeout: options.queryTimeoutMs ?? 10_000,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  };
  const pool = new pg.Pool(config);
  // An idle client whose backend goes away emits here; the next query gets a fresh connection.
  pool.on("error", () => {});
  const channel = schema ? `clearance_policy_${schema}` : "clearance_policy";
  const store = new PostgresStore(pool, redactUrl(url), channel, config, options.now ?? Date.now);
  try {
    if (schema) await store.raw.run(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    (store as { schemaVersion: number }).schemaVersion = await migrate({
      kind: "postgres",
      exec: store.raw,
      script: async (exec, sql) => {
        await exec.run(sql);
      },
      transaction: (fn) =>
        store.withClient(async (client) => {
          const exec = new PgExecutor(client);
          // One migrator at a time across every node starting together.
          await exec.run("SELECT pg_advisory_xact_lock(7242519)");
          return fn(exec);
        }),
    });
  } catch (err) {
    await pool.end().catch(() => {});
    if (err instanceof StoreError && err.code === "STORE_UNAVAILABLE") {
      throw new StoreError("STORE_UNAVAILABLE", `cannot open \`${redactUrl(url)}\`: ${err.message}`, {
        cause: err,
      });
    }
    throw err;
  }
  return store;
}

function postgresDialect(channel: string): Dialect {
  return {
    kind: "postgres",
    forUpdate: " FOR UPDATE",
    async insertAudit(exec, rows: readonly StoredAuditRow[]) {
      const cols: unknown[][] = Array.from({ length: 12 }, () => []);
      for (const r of rows) {
        const values = auditRowValues(r);
        for (let i = 0; i < 12; i++) cols[i]!.push(values[i]);
      }
      // Written with $n already; `numbered` leaves it alone (no `?`).
      await exec.run(INSERT_AUDIT, cols);
    },
    async lockPolicy(exec) {
      await exec.run("SELECT pg_advisory_xact_lock(7242520)");
    },
    async announcePolicy(exec, version) {
      await exec.run("SELECT pg_notify(?, ?)", [channel, String(version)]);
    },
  };
}

class PostgresStore extends SqlOps implements Store {
  readonly kind = "postgres" as const;
  readonly schemaVersion: number = 0;
  readonly raw: PgExecutor;

  constructor(
    private readonly pool: pg.Pool,
    readonly url: string,
    private readonly channel: string,
    private readonly config: pg.PoolConfig,
    now: () => number,
  ) {
    const raw = new PgExecutor(pool);
    super(raw, postgresDialect(channel), now);
    this.raw = raw;
  }

  protected override atomic<T>(fn: (ops: SqlOps) => Promise<T>): Promise<T> {
    return this.transaction((tx) => fn(tx as SqlOps));
  }

  /** BEGIN … COMMIT on one pooled connection; a broken connection is discarded, not reused. */
  async withClient<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw driverError(err, "connect");
    }
    let broken: Error | undefined;
    // A backend that dies while the client is checked out emits here; the query in flight rejects.
    const onError = (err: Error) => {
      broken = err;
    };
    client.on("error", onError);
    try {
      await client.query("BEGIN");
      const result = await fn(client);
      await client.query("COMMIT");
      return result;
    } catch (err) {
      try {
        await client.query("ROLLBACK");
      } catch (rollbackError) {
        broken = rollbackError as Error;
      }
      throw driverError(err, "COMMIT");
    } finally {
      client.off("error", onError);
      client.release(broken ?? false);
    }
  }

  transaction<T>(fn: (tx: StoreOps) => Promise<T>): Promise<T> {
    return this.withClient((client) => fn(new SqlOps(new PgExecutor(client), this.dialect, this.now)));
  }

  async ping(): Promise<void> {
    await this.raw.all("SELECT 1");
  }

  subscribePolicyPublished = async (
    cb: (version: number) => void,
    onError?: (err: Error) => void,
  ): Promise<() => Promise<void>> => {
    const { max: _max, connectionTimeoutMillis, ...rest } = this.config;
    const client = new pg.Client({ ...rest, connectionTimeoutMillis });
    let closing = false;
    client.on("notification", (msg) => {
      if (msg.channel === this.channel) cb(Number(msg.payload));
    });
    client.on("error", (err) => {
      if (!closing) onError?.(err);
    });
    client.on("end", () => {
      if (!closing) onError?.(new StoreError("STORE_UNAVAILABLE", "the LISTEN connection closed"));
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${this.channel}`);
    } catch (err) {
      closing = true;
      await client.end().catch(() => {});
      throw driverError(err, "LISTEN");
    }
    return async () => {
      closing = true;
      await client.end().catch(() => {});
    };
  };

  async close(): Promise<void> {
    await this.pool.end();
  }
}
