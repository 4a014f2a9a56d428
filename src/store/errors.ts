import { ClearanceError } from "../policy/index.ts";

/**
 * The store layer's error catalog. Codes are stable; messages are one line, lowercase, with
 * user input in backticks. Documented in docs/store.md.
 */
export const STORE_CODES = {
  STORE_BAD_URL: "the store URL is neither `sqlite:PATH` nor `postgres://...`",
  STORE_UNAVAILABLE: "the database could not be reached or refused the operation",
  STORE_SCHEMA_TOO_NEW: "the database was migrated by a newer Clearance than this one",
  STORE_MIGRATION_FAILED: "a schema migration failed; nothing of it was applied",
  STORE_NOT_FOUND: "an organisation, user, key or record that does not exist",
  STORE_CONFLICT: "a write that conflicts with what is stored (duplicate id, moved chain head)",
  STORE_INVALID: "a value the store will not keep (bad id, bad hash, bad date)",
  STORE_IMPORT_INVALID: "a directory import with bad rows; nothing was imported",
  AUDIT_UNAVAILABLE: "the audit log cannot accept records right now (store down or queue full)",
} as const;

export type StoreCode = keyof typeof STORE_CODES;

export class StoreError extends ClearanceError {
  declare readonly code: StoreCode;
  constructor(code: StoreCode, message: string, options?: { cause?: unknown }) {
    super(code, message);
    this.name = "StoreError";
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }
}

export function isStoreError(err: unknown, code?: StoreCode): err is StoreError {
  return err instanceof StoreError && (code === undefined || err.code === code);
}

/** Wraps a driver error (connection refused, read-only file, terminated backend) as STORE_UNAVAILABLE. */
export function unavailable(what: string, err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  const reason = err instanceof Error ? err.message.split("\n")[0] : String(err);
  return new StoreError("STORE_UNAVAILABLE", `${what}: ${reason}`, { cause: err });
}
