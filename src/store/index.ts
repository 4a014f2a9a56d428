/** The store: ports, the SQLite and PostgreSQL adapters behind `openStore(url)`, and the audit log. */
export { chainRecords, GENESIS, recordHash, type VerifyReport, verifyAudit } from "./audit-chain.ts";
export * from "./audit-port.ts";
export { AuditWriter, type AuditWriterOptions, type AuditWriterStats } from "./audit-writer.ts";
export * from "./errors.ts";
export { LATEST_SCHEMA } from "./migrations.ts";
export { DEFAULT_STORE_URL, type OpenOptions, openStore } from "./open.ts";
export * from "./types.ts";
