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

// ---- admin (schema version 2) ------------------------------------------------------------

export type AdminRole = "viewer" | "editor" | "approver" | "auditor" | "admin";

export interface AdminToken {
  id: string;
  name: string;
  role: AdminRole;
  /** sha256 hex of the whole token; the token itself is never stored. */
  hash: string;
  createdBy: string | null;
  createdAt: string;
  revokedAt: string | null;
}

export type DraftState = "draft" | "validated" | "impact_computed" | "approved" | "published";

/** A proposed policy document going through the two-person lifecycle. */
export interface Draft {
  id: string;
  title: string;
  document: string;
  /** The policy hash once validated. */
  sha256: string | null;
  /** Admin token id of the editor who wrote it. */
  author: string;
  state: DraftState;
  /** The published version it was compared against (null: none published yet). */
  baseVersion: number | null;
  /** Directive ids the draft adds, changes or removes relative to its base. */
  directives: string[];
  /** The instant the impact was computed at (the draft's effective instant by default). */
  effectiveAt: string | null;
  /** The impact summary (JSON), once computed. */
  impact: string | null;
  approvedBy: string | null;
  publishedVersion: number | null;
  createdAt: string;
  updatedAt: string;
  /** 1, 2, 3 …: every write moves it; a write expecting an older one is refused (STORE_CONFLICT). */
  revision: number;
}

export interface LifecycleEvent {
  id?: number;
  draftId: string | null;
  directives: string[];
  action: string;
  actor: string;
  at: string;
  policyVersion: number | null;
  detail: Record<string, unknown>;
}

export type NoticeState = "pending" | "delivered" | "failed" | "no_webhook";

/** A notice to an org that a published change takes access away. */
export interface Notice {
  id: string;
  orgId: string;
  policyVersion: number;
  draftId: string | null;
  directives: string[];
  models: string[];
  /** When the loss takes effect; the gateway sends `x-clearance-notice` until then. */
  effectiveAt: string;
  /** ISO 8601 duration from the directive's `notice`, or `immediate`. */
  grace: string;
  createdAt: string;
  /** The webhook body (JSON). */
  payload: string;
  state: NoticeState;
  attempts: number;
}

export interface WebhookDelivery {
  id?: number;
  noticeId: string;
  orgId: string;
  url: string;
  attempt: number;
  at: string;
  status: number | null;
  ok: boolean;
  error: string | null;
}

export interface OrgFilter {
  country?: string;
  sector?: string;
  cohort?: string;
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
  /** Orgs with id > after, by id, at most `limit`, filtered (cohort: a membership with since <= now). */
  pageOrgs(filter: OrgFilter, limit: number, after?: string): Promise<Org[]>;
  /** Users of an org with id > after, by id, at most `limit`. */
  pageUsers(orgId: string, limit: number, after?: string): Promise<User[]>;
  deleteUser(orgId: string, userId: string): Promise<boolean>;
  /**
   * Removes an org that has no users, API keys or cohort memberships (STORE_CONFLICT naming what
   * it still has); false when there is no such org.
   */
  deleteOrg(id: string): Promise<boolean>;

  createAdminToken(token: AdminToken): Promise<void>;
  findAdminTokenByHash(hash: string): Promise<AdminToken | undefined>;
  listAdminTokens(): Promise<AdminToken[]>;
  /** STORE_NOT_FOUND when there is no such token. */
  revokeAdminToken(id: string, at: string): Promise<AdminToken>;

  createDraft(draft: Draft): Promise<void>;
  getDraft(id: string): Promise<Draft | undefined>;
  listDrafts(): Promise<Draft[]>;
  /** Stores `draft` (its revision one more than `expectedRevision`); STORE_CONFLICT if the stored revision moved. */
  updateDraft(draft: Draft, expectedRevision: number): Promise<void>;

  addLifecycleEvent(event: LifecycleEvent): Promise<LifecycleEvent>;
  /** Oldest first; with `directive`, the events of drafts touching it. */
  listLifecycleEvents(filter?: { draftId?: string; directive?: string }): Promise<LifecycleEvent[]>;

  createNotice(notice: Notice): Promise<void>;
  getNotice(id: string): Promise<Notice | undefined>;
  listNotices(filter?: { orgId?: string; state?: NoticeState; policyVersion?: number }): Promise<Notice[]>;
  /** Notices whose effectiveAt is after `at` (the change is not in force yet). */
  activeNotices(at: string): Promise<Notice[]>;
  setNoticeState(id: string, state: NoticeState, attempts: number): Promise<void>;
  addWebhookDelivery(delivery: WebhookDelivery): Promise<void>;
  listWebhookDeliveries(noticeId?: string): Promise<WebhookDelivery[]>;

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
