/**
 * Versioned schema migrations, one SQL script per dialect. Append only: a published migration is
 * never edited; a change is a new version. The highest version here is the newest schema this build
 * understands; a database at a higher version is refused (STORE_SCHEMA_TOO_NEW).
 */
export interface Migration {
  version: number;
  name: string;
  sqlite: string;
  postgres: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "directory, keys, policy versions, audit log",
    sqlite: `
      CREATE TABLE orgs (
        id TEXT PRIMARY KEY,
        name TEXT,
        country TEXT,
        sector TEXT,
        verified INTEGER,
        settings TEXT NOT NULL DEFAULT '{}'
      );
      CREATE TABLE users (
        org_id TEXT NOT NULL REFERENCES orgs(id),
        id TEXT NOT NULL,
        nationality TEXT,
        permanent_residency TEXT,
        residence TEXT,
        PRIMARY KEY (org_id, id)
      );
      CREATE TABLE cohort_members (
        cohort TEXT NOT NULL,
        org_id TEXT NOT NULL REFERENCES orgs(id),
        since TEXT NOT NULL,
        PRIMARY KEY (cohort, org_id)
      );
      CREATE INDEX cohort_members_org ON cohort_members(org_id);
      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        org_id TEXT NOT NULL REFERENCES orgs(id),
        prefix TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        name TEXT,
        created_at TEXT NOT NULL,
        revoked_at TEXT
      );
      CREATE INDEX api_keys_org ON api_keys(org_id);
      CREATE TABLE policy_versions (
        version INTEGER PRIMARY KEY,
        sha256 TEXT NOT NULL,
        document TEXT NOT NULL,
        published_by TEXT NOT NULL,
        published_at TEXT NOT NULL
      );
      CREATE TABLE audit_chains (
        node TEXT PRIMARY KEY,
        seq INTEGER NOT NULL,
        head TEXT NOT NULL
      );
      CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        node TEXT NOT NULL,
        seq INTEGER NOT NULL,
        prev TEXT NOT NULL,
        hash TEXT NOT NULL,
        time TEXT NOT NULL,
        decision_id TEXT NOT NULL UNIQUE,
        org TEXT,
        user_id TEXT,
        model TEXT,
        decision TEXT NOT NULL,
        status INTEGER NOT NULL,
        record TEXT NOT NULL,
        UNIQUE (node, seq)
      );
      CREATE INDEX audit_log_time ON audit_log(time, id);
      CREATE INDEX audit_log_org_time ON audit_log(org, time);
    `,
    postgres: `
      CREATE TABLE orgs (
        id TEXT PRIMARY KEY,
        name TEXT,
        country TEXT,
        sector TEXT,
        verified SMALLINT,
        settings TEXT NOT NULL DEFAULT '{}'
      );
      CREATE TABLE users (
        org_id TEXT NOT NULL REFERENCES orgs(id),
        id TEXT NOT NULL,
        nationality TEXT,
        permanent_residency TEXT,
        residence TEXT,
        PRIMARY KEY (org_id, id)
      );
      CREATE TABLE cohort_members (
        cohort TEXT NOT NULL,
        org_id TEXT NOT NULL REFERENCES orgs(id),
        since TEXT NOT NULL,
        PRIMARY KEY (cohort, org_id)
      );
      CREATE INDEX cohort_members_org ON cohort_members(org_id);
      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        org_id TEXT NOT NULL REFERENCES orgs(id),
        prefix TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        name TEXT,
        created_at TEXT NOT NULL,
        revoked_at TEXT
      );
      CREATE INDEX api_keys_org ON api_keys(org_id);
      CREATE TABLE policy_versions (
        version INTEGER PRIMARY KEY,
        sha256 TEXT NOT NULL,
        document TEXT NOT NULL,
        published_by TEXT NOT NULL,
        published_at TEXT NOT NULL
      );
      CREATE TABLE audit_chains (
        node TEXT PRIMARY KEY,
        seq BIGINT NOT NULL,
        head TEXT NOT NULL
      );
      CREATE TABLE audit_log (
        id BIGSERIAL PRIMARY KEY,
        node TEXT NOT NULL,
        seq BIGINT NOT NULL,
        prev TEXT NOT NULL,
        hash TEXT NOT NULL,
        time TEXT NOT NULL,
        decision_id TEXT NOT NULL UNIQUE,
        org TEXT,
        user_id TEXT,
        model TEXT,
        decision TEXT NOT NULL,
        status INTEGER NOT NULL,
        record TEXT NOT NULL,
        UNIQUE (node, seq)
      );
      CREATE INDEX audit_log_time ON audit_log(time, id);
      CREATE INDEX audit_log_org_time ON audit_log(org, time);
    `,
  },
  {
    version: 2,
    name: "admin tokens, drafts, lifecycle events, notices, webhook deliveries",
    sqlite: `
      CREATE TABLE admin_tokens (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        created_by TEXT,
        created_at TEXT NOT NULL,
        revoked_at TEXT
      );
      CREATE TABLE drafts (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        document TEXT NOT NULL,
        sha256 TEXT,
        author TEXT NOT NULL,
        state TEXT NOT NULL,
        base_version INTEGER,
        directives TEXT NOT NULL DEFAULT '[]',
        effective_at TEXT,
        impact TEXT,
        approved_by TEXT,
        published_version INTEGER,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        revision INTEGER NOT NULL
      );
      CREATE TABLE notices (
        id TEXT PRIMARY KEY,
        org_id TEXT NOT NULL,
        policy_version INTEGER NOT NULL,
        draft_id TEXT,
        directives TEXT NOT NULL,
        models TEXT NOT NULL,
        effective_at TEXT NOT NULL,
        grace TEXT NOT NULL,
        created_at TEXT NOT NULL,
        payload TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX notices_org ON notices(org_id, effective_at);
      CREATE TABLE lifecycle_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        draft_id TEXT,
        directives TEXT NOT NULL,
        action TEXT NOT NULL,
        actor TEXT NOT NULL,
        at TEXT NOT NULL,
        policy_version INTEGER,
        detail TEXT NOT NULL
      );
      CREATE TABLE webhook_deliveries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        notice_id TEXT NOT NULL REFERENCES notices(id),
        org_id TEXT NOT NULL,
        url TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        at TEXT NOT NULL,
        status INTEGER,
        ok INTEGER NOT NULL,
        error TEXT
      );
    `,
    postgres: `
      CREATE TABLE admin_tokens (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        created_by TEXT,
        created_at TEXT NOT NULL,
        revoked_at TEXT
      );
      CREATE TABLE drafts (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        document TEXT NOT NULL,
        sha256 TEXT,
        author TEXT NOT NULL,
        state TEXT NOT NULL,
        base_version INTEGER,
        directives TEXT NOT NULL DEFAULT '[]',
        effective_at TEXT,
        impact TEXT,
        approved_by TEXT,
        published_version INTEGER,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        revision INTEGER NOT NULL
      );
      CREATE TABLE notices (
        id TEXT PRIMARY KEY,
        org_id TEXT NOT NULL,
        policy_version INTEGER NOT NULL,
        draft_id TEXT,
        directives TEXT NOT NULL,
        models TEXT NOT NULL,
        effective_at TEXT NOT NULL,
        grace TEXT NOT NULL,
        created_at TEXT NOT NULL,
        payload TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX notices_org ON notices(org_id, effective_at);
      CREATE TABLE lifecycle_events (
        id BIGSERIAL PRIMARY KEY,
        draft_id TEXT,
        directives TEXT NOT NULL,
        action TEXT NOT NULL,
        actor TEXT NOT NULL,
        at TEXT NOT NULL,
        policy_version INTEGER,
        detail TEXT NOT NULL
      );
      CREATE TABLE webhook_deliveries (
        id BIGSERIAL PRIMARY KEY,
        notice_id TEXT NOT NULL REFERENCES notices(id),
        org_id TEXT NOT NULL,
        url TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        at TEXT NOT NULL,
        status INTEGER,
        ok SMALLINT NOT NULL,
        error TEXT
      );
    `,
  },
];

export const LATEST_SCHEMA = MIGRATIONS[MIGRATIONS.length - 1]!.version;
