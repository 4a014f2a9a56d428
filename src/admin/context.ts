import { randomUUID } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import { canonicalJson, sha256 } from "../policy/index.ts";
import {
  type AdminEventV1,
  type AdminRole,
  type AdminToken,
  chainRecords,
  isStoreError,
  type Store,
  type StoreOps,
} from "../store/index.ts";
import type { Mutex } from "../store/sql.ts";
import { AdminError } from "./errors.ts";
import type { NoticeDispatcher } from "./notices.ts";

/** What every route handler works with. */
export interface AdminContext {
  store: Store;
  now: () => number;
  /** The audit chain admin events are written to (one per admin process). */
  node: string;
  /** Serialises admin writes in this process: they share one chain head. */
  lock: Mutex;
  notices: NoticeDispatcher;
}

/** Per-request admin state, set by the auth hook and the handlers. */
export interface AdminRequestState {
  token?: AdminToken;
  /** What was acted on, for the audit event. */
  target?: string;
  org?: string;
  /** Set once the request's event was written (with its change, in one transaction). */
  audited?: boolean;
  errorCode?: string;
  detail?: Record<string, unknown>;
}

declare module "fastify" {
  interface FastifyRequest {
    admin: AdminRequestState;
  }
  interface FastifySchema {
    summary?: string;
    description?: string;
    tags?: string[];
    /** Left out of the OpenAPI document. */
    hide?: boolean;
  }
  interface FastifyContextConfig {
    /** Roles allowed to call the route; absent: public (the OpenAPI document). */
    roles?: readonly AdminRole[];
  }
}

export const ALL_ROLES: readonly AdminRole[] = ["viewer", "editor", "approver", "auditor", "admin"];

export function actorOf(req: FastifyRequest): AdminToken {
  const token = req.admin.token;
  if (!token) throw new AdminError("ADMIN_UNAUTHENTICATED", "this route needs an admin token");
  return token;
}

function adminEvent(req: FastifyRequest, status: number, now: number): AdminEventV1 {
  const token = req.admin.token;
  return {
    v: 1,
    kind: "admin",
    time: new Date(now).toISOString(),
    decision_id: `adm_${randomUUID()}`,
    actor: token?.id ?? null,
    role: token?.role ?? null,
    action: `${req.method} ${req.routeOptions.url ?? req.url.split("?")[0]}`,
    target: req.admin.target ?? null,
    org: req.admin.org ?? null,
    user: null,
    requested_model: null,
    decision: "admin",
    reasons: [],
    unknown: [],
    status,
    error_code: req.admin.errorCode ?? null,
    detail: { ...(token ? { actor_name: token.name } : {}), ...(req.admin.detail ?? {}) },
  };
}

async function appendEvent(node: string, tx: StoreOps, event: AdminEventV1): Promise<void> {
  const head = await tx.chainHead(node);
  await tx.appendAudit(node, head, chainRecords(node, head, [event]));
}

/**
 * Runs a change and its audit event in one transaction: both are stored or neither is.
 * The request's own event is then not written again by the onSend hook.
 */
export function mutate<T>(
  ctx: AdminContext,
  req: FastifyRequest,
  fn: (tx: StoreOps) => Promise<T>,
  status = 200,
): Promise<T> {
  return ctx.lock.run(async () => {
    // The store reports any failure inside a transaction as its own; keep the handler's error.
    let failure: { err: unknown } | undefined;
    try {
      const result = await ctx.store.transaction(async (tx) => {
        try {
          const value = await fn(tx);
          await appendEvent(ctx.node, tx, adminEvent(req, status, ctx.now()));
          return value;
        } catch (err) {
          failure = { err };
          throw err;
        }
      });
      req.admin.audited = true;
      return result;
    } catch (err) {
      throw failure && !isStoreError(failure.err, "STORE_UNAVAILABLE") ? failure.err : err;
    }
  });
}

/** Writes the request's event on its own (reads, refusals); called before the response is sent. */
export function auditAlone(ctx: AdminContext, req: FastifyRequest, reply: FastifyReply): Promise<void> {
  return ctx.lock.run(() =>
    ctx.store.transaction((tx) => appendEvent(ctx.node, tx, adminEvent(req, reply.statusCode, ctx.now()))),
  );
}

/** A strong ETag over a resource's canonical JSON. */
export function etagOf(value: unknown): string {
  return `"${sha256(canonicalJson(value)).slice(0, 24)}"`;
}

/**
 * Optimistic concurrency: with `If-Match`, the current version must match (409 otherwise);
 * `If-Match: *` requires that the resource exists. Without the header the write goes through.
 */
export function checkIfMatch(req: FastifyRequest, current: unknown | undefined, what: string): void {
  const header = req.headers["if-match"];
  if (header === undefined) return;
  const wanted = header.split(",").map((t) => t.trim().replace(/^W\//, ""));
  if (current === undefined) {
    throw new AdminError(
      "ADMIN_STALE_ETAG",
      `${what} does not exist, but \`If-Match: ${header}\` expects it to`,
    );
  }
  const tag = etagOf(current);
  if (!wanted.includes("*") && !wanted.includes(tag)) {
    throw new AdminError(
      "ADMIN_STALE_ETAG",
      `${what} changed since \`${header}\`; its current ETag is ${tag}: fetch it again and reapply your change`,
    );
  }
}

export function newId(prefix: string): string {
  return `${prefix}_${randomUUID().replaceAll("-", "").slice(0, 16)}`;
}

/**
 * Writes an admin event for an action taken with the CLI directly on the store (token issue,
 * report), on the `admin-cli` chain; the actor is the operating-system user.
 */
export async function recordCliEvent(
  store: Store,
  action: string,
  target: string | null,
  detail: Record<string, unknown>,
  node = "admin-cli",
): Promise<void> {
  const event: AdminEventV1 = {
    v: 1,
    kind: "admin",
    time: new Date().toISOString(),
    decision_id: `adm_${randomUUID()}`,
    actor: `cli:${process.env.USER ?? "unknown"}`,
    role: null,
    action: `clearance ${action}`,
    target,
    org: null,
    user: null,
    requested_model: null,
    decision: "admin",
    reasons: [],
    unknown: [],
    status: 0,
    error_code: null,
    detail,
  };
  await store.transaction((tx) => appendEvent(node, tx, event));
}
