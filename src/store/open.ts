import { resolve } from "node:path";
import { StoreError } from "./errors.ts";
import { openPostgresStore, type PostgresOptions } from "./postgres.ts";
import { openSqliteStore, type SqliteOptions } from "./sqlite.ts";
import type { Store } from "./types.ts";

export const DEFAULT_STORE_URL = "sqlite:./data/clearance.db";

export type OpenOptions = SqliteOptions & PostgresOptions;

/**
 * Opens the store a URL names and brings its schema up to date:
 * `sqlite:PATH` (relative to the working directory), `sqlite::memory:`, or `postgres://...`
 * (`postgresql://` too; `?schema=NAME` keeps the tables in their own schema).
 */
export async function openStore(url: string = DEFAULT_STORE_URL, options: OpenOptions = {}): Promise<Store> {
  if (url.startsWith("sqlite:")) {
    const path = url.slice("sqlite:".length).replace(/^\/\/(?=\/)/, "");
    if (path === "")
      throw new StoreError("STORE_BAD_URL", `\`${url}\` names no file; use e.g. ${DEFAULT_STORE_URL}`);
    return openSqliteStore(path === ":memory:" ? path : resolve(path), options);
  }
  if (url.startsWith("postgres://") || url.startsWith("postgresql://")) {
    try {
      new URL(url);
    } catch {
      throw new StoreError("STORE_BAD_URL", `\`${url}\` is not a valid postgres URL`);
    }
    return openPostgresStore(url, options);
  }
  throw new StoreError(
    "STORE_BAD_URL",
    `unknown store URL \`${url}\`; expected sqlite:PATH (e.g. ${DEFAULT_STORE_URL}) or postgres://USER@HOST:PORT/DB`,
  );
}
