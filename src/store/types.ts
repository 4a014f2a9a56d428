import type { ApiKey, Directory, Org, User } from "../directory/types.ts";

/**
 * The store port. Two adapters (sqlite.ts, postgres.ts) share one implementation of the
 * operations (sql-store.ts) over a small SQL executor; `openStore(url)` picks one.
 * Writes that belong together go through `transaction()`, which commits or rolls back as a whole.
 */
export type { ApiKey, Org, User };

export interface CohortMember {
  cohort: string;
  orgId: string;
  /** `YYYY-MM-DD` or an RFC 3339 instant, normalised to an ISO 8601 instant (UTC). */
  since: string;
}

export interface NewApiKey {
  id: string;
  orgId: string;
  prefix: string;
  hash: string;
  name?: string;
  createdAt: string;
}

export interface PolicyVersionInput {
  document: string;
  /** The policy hash from the policy core (`loadPolicy(...).policy.hash`). */
  sha256: string;
  publishedBy: string;
  publishedAt: string;
}

export interface PolicyVersion extends PolicyVersionInput {
  version: number;
}

/** One row of the audit log as stored: the record (canonical JSON) and its place in its chain. */
export interface StoredAuditRow {
  /** Row id, assigned by the database (absent before insertion). */
  id?: number;
  /** The gateway node whose chain holds the record. */
  node: string;
  /** 1, 2, 3 ... within the node's chain. */
  seq: number;
  /** Hash of the previous record in the chain; 64 zeros for the first. */
  prev: string;
  /** sha256 of the canonical envelope {chain, seq, prev, record}; see audit-chain.ts. */
  hash: string;
  /** The record, as canonical JSON (AuditRecordV1). */
  record: string;
  // Columns copied from the record for querying; verify checks they match it.
  time: string;
  decisionId: string;
  org: string | null;
  user: string | null;
  model: string | null;
  decision: string;
  status: number;
}

export interface ChainHead {
  node: string;
  seq: number;
  hash: string;
}

export interface AuditFilter {
  /** Inclusive ISO instant. */
  from?: string;
  /** Exclusive ISO instant. */
  to?: string;
  org?: string;
  user?: string;
  model?: string;
  decision?: "allow" | "deny";
}

/** Operations available inside and outside a transaction. */
export interface StoreOps extends Directory {
  upsertOrg(org: Org): Promise<void>;
  upsertUser(user: User): Promise<void>;
  /** Adds a membership, or moves its `since` when it exists. */
  addCohortMember(member: CohortMember): Promise<void>;
  removeCohortMember(cohort: string, orgId: string): Promise<boolean>;
  listOrgs(): Promise<Org[]>;
  listUsers(orgId: string): Promise<User[]>;
  listCohortMembers(cohort?: string): Promise<CohortMember[]>;

  createApiKey(key: NewApiKey): Promise<ApiKey>;
  listApiKeys(orgId: string): Promise<ApiKey[]>;
  /** Marks the key revoked at `at`; STORE_NOT_FOUND when the org has no such key. */
  revokeApiKey(orgId: string, id: string, at: string): Promise<ApiKey>;

  /** Stores a new version, numbered one more than the latest, and announces it (NOTIFY on PostgreSQL). */
  publishPolicy(input: PolicyVersionInput): Promise<PolicyVersion>;
  latestPolicy(): Promise<PolicyVersion | undefined>;
  getPolicyVersion(version: number): Promise<PolicyVersion | undefined>;
  listPolicyVersions(): Promise<Omit<PolicyVersion, "document">[]>;

  /**
   * Appends records to one chain and moves its head, atomically. `expected` is the head the
   * records were chained on (null for an empty chain); STORE_CONFLICT if the head has moved.
   */
  appendAudit(node: string, expected: ChainHead | null, rows: readonly StoredAuditRow[]): Promise<void>;
  chainHeads(): Promise<ChainHead[]>;
  chainHead(node: string): Promise<ChainHead | null>;
  /** Records of one chain with seq > afterSeq, by seq, at most `limit`. */
  chainPage(node: string, afterSeq: number, limit: number): Promise<StoredAuditRow[]>;
  /** Nodes that have records (to find records of a chain whose head row was removed). */
  chainNodes(): Promise<string[]>;
  /** The stored records (canonical JSON) of those of these decision ids that are stored. */
  findAuditRecords(decisionIds: readonly string[]): Promise<Map<string, string>>;
  /** Records matching the filter, by time then id, after the cursor; pages of `limit`. */
  queryAudit(filter: AuditFilter, limit: number, after?: AuditCursor): Promise<AuditPage>;
}

export interface AuditCursor {
  time: string;
  id: number;
}

export interface AuditPage {
  rows: StoredAuditRow[];
  next?: AuditCursor;
}

export interface Store extends StoreOps {
  readonly kind: "sqlite" | "postgres";
  /** The URL without a password. */
  readonly url: string;
  /** The schema version this database is at after the start-up migrations. */
  readonly schemaVersion: number;
  /** Runs fn in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: StoreOps) => Promise<T>): Promise<T>;
  /** Cheap round trip; throws STORE_UNAVAILABLE when the database does not answer. */
  ping(): Promise<void>;
  /**
   * Calls cb with the version number each time a policy version is published by any process.
   * PostgreSQL only (LISTEN/NOTIFY); undefined on SQLite, where watchers poll.
   */
  subscribePolicyPublished?: (
    cb: (version: number) => void,
    onError?: (err: Error) => void,
  ) => Promise<() => Promise<void>>;
  close(): Promise<void>;
}
