import type { Reason } from "../policy/index.ts";

/**
 * The audit sink port. Every gateway decision gets one versioned record. The gateway opens an
 * entry before it forwards anything upstream (open() throws AuditUnavailableError when the sink
 * is down or its bounded queue is full → 503), then commits it with the outcome and completes
 * the response only after commit() resolves: every 2xx implies a durable record.
 * Prompts and completions are never part of a record.
 */
export interface AuditDecisionV1 {
  v: 1;
  /** ISO 8601 instant the request arrived (the instant it was decided at). */
  time: string;
  decision_id: string;
  key_id: string | null;
  org: string | null;
  user: string | null;
  request_country: string | null;
  source_ip: string | null;
  requested_model: string | null;
  decision: "allow" | "deny";
  reasons: Reason[];
  unknown: string[];
  policy: string | null;
  /** Why the gateway refused before or after the policy decision (auth, limit, no deployment ...). */
  error_code?: string | null;
}

export interface AuditOutcome {
  served_model: string | null;
  deployment: string | null;
  upstream_status: number | null;
  /** HTTP status returned to the caller. */
  status: number;
  /** Milliseconds the gateway added on top of the upstream's own time. */
  added_latency_ms: number;
}

export type AuditRecordV1 = AuditDecisionV1 & AuditOutcome;

/**
 * An admin API action (version 1), chained in the same log as decisions (on the admin node's chain).
 * It fills the query columns the way `verify` checks them: `decision_id` is the event id,
 * `org` the organisation acted on (if any), `user` null, `requested_model` null, `decision`
 * "admin", `status` the HTTP status answered. `reasons`/`unknown` are empty lists so tools that
 * read decision records can read these too.
 */
export interface AdminEventV1 {
  v: 1;
  kind: "admin";
  time: string;
  decision_id: string;
  /** Admin token id and its role; null when the request carried no valid token. */
  actor: string | null;
  role: string | null;
  /** `METHOD /admin/v1/route` as routed, e.g. `POST /admin/v1/drafts/:id/approve`. */
  action: string;
  /** What was acted on (`draft:drf_…`, `org:acme`, `policy:3` …), or null. */
  target: string | null;
  org: string | null;
  user: null;
  requested_model: null;
  decision: "admin";
  reasons: [];
  unknown: [];
  status: number;
  /** The stable error code when the action was refused, else null. */
  error_code: string | null;
  detail: Record<string, unknown>;
}

/** Anything the audit log chains. */
export type AuditRecord = AuditRecordV1 | AdminEventV1;

export interface AuditEntry {
  /** Submits the record with its outcome; resolves once durably committed, rejects if it cannot be. */
  commit(outcome: AuditOutcome): Promise<void>;
}

export interface AuditSink {
  /** Reserves a place in the queue; throws AuditUnavailableError when the record could not be kept. */
  open(decision: AuditDecisionV1): AuditEntry;
  /** True when records can be accepted right now (store reachable, queue not full). */
  readonly ready: boolean;
  close(): Promise<void>;
}

export class AuditUnavailableError extends Error {
  readonly code = "AUDIT_UNAVAILABLE";
  constructor(message: string) {
    super(message);
    this.name = "AuditUnavailableError";
  }
}
