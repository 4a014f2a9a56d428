/** The store: ports, the SQLite and PostgreSQL adapters behind `openStore(url)`, and the audit log. */
export { chainRecords, GENESIS, recordHash, type VerifyReport, verifyAudit } from "./audit-chain.ts";
export * from "./audit-port.ts";
export { AuditWriter, type AuditWriterOptions, type AuditWriterStats } from "./audit-writer.ts";
export * from "./errors.ts";
export {
  applyImport,
  type ImportCounts,
  ImportError,
  type ImportPlan,
  type ImportRow,
  planImport,
  type RowError,
} from "./import.ts";
export { type GeneratedKey, generateApiKey, hashApiKey } from "./keys.ts";
export { LATEST_SCHEMA } from "./migrations.ts";
export { DEFAULT_STORE_URL, type OpenOptions, openStore } from "./open.ts";
export { type DirectoryData, type SeedResult, seedDirectory } from "./seed.ts";
export * from "./types.ts";
