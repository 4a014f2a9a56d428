import type { ApiKey, Org, OrgSettings, User } from "../directory/types.ts";
import { StoreError } from "./errors.ts";
import { LATEST_SCHEMA, MIGRATIONS } from "./migrations.ts";
import type { Dialect, Executor, Row } from "./sql.ts";
import type {
  AdminToken,
  AuditCursor,
  AuditFilter,
  AuditPage,
  ChainHead,
  CohortMember,
  Draft,
  LifecycleEvent,
  NewApiKey,
  Notice,
  NoticeState,
  OrgFilter,
  PolicyVersion,
  PolicyVersionInput,
  StoredAuditRow,
  StoreOps,
  WebhookDelivery,
} from "./types.ts";

const HEX64 = /^[0-9a-f]{64}$/;

/** The store operations, written once over an Executor; both adapters use them. */
export class SqlOps implements StoreOps {
  constructor(
    protected readonly exec: Executor,
    protected readonly dialect: Dialect,
    protected readonly now: () => number,
  ) {}

  /** Runs fn atomically. Inside a transaction, fn itself; stores override it to open one. */
  protected atomic<T>(fn: (ops: SqlOps) => Promise<T>): Promise<T> {
    return fn(this);
  }

  // ---- directory -------------------------------------------------------------------------

  async findKeyByHash(hash: string): Promise<ApiKey | undefined> {
    const [row] = await this.exec.all("SELECT * FROM api_keys WHERE hash = ?", [hash]);
    return row ? toKey(row) : undefined;
  }

  async getOrg(id: string): Promise<Org | undefined> {
    const [row] = await this.exec.all("SELECT * FROM orgs WHERE id = ?", [id]);
    if (!row) return undefined;
    const at = new Date(this.now()).toISOString();
    const cohorts = await this.exec.all<{ cohort: string }>(
      "SELECT cohort FROM cohort_members WHERE org_id = ? AND since <= ? ORDER BY cohort",
      [id, at],
    );
    return toOrg(
      row,
      cohorts.map((c) => c.cohort),
    );
  }

  async getUser(orgId: string, userId: string): Promise<User | undefined> {
    const [row] = await this.exec.all("SELECT * FROM users WHERE org_id = ? AND id = ?", [orgId, userId]);
    return row ? toUser(row) : undefined;
  }

  async upsertOrg(org: Org): Promise<void> {
    requireId("org id", org.id);
    await this.exec.run(
      `INSERT INTO orgs (id, name, country, sector, verified, settings) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET name = excluded.name, country = excluded.country,
         sector = excluded.sector, verified = excluded.verified, settings = excluded.settings`,
      [
        org.id,
        org.name ?? null,
        org.country ?? null,
        org.sector ?? null,
        org.verified === undefined ? null : org.verified ? 1 : 0,
        JSON.stringify(org.settings ?? {}),
      ],
    );
  }

  async upsertUser(user: User): Promise<void> {
    requireId("user id", user.id);
    await this.exec.run(
      `INSERT INTO users (org_id, id, nationality, permanent_residency, residence) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (org_id, id) DO UPDATE SET nationality = excluded.nationality,
         permanent_residency = excluded.permanent_residency, residence = excluded.residence`,
      [
        user.orgId,
        user.id,
        user.nationality ? JSON.stringify(user.nationality) : null,
        user.permanentResidency ? JSON.stringify(user.permanentResidency) : null,
        user.residence ?? null,
      ],
    );
  }

  async addCohortMember(member: CohortMember): Promise<void> {
    requireId("cohort id", member.cohort);
    const since = normalizeInstant(member.since, "since");
    await this.exec.run(
      `INSERT INTO cohort_members (cohort, org_id, since) VALUES (?, ?, ?)
       ON CONFLICT (cohort, org_id) DO UPDATE SET since = excluded.since`,
      [member.cohort, member.orgId, since],
    );
  }

  async removeCohortMember(cohort: string, orgId: string): Promise<boolean> {
    return (
      (await this.exec.run("DELETE FROM cohort_members WHERE cohort = ? AND org_id = ?", [cohort, orgId])) > 0
    );
  }

  async listOrgs(): Promise<Org[]> {
    const rows = await this.exec.all("SELECT * FROM orgs ORDER BY id");
    const at = new Date(this.now()).toISOString();
    const members = await this.exec.all<{ cohort: string; org_id: string }>(
      "SELECT cohort, org_id FROM cohort_members WHERE since <= ? ORDER BY cohort",
      [at],
    );
    const byOrg = new Map<string, string[]>();
    for (const m of members) byOrg.set(m.org_id, [...(byOrg.get(m.org_id) ?? []), m.cohort]);
    return rows.map((r) => toOrg(r, byOrg.get(String(r.id)) ?? []));
  }

  async listUsers(orgId: string): Promise<User[]> {
    return (await this.exec.all("SELECT * FROM users WHERE org_id = ? ORDER BY id", [orgId])).map(toUser);
  }

  async listCohortMembers(cohort?: string): Promise<CohortMember[]> {
    const rows =
      cohort === undefined
        ? await this.exec.all("SELECT * FROM cohort_members ORDER BY cohort, org_id")
        : await this.exec.all("SELECT * FROM cohort_members WHERE cohort = ? ORDER BY org_id", [cohort]);
    return rows.map((r) => ({ cohort: String(r.cohort), orgId: String(r.org_id), since: String(r.since) }));
  }

  async pageOrgs(filter: OrgFilter, limit: number, after?: string): Promise<Org[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const at = new Date(this.now()).toISOString();
    if (after !== undefined) {
      where.push("id > ?");
      params.push(after);
    }
    if (filter.country !== undefined) {
      where.push("country = ?");
      params.push(filter.country);
    }
    if (filter.sector !== undefined) {
      where.push("sector = ?");
      params.push(filter.sector);
    }
    if (filter.cohort !== undefined) {
      where.push("id IN (SELECT org_id FROM cohort_members WHERE cohort = ? AND since <= ?)");
      params.push(filter.cohort, at);
    }
    const rows = await this.exec.all(
      `SELECT * FROM orgs${where.length ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY id LIMIT ?`,
      [...params, limit],
    );
    if (rows.length === 0) return [];
    const ids = rows.map((r) => String(r.id));
    const members = await this.exec.all<{ cohort: string; org_id: string }>(
      `SELECT cohort, org_id FROM cohort_members WHERE since <= ? AND org_id IN (${ids.map(() => "?").join(", ")}) ORDER BY cohort`,
      [at, ...ids],
    );
    const byOrg = new Map<string, string[]>();
    for (const m of members) byOrg.set(m.org_id, [...(byOrg.get(m.org_id) ?? []), m.cohort]);
    return rows.map((r) => toOrg(r, byOrg.get(String(r.id)) ?? []));
  }

  async pageUsers(orgId: string, limit: number, after?: string): Promise<User[]> {
    const rows =
      after === undefined
        ? await this.exec.all("SELECT * FROM users WHERE org_id = ? ORDER BY id LIMIT ?", [orgId, limit])
        : await this.exec.all("SELECT * FROM users WHERE org_id = ? AND id > ? ORDER BY id LIMIT ?", [
            orgId,
            after,
            limit,
          ]);
    return rows.map(toUser);
  }

  async deleteUser(orgId: string, userId: string): Promise<boolean> {
    return (await this.exec.run("DELETE FROM users WHERE org_id = ? AND id = ?", [orgId, userId])) > 0;
  }

  async deleteOrg(id: string): Promise<boolean> {
    return this.atomic(async (ops) => {
      const count = async (table: string) =>
        Number(
          (await ops.exec.all<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${table} WHERE org_id = ?`, [id]))[0]
            ?.n ?? 0,
        );
      const has = [
        [await count("users"), "user"],
        [await count("api_keys"), "API key"],
        [await count("cohort_members"), "cohort membership"],
      ] as const;
      const left = has.filter(([n]) => n > 0).map(([n, what]) => `${n} ${what}${n === 1 ? "" : "s"}`);
      if (left.length > 0)
        throw new StoreError(
          "STORE_CONFLICT",
          `organisation \`${id}\` still has ${left.join(", ")}; remove them first`,
        );
      return (await ops.exec.run("DELETE FROM orgs WHERE id = ?", [id])) > 0;
    });
  }

  // ---- admin tokens ----------------------------------------------------------------------

  async createAdminToken(token: AdminToken): Promise<void> {
    if (!HEX64.test(token.hash))
      throw new StoreError("STORE_INVALID", "an admin token hash must be 64 lowercase hex digits");
    requireId("token id", token.id);
    await this.exec.run(
      "INSERT INTO admin_tokens (id, name, role, hash, created_by, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      [
        token.id,
        token.name,
        token.role,
        token.hash,
        token.createdBy,
        normalizeInstant(token.createdAt, "createdAt"),
        token.revokedAt,
      ],
    );
  }

  async findAdminTokenByHash(hash: string): Promise<AdminToken | undefined> {
    const [row] = await this.exec.all("SELECT * FROM admin_tokens WHERE hash = ?", [hash]);
    return row ? toToken(row) : undefined;
  }

  async listAdminTokens(): Promise<AdminToken[]> {
    return (await this.exec.all("SELECT * FROM admin_tokens ORDER BY created_at, id")).map(toToken);
  }

  async revokeAdminToken(id: string, at: string): Promise<AdminToken> {
    const when = normalizeInstant(at, "at");
    return this.atomic(async (ops) => {
      const [row] = await ops.exec.all("SELECT * FROM admin_tokens WHERE id = ?", [id]);
      if (!row) throw new StoreError("STORE_NOT_FOUND", `no admin token \`${id}\``);
      const token = toToken(row);
      if (token.revokedAt) return token;
      await ops.exec.run("UPDATE admin_tokens SET revoked_at = ? WHERE id = ?", [when, id]);
      return { ...token, revokedAt: when };
    });
  }

  // ---- drafts and their lifecycle --------------------------------------------------------

  async createDraft(d: Draft): Promise<void> {
    requireId("draft id", d.id);
    await this.exec.run(
      `INSERT INTO drafts (id, title, document, sha256, author, state, base_version, directives, effective_at,
         impact, approved_by, published_version, created_at, updated_at, revision)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      draftValues(d),
    );
  }

  async getDraft(id: string): Promise<Draft | undefined> {
    const [row] = await this.exec.all("SELECT * FROM drafts WHERE id = ?", [id]);
    return row ? toDraft(row) : undefined;
  }

  async listDrafts(): Promise<Draft[]> {
    return (await this.exec.all("SELECT * FROM drafts ORDER BY created_at, id")).map(toDraft);
  }

  async updateDraft(d: Draft, expectedRevision: number): Promise<void> {
    const [, ...values] = draftValues(d);
    const changed = await this.exec.run(
      `UPDATE drafts SET title = ?, document = ?, sha256 = ?, author = ?, state = ?, base_version = ?, directives = ?,
         effective_at = ?, impact = ?, approved_by = ?, published_version = ?, created_at = ?, updated_at = ?, revision = ?
       WHERE id = ? AND revision = ?`,
      [...values, d.id, expectedRevision],
    );
    if (changed === 0) {
      const exists = await this.getDraft(d.id);
      if (!exists) throw new StoreError("STORE_NOT_FOUND", `no draft \`${d.id}\``);
      throw new StoreError(
        "STORE_CONFLICT",
        `draft \`${d.id}\` is at revision ${exists.revision}, not ${expectedRevision}: someone changed it meanwhile`,
      );
    }
  }

  async addLifecycleEvent(e: LifecycleEvent): Promise<LifecycleEvent> {
    const at = normalizeInstant(e.at, "at");
    await this.exec.run(
      "INSERT INTO lifecycle_events (draft_id, directives, action, actor, at, policy_version, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
      [
        e.draftId,
        JSON.stringify(e.directives),
        e.action,
        e.actor,
        at,
        e.policyVersion,
        JSON.stringify(e.detail),
      ],
    );
    return { ...e, at };
  }

  async listLifecycleEvents(
    filter: { draftId?: string; directive?: string } = {},
  ): Promise<LifecycleEvent[]> {
    const rows =
      filter.draftId === undefined
        ? await this.exec.all("SELECT * FROM lifecycle_events ORDER BY id")
        : await this.exec.all("SELECT * FROM lifecycle_events WHERE draft_id = ? ORDER BY id", [
            filter.draftId,
          ]);
    const events = rows.map(toEvent);
    const directive = filter.directive;
    return directive === undefined ? events : events.filter((e) => e.directives.includes(directive));
  }

  // ---- notices and webhook deliveries ----------------------------------------------------

  async createNotice(n: Notice): Promise<void> {
    await this.exec.run(
      `INSERT INTO notices (id, org_id, policy_version, draft_id, directives, models, effective_at, grace, created_at,
         payload, state, attempts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        n.id,
        n.orgId,
        n.policyVersion,
        n.draftId,
        JSON.stringify(n.directives),
        JSON.stringify(n.models),
        normalizeInstant(n.effectiveAt, "effectiveAt"),
        n.grace,
        normalizeInstant(n.createdAt, "createdAt"),
        n.payload,
        n.state,
        n.attempts,
      ],
    );
  }

  async getNotice(id: string): Promise<Notice | undefined> {
    const [row] = await this.exec.all("SELECT * FROM notices WHERE id = ?", [id]);
    return row ? toNotice(row) : undefined;
  }

  async listNotices(
    filter: { orgId?: string; state?: NoticeState; policyVersion?: number } = {},
  ): Promise<Notice[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.orgId !== undefined) {
      where.push("org_id = ?");
      params.push(filter.orgId);
    }
    if (filter.state !== undefined) {
      where.push("state = ?");
      params.push(filter.state);
    }
    if (filter.policyVersion !== undefined) {
      where.push("policy_version = ?");
      params.push(filter.policyVersion);
    }
    const rows = await this.exec.all(
      `SELECT * FROM notices${where.length ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY created_at, id`,
      params,
    );
    return rows.map(toNotice);
  }

  async activeNotices(at: string): Promise<Notice[]> {
    const rows = await this.exec.all(
      "SELECT * FROM notices WHERE effective_at > ? ORDER BY effective_at, id",
      [normalizeInstant(at, "at")],
    );
    return rows.map(toNotice);
  }

  async setNoticeState(id: string, state: NoticeState, attempts: number): Promise<void> {
    const changed = await this.exec.run("UPDATE notices SET state = ?, attempts = ? WHERE id = ?", [
      state,
      attempts,
      id,
    ]);
    if (changed === 0) throw new StoreError("STORE_NOT_FOUND", `no notice \`${id}\``);
  }

  async addWebhookDelivery(d: WebhookDelivery): Promise<void> {
    await this.exec.run(
      "INSERT INTO webhook_deliveries (notice_id, org_id, url, attempt, at, status, ok, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      [d.noticeId, d.orgId, d.url, d.attempt, normalizeInstant(d.at, "at"), d.status, d.ok ? 1 : 0, d.error],
    );
  }

  async listWebhookDeliveries(noticeId?: string): Promise<WebhookDelivery[]> {
    const rows =
      noticeId === undefined
        ? await this.exec.all("SELECT * FROM webhook_deliveries ORDER BY id")
        : await this.exec.all("SELECT * FROM webhook_deliveries WHERE notice_id = ? ORDER BY id", [noticeId]);
    return rows.map(toDelivery);
  }

  // ---- keys ------------------------------------------------------------------------------

  async createApiKey(key: NewApiKey): Promise<ApiKey> {
    if (!HEX64.test(key.hash))
      throw new StoreError("STORE_INVALID", "an api key hash must be 64 lowercase hex digits");
    requireId("key id", key.id);
    const [org] = await this.exec.all("SELECT id FROM orgs WHERE id = ?", [key.orgId]);
    if (!org) throw new StoreError("STORE_NOT_FOUND", `no organisation \`${key.orgId}\``);
    const createdAt = normalizeInstant(key.createdAt, "createdAt");
    await this.exec.run(
      "INSERT INTO api_keys (id, org_id, prefix, hash, name, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, NULL)",
      [key.id, key.orgId, key.prefix, key.hash, key.name ?? null, createdAt],
    );
    return {
      id: key.id,
      orgId: key.orgId,
      prefix: key.prefix,
      hash: key.hash,
      ...(key.name !== undefined ? { name: key.name } : {}),
      createdAt,
      revokedAt: null,
    };
  }

  async listApiKeys(orgId: string): Promise<ApiKey[]> {
    return (
      await this.exec.all("SELECT * FROM api_keys WHERE org_id = ? ORDER BY created_at, id", [orgId])
    ).map(toKey);
  }

  async revokeApiKey(orgId: string, id: string, at: string): Promise<ApiKey> {
    const when = normalizeInstant(at, "at");
    return this.atomic(async (ops) => {
      const [row] = await ops.exec.all("SELECT * FROM api_keys WHERE org_id = ? AND id = ?", [orgId, id]);
      if (!row) throw new StoreError("STORE_NOT_FOUND", `organisation \`${orgId}\` has no key \`${id}\``);
      const key = toKey(row);
      if (key.revokedAt) return key;
      await ops.exec.run("UPDATE api_keys SET revoked_at = ? WHERE id = ?", [when, id]);
      return { ...key, revokedAt: when };
    });
  }

  // ---- policy versions -------------------------------------------------------------------

  async publishPolicy(input: PolicyVersionInput): Promise<PolicyVersion> {
    if (!HEX64.test(input.sha256))
      throw new StoreError("STORE_INVALID", "a policy hash must be 64 lowercase hex digits");
    if (!input.publishedBy) throw new StoreError("STORE_INVALID", "a published policy needs `publishedBy`");
    const publishedAt = normalizeInstant(input.publishedAt, "publishedAt");
    return this.atomic(async (ops) => {
      await ops.dialect.lockPolicy(ops.exec);
      const [row] = await ops.exec.all<{ v: unknown }>("SELECT MAX(version) AS v FROM policy_versions");
      const version = Number(row?.v ?? 0) + 1;
      await ops.exec.run(
        "INSERT INTO policy_versions (version, sha256, document, published_by, published_at) VALUES (?, ?, ?, ?, ?)",
        [version, input.sha256, input.document, input.publishedBy, publishedAt],
      );
      await ops.dialect.announcePolicy(ops.exec, version);
      return { ...input, publishedAt, version };
    });
  }

  async latestPolicy(): Promise<PolicyVersion | undefined> {
    const [row] = await this.exec.all("SELECT * FROM policy_versions ORDER BY version DESC LIMIT 1");
    return row ? toPolicy(row) : undefined;
  }

  async getPolicyVersion(version: number): Promise<PolicyVersion | undefined> {
    const [row] = await this.exec.all("SELECT * FROM policy_versions WHERE version = ?", [version]);
    return row ? toPolicy(row) : undefined;
  }

  async listPolicyVersions(): Promise<Omit<PolicyVersion, "document">[]> {
    const rows = await this.exec.all(
      "SELECT version, sha256, published_by, published_at FROM policy_versions ORDER BY version",
    );
    return rows.map((r) => {
      const { document: _d, ...meta } = toPolicy({ ...r, document: "" });
      return meta;
    });
  }

  // ---- audit -----------------------------------------------------------------------------

  async appendAudit(
    node: string,
    expected: ChainHead | null,
    rows: readonly StoredAuditRow[],
  ): Promise<void> {
    if (rows.length === 0) return;
    await this.atomic(async (ops) => {
      const [head] = await ops.exec.all(
        `SELECT node, seq, head FROM audit_chains WHERE node = ?${ops.dialect.forUpdate}`,
        [node],
      );
      const current = head ? toHead(head) : null;
      if (
        (current?.seq ?? 0) !== (expected?.seq ?? 0) ||
        (current?.hash ?? null) !== (expected?.hash ?? null)
      ) {
        throw new StoreError(
          "STORE_CONFLICT",
          `audit chain \`${node}\` moved: expected head ${expected?.seq ?? 0}, found ${current?.seq ?? 0}; is another process writing as node \`${node}\`?`,
        );
      }
      await ops.dialect.insertAudit(ops.exec, rows);
      const last = rows[rows.length - 1]!;
      await ops.exec.run(
        `INSERT INTO audit_chains (node, seq, head) VALUES (?, ?, ?)
         ON CONFLICT (node) DO UPDATE SET seq = excluded.seq, head = excluded.head`,
        [node, last.seq, last.hash],
      );
    });
  }

  async chainHeads(): Promise<ChainHead[]> {
    return (await this.exec.all("SELECT node, seq, head FROM audit_chains ORDER BY node")).map(toHead);
  }

  async chainHead(node: string): Promise<ChainHead | null> {
    const [row] = await this.exec.all("SELECT node, seq, head FROM audit_chains WHERE node = ?", [node]);
    return row ? toHead(row) : null;
  }

  async chainNodes(): Promise<string[]> {
    return (await this.exec.all<{ node: string }>("SELECT DISTINCT node FROM audit_log ORDER BY node")).map(
      (r) => r.node,
    );
  }

  async chainPage(node: string, afterSeq: number, limit: number): Promise<StoredAuditRow[]> {
    const rows = await this.exec.all(
      "SELECT * FROM audit_log WHERE node = ? AND seq > ? ORDER BY seq LIMIT ?",
      [node, afterSeq, limit],
    );
    return rows.map(toAuditRow);
  }

  async findAuditRecords(decisionIds: readonly string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for (let i = 0; i < decisionIds.length; i += 500) {
      const part = decisionIds.slice(i, i + 500);
      const rows = await this.exec.all<{ decision_id: string; record: string }>(
        `SELECT decision_id, record FROM audit_log WHERE decision_id IN (${part.map(() => "?").join(", ")})`,
        part,
      );
      for (const r of rows) found.set(r.decision_id, r.record);
    }
    return found;
  }

  async queryAudit(filter: AuditFilter, limit: number, after?: AuditCursor): Promise<AuditPage> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (clause: string, ...values: unknown[]) => {
      where.push(clause);
      params.push(...values);
    };
    if (filter.from !== undefined) add("time >= ?", normalizeInstant(filter.from, "from"));
    if (filter.to !== undefined) add("time < ?", normalizeInstant(filter.to, "to"));
    if (filter.org !== undefined) add("org = ?", filter.org);
    if (filter.user !== undefined) add("user_id = ?", filter.user);
    if (filter.model !== undefined) add("model = ?", filter.model);
    if (filter.decision !== undefined) add("decision = ?", filter.decision);
    if (after) add("(time > ? OR (time = ? AND id > ?))", after.time, after.time, after.id);
    const rows = await this.exec.all(
      `SELECT * FROM audit_log${where.length ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY time, id LIMIT ?`,
      [...params, limit],
    );
    const out = rows.map(toAuditRow);
    const last = out[out.length - 1];
    return out.length === limit && last
      ? { rows: out, next: { time: last.time, id: last.id! } }
      : { rows: out };
  }
}

// ---- migrations ------------------------------------------------------------------------------

export interface MigrationHost {
  kind: "sqlite" | "postgres";
  exec: Executor;
  /** Runs a multi-statement script. */
  script(exec: Executor, sql: string): Promise<void>;
  /** A transaction on which migrations run (PostgreSQL takes an advisory lock inside it). */
  transaction<T>(fn: (exec: Executor) => Promise<T>): Promise<T>;
}

/** Brings the schema to LATEST_SCHEMA; refuses a database newer than this build. Returns the version. */
export async function migrate(host: MigrationHost): Promise<number> {
  await host.exec.run(
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
  );
  return host.transaction(async (exec) => {
    const [row] = await exec.all<{ v: unknown }>("SELECT MAX(version) AS v FROM schema_migrations");
    const current = Number(row?.v ?? 0);
    if (current > LATEST_SCHEMA) {
      throw new StoreError(
        "STORE_SCHEMA_TOO_NEW",
        `database schema is version ${current} but this clearance knows at most version ${LATEST_SCHEMA}; upgrade clearance before using this database`,
      );
    }
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      try {
        await host.script(exec, host.kind === "sqlite" ? m.sqlite : m.postgres);
        await exec.run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", [
          m.version,
          m.name,
          new Date().toISOString(),
        ]);
      } catch (err) {
        throw new StoreError(
          "STORE_MIGRATION_FAILED",
          `migration ${m.version} (${m.name}) failed: ${(err as Error).message.split("\n")[0]}`,
          { cause: err },
        );
      }
    }
    return Math.max(current, LATEST_SCHEMA);
  });
}

// ---- row mapping -----------------------------------------------------------------------------

function requireId(what: string, id: string): void {
  if (typeof id !== "string" || id.trim() === "" || id.length > 200) {
    throw new StoreError("STORE_INVALID", `${what} must be a non-empty string of at most 200 characters`);
  }
}

/** `YYYY-MM-DD` or RFC 3339 → ISO 8601 UTC with milliseconds, so text order is time order. */
export function normalizeInstant(text: string, what: string): string {
  const ok = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2}))?$/i.test(text);
  const ms = ok ? Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new StoreError(
      "STORE_INVALID",
      `\`${what}\` must be YYYY-MM-DD or an RFC 3339 datetime such as 2026-06-26T00:00:00Z, got \`${text}\``,
    );
  }
  return new Date(ms).toISOString();
}

const str = (v: unknown): string | undefined => (v === null || v === undefined ? undefined : String(v));

function toOrg(r: Row, cohorts: string[]): Org {
  const settings = JSON.parse(String(r.settings ?? "{}")) as OrgSettings;
  const org: Org = { id: String(r.id) };
  const name = str(r.name);
  const country = str(r.country);
  const sector = str(r.sector);
  if (name !== undefined) org.name = name;
  if (country !== undefined) org.country = country;
  if (sector !== undefined) org.sector = sector;
  if (r.verified !== null && r.verified !== undefined) org.verified = Number(r.verified) === 1;
  org.cohorts = cohorts;
  if (Object.keys(settings).length > 0) org.settings = settings;
  return org;
}

function toUser(r: Row): User {
  const user: User = { orgId: String(r.org_id), id: String(r.id) };
  if (r.nationality !== null && r.nationality !== undefined)
    user.nationality = JSON.parse(String(r.nationality));
  if (r.permanent_residency !== null && r.permanent_residency !== undefined)
    user.permanentResidency = JSON.parse(String(r.permanent_residency));
  const residence = str(r.residence);
  if (residence !== undefined) user.residence = residence;
  return user;
}

function toKey(r: Row): ApiKey {
  const key: ApiKey = {
    id: String(r.id),
    orgId: String(r.org_id),
    prefix: String(r.prefix),
    hash: String(r.hash),
    createdAt: String(r.created_at),
    revokedAt: str(r.revoked_at) ?? null,
  };
  const name = str(r.name);
  if (name !== undefined) key.name = name;
  return key;
}

function toPolicy(r: Row): PolicyVersion {
  return {
    version: Number(r.version),
    sha256: String(r.sha256),
    document: String(r.document),
    publishedBy: String(r.published_by),
    publishedAt: String(r.published_at),
  };
}

function toHead(r: Row): ChainHead {
  return { node: String(r.node), seq: Number(r.seq), hash: String(r.head) };
}

function toAuditRow(r: Row): StoredAuditRow {
  return {
    id: Number(r.id),
    node: String(r.node),
    seq: Number(r.seq),
    prev: String(r.prev),
    hash: String(r.hash),
    record: String(r.record),
    time: String(r.time),
    decisionId: String(r.decision_id),
    org: str(r.org) ?? null,
    user: str(r.user_id) ?? null,
    model: str(r.model) ?? null,
    decision: String(r.decision),
    status: Number(r.status),
  };
}

function toToken(r: Row): AdminToken {
  return {
    id: String(r.id),
    name: String(r.name),
    role: String(r.role) as AdminToken["role"],
    hash: String(r.hash),
    createdBy: str(r.created_by) ?? null,
    createdAt: String(r.created_at),
    revokedAt: str(r.revoked_at) ?? null,
  };
}

function draftValues(d: Draft): unknown[] {
  return [
    d.id,
    d.title,
    d.document,
    d.sha256,
    d.author,
    d.state,
    d.baseVersion,
    JSON.stringify(d.directives),
    d.effectiveAt,
    d.impact,
    d.approvedBy,
    d.publishedVersion,
    d.createdAt,
    d.updatedAt,
    d.revision,
  ];
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function toDraft(r: Row): Draft {
  return {
    id: String(r.id),
    title: String(r.title),
    document: String(r.document),
    sha256: str(r.sha256) ?? null,
    author: String(r.author),
    state: String(r.state) as Draft["state"],
    baseVersion: num(r.base_version),
    directives: JSON.parse(String(r.directives)) as string[],
    effectiveAt: str(r.effective_at) ?? null,
    impact: str(r.impact) ?? null,
    approvedBy: str(r.approved_by) ?? null,
    publishedVersion: num(r.published_version),
    createdAt: String(r.created_at),
    updatedAt: String(r.updated_at),
    revision: Number(r.revision),
  };
}

function toEvent(r: Row): LifecycleEvent {
  return {
    id: Number(r.id),
    draftId: str(r.draft_id) ?? null,
    directives: JSON.parse(String(r.directives)) as string[],
    action: String(r.action),
    actor: String(r.actor),
    at: String(r.at),
    policyVersion: num(r.policy_version),
    detail: JSON.parse(String(r.detail)) as Record<string, unknown>,
  };
}

function toNotice(r: Row): Notice {
  return {
    id: String(r.id),
    orgId: String(r.org_id),
    policyVersion: Number(r.policy_version),
    draftId: str(r.draft_id) ?? null,
    directives: JSON.parse(String(r.directives)) as string[],
    models: JSON.parse(String(r.models)) as string[],
    effectiveAt: String(r.effective_at),
    grace: String(r.grace),
    createdAt: String(r.created_at),
    payload: String(r.payload),
    state: String(r.state) as NoticeState,
    attempts: Number(r.attempts),
  };
}

function toDelivery(r: Row): WebhookDelivery {
  return {
    id: Number(r.id),
    noticeId: String(r.notice_id),
    orgId: String(r.org_id),
    url: String(r.url),
    attempt: Number(r.attempt),
    at: String(r.at),
    status: num(r.status),
    ok: Number(r.ok) === 1,
    error: str(r.error) ?? null,
  };
}
