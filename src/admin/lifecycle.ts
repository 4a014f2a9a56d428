import type { FastifyRequest } from "fastify";
import type { AdminToken, Draft, LifecycleEvent, Notice, StoreOps } from "../store/index.ts";
import { type AdminContext, actorOf, mutate, newId } from "./context.ts";
import { AdminError } from "./errors.ts";
import { impactOnStore } from "./impact-service.ts";
import { createNotices } from "./notices.ts";
import {
  changedDirectives,
  compiled,
  currentPolicy,
  effectiveInstant,
  graceMs,
  loadDraft,
} from "./policies.ts";

/**
 * The directive lifecycle: draft → validated → impact computed → approved (by a second person)
 * → published. Each step checks the state it starts from, writes the draft with its next
 * revision, a lifecycle event (who, when, what) and the admin audit event in one transaction.
 */
const iso = (ms: number) => new Date(ms).toISOString();

function event(
  draft: Pick<Draft, "id" | "directives"> | null,
  action: string,
  actor: AdminToken,
  at: number,
  detail: Record<string, unknown> = {},
  policyVersion: number | null = null,
): LifecycleEvent {
  return {
    draftId: draft?.id ?? null,
    directives: draft?.directives ?? [],
    action,
    actor: actor.name,
    at: iso(at),
    policyVersion,
    detail: { token: actor.id, role: actor.role, ...detail },
  };
}

async function load(ops: StoreOps, id: string): Promise<Draft> {
  const draft = await ops.getDraft(id);
  if (!draft) throw new AdminError("ADMIN_NOT_FOUND", `no draft \`${id}\``);
  return draft;
}

function requireState(draft: Draft, allowed: readonly Draft["state"][], step: string): void {
  if (!allowed.includes(draft.state)) {
    throw new AdminError(
      "ADMIN_DRAFT_STATE",
      `cannot ${step} draft \`${draft.id}\`: it is \`${draft.state}\`, and ${step} needs ${allowed.map((s) => `\`${s}\``).join(" or ")}`,
    );
  }
}

/** If-Match on a draft is its revision: `"r3"`. */
export const draftEtag = (d: Draft) => `"r${d.revision}"`;

function checkRevision(req: FastifyRequest, draft: Draft): void {
  const header = req.headers["if-match"];
  if (
    header !== undefined &&
    header !== "*" &&
    !header
      .split(",")
      .map((s) => s.trim())
      .includes(draftEtag(draft))
  ) {
    throw new AdminError(
      "ADMIN_STALE_ETAG",
      `draft \`${draft.id}\` changed since \`${header}\`; it is now ${draftEtag(draft)}: fetch it again`,
    );
  }
}

async function save(tx: StoreOps, draft: Draft, changes: Partial<Draft>, at: number): Promise<Draft> {
  const next: Draft = { ...draft, ...changes, updatedAt: iso(at), revision: draft.revision + 1 };
  await tx.updateDraft(next, draft.revision);
  return next;
}

export async function createDraft(ctx: AdminContext, req: FastifyRequest, title: string, document: string) {
  const actor = actorOf(req);
  const at = ctx.now();
  const draft: Draft = {
    id: newId("drf"),
    title,
    document,
    sha256: null,
    author: actor.id,
    state: "draft",
    baseVersion: null,
    directives: [],
    effectiveAt: null,
    impact: null,
    approvedBy: null,
    publishedVersion: null,
    createdAt: iso(at),
    updatedAt: iso(at),
    revision: 1,
  };
  req.admin.target = `draft:${draft.id}`;
  return mutate(
    ctx,
    req,
    async (tx) => {
      await tx.createDraft(draft);
      await tx.addLifecycleEvent(event(draft, "created", actor, at, { title }));
      return draft;
    },
    201,
  );
}

export async function editDraft(
  ctx: AdminContext,
  req: FastifyRequest,
  id: string,
  title: string | undefined,
  document: string,
) {
  const actor = actorOf(req);
  req.admin.target = `draft:${id}`;
  return mutate(ctx, req, async (tx) => {
    const draft = await load(tx, id);
    checkRevision(req, draft);
    requireState(draft, ["draft", "validated", "impact_computed", "approved"], "edit");
    const at = ctx.now();
    const next = await save(
      tx,
      draft,
      {
        document,
        title: title ?? draft.title,
        state: "draft",
        sha256: null,
        impact: null,
        approvedBy: null,
        effectiveAt: null,
      },
      at,
    );
    await tx.addLifecycleEvent(
      event(next, "edited", actor, at, draft.state !== "draft" ? { reset_from: draft.state } : {}),
    );
    return next;
  });
}

/** Validates; a draft with errors stays a draft, the failure is recorded and the errors returned (422). */
export async function validateDraft(ctx: AdminContext, req: FastifyRequest, id: string) {
  const actor = actorOf(req);
  req.admin.target = `draft:${id}`;
  const draft = await load(ctx.store, id);
  requireState(draft, ["draft", "validated"], "validate");
  checkRevision(req, draft);
  let policy: ReturnType<typeof loadDraft>;
  try {
    policy = loadDraft(draft.document, `${id}.yaml`);
  } catch (err) {
    if (err instanceof AdminError) {
      const errors = err.diagnostics.filter((d) => d.severity === "error").length;
      req.admin.errorCode = err.code;
      await mutate(
        ctx,
        req,
        (tx) => tx.addLifecycleEvent(event(draft, "validation_failed", actor, ctx.now(), { errors })),
        422,
      );
    }
    throw err;
  }
  return mutate(ctx, req, async (tx) => {
    const current = await load(tx, id);
    if (current.revision !== draft.revision)
      throw new AdminError(
        "ADMIN_CONFLICT",
        `draft \`${id}\` changed while it was validated; validate it again`,
      );
    const base = await currentPolicy(tx);
    const directives = changedDirectives(base.policy, policy);
    const at = ctx.now();
    const next = await save(
      tx,
      current,
      { state: "validated", sha256: policy.hash, directives, baseVersion: base.version?.version ?? null },
      at,
    );
    await tx.addLifecycleEvent(
      event(next, "validated", actor, at, {
        sha256: policy.hash,
        directives,
        base_version: next.baseVersion,
      }),
    );
    return next;
  });
}

/** Computes who gains and loses what, against the latest published version, at `atMs` or the draft's effective instant. */
export async function computeImpact(
  ctx: AdminContext,
  req: FastifyRequest,
  id: string,
  atMs: number | undefined,
) {
  const actor = actorOf(req);
  req.admin.target = `draft:${id}`;
  const draft = await load(ctx.store, id);
  requireState(draft, ["validated", "impact_computed"], "compute the impact of");
  const after = compiled(draft.document, draft.sha256 ?? undefined);
  const base = await currentPolicy(ctx.store);
  const directives = changedDirectives(base.policy, after);
  const at = atMs ?? effectiveInstant(after, directives, ctx.now());
  const summary = await impactOnStore(ctx.store, base.policy, after, at, base.version?.version ?? null);
  return mutate(ctx, req, async (tx) => {
    const current = await load(tx, id);
    if (current.revision !== draft.revision)
      throw new AdminError(
        "ADMIN_CONFLICT",
        `draft \`${id}\` changed while its impact was computed; compute it again`,
      );
    const latest = await tx.latestPolicy();
    if ((latest?.version ?? null) !== (base.version?.version ?? null))
      throw new AdminError(
        "ADMIN_CONFLICT",
        "a version was published while the impact was computed; compute it again",
      );
    const now = ctx.now();
    const next = await save(
      tx,
      current,
      {
        state: "impact_computed",
        impact: JSON.stringify(summary),
        effectiveAt: iso(at),
        directives,
        baseVersion: summary.beforeVersion,
      },
      now,
    );
    await tx.addLifecycleEvent(
      event(next, "impact_computed", actor, now, {
        at: iso(at),
        base_version: summary.beforeVersion,
        totals: summary.totals,
        orgs_losing: Object.keys(summary.losses).length,
      }),
    );
    return { draft: next, impact: summary };
  });
}

function expectNext(published: number, base: number | null): void {
  if (published !== (base ?? 0) + 1) {
    throw new AdminError(
      "ADMIN_STALE_BASE",
      `version ${published - 1} was published meanwhile (this change was checked against ${base ?? "nothing"}); compute the impact again`,
    );
  }
}

async function requireFreshBase(tx: StoreOps, draft: Draft): Promise<void> {
  const latest = await tx.latestPolicy();
  if ((latest?.version ?? null) !== draft.baseVersion) {
    throw new AdminError(
      "ADMIN_STALE_BASE",
      `version ${latest?.version} was published after draft \`${draft.id}\`'s impact was computed against ${draft.baseVersion ?? "nothing"}; compute the impact again`,
    );
  }
}

export async function approveDraft(
  ctx: AdminContext,
  req: FastifyRequest,
  id: string,
  comment: string | undefined,
) {
  const actor = actorOf(req);
  req.admin.target = `draft:${id}`;
  return mutate(ctx, req, async (tx) => {
    const draft = await load(tx, id);
    checkRevision(req, draft);
    requireState(draft, ["impact_computed"], "approve");
    const author = (await tx.listAdminTokens()).find((t) => t.id === draft.author);
    if (draft.author === actor.id || (author && author.name === actor.name)) {
      throw new AdminError(
        "ADMIN_SELF_APPROVAL",
        `\`${actor.name}\` wrote draft \`${id}\` and cannot approve it; a second person with role \`approver\` must`,
      );
    }
    await requireFreshBase(tx, draft);
    const at = ctx.now();
    const next = await save(tx, draft, { state: "approved", approvedBy: actor.id }, at);
    await tx.addLifecycleEvent(event(next, "approved", actor, at, comment ? { comment } : {}));
    return next;
  });
}

export async function publishDraft(ctx: AdminContext, req: FastifyRequest, id: string) {
  const actor = actorOf(req);
  req.admin.target = `draft:${id}`;
  const draft = await load(ctx.store, id);
  requireState(draft, ["approved"], "publish");
  const after = compiled(draft.document, draft.sha256 ?? undefined);
  const base = await currentPolicy(ctx.store);
  const at = ctx.now();
  const effectiveAt = effectiveInstant(after, draft.directives, at);
  // The notices come from the directory as it is now, at the instant the change takes effect.
  const summary = await impactOnStore(
    ctx.store,
    base.policy,
    after,
    effectiveAt,
    base.version?.version ?? null,
  );
  const result = await mutate(ctx, req, async (tx) => {
    const current = await load(tx, id);
    if (current.revision !== draft.revision)
      throw new AdminError("ADMIN_CONFLICT", `draft \`${id}\` changed meanwhile; try again`);
    await requireFreshBase(tx, current);
    const version = await tx.publishPolicy({
      document: current.document,
      sha256: after.hash,
      publishedBy: actor.name,
      publishedAt: iso(at),
    });
    // publishPolicy serialises publishers (an advisory lock on PostgreSQL, one writer on SQLite)
    // and numbers after the lock: anything but base + 1 means another version got in first.
    expectNext(version.version, current.baseVersion);
    const next = await save(tx, current, { state: "published", publishedVersion: version.version }, at);
    const notices = await createNotices(tx, {
      summary,
      before: base.policy,
      after,
      policyVersion: version.version,
      draftId: id,
      directives: current.directives,
      publishedAt: at,
      effectiveAt,
    });
    const warnings = shortNotices(notices, at, effectiveAt);
    await tx.addLifecycleEvent(
      event(
        next,
        "published",
        actor,
        at,
        {
          version: version.version,
          effective_at: iso(effectiveAt),
          notices: notices.length,
          ...(warnings.length ? { warnings } : {}),
        },
        version.version,
      ),
    );
    req.admin.detail = { version: version.version };
    return {
      draft: next,
      version: version.version,
      effectiveAt: iso(effectiveAt),
      warnings,
      notices: notices.map((n) => ({ id: n.id, org: n.orgId, models: n.models, grace: n.grace })),
    };
  });
  ctx.notices.kick();
  return result;
}

/** Notices whose org gets less time than the directive's `notice` asks for (published too late). */
function shortNotices(notices: readonly Notice[], at: number, effectiveAt: number): string[] {
  const days = (ms: number) => Math.floor((ms / 86_400_000) * 10) / 10;
  return notices
    .filter((n) => n.grace !== "immediate" && effectiveAt - at < graceMs(n.grace))
    .map(
      (n) =>
        `\`${n.orgId}\` gets ${days(effectiveAt - at)} days' notice of losing ${n.models.join(", ")}, less than the ${n.grace} that ${n.directives.map((d) => `\`${d}\``).join(", ")} states`,
    );
}

/** Publishes an earlier version's document as a new version (versions are never edited). */
export async function rollback(
  ctx: AdminContext,
  req: FastifyRequest,
  toVersion: number,
  reason: string | undefined,
) {
  const actor = actorOf(req);
  req.admin.target = `policy:${toVersion}`;
  const target = await ctx.store.getPolicyVersion(toVersion);
  if (!target) throw new AdminError("ADMIN_NOT_FOUND", `no policy version ${toVersion}`);
  const base = await currentPolicy(ctx.store);
  if (!base.version)
    throw new AdminError("ADMIN_NO_POLICY", "nothing is published, so nothing can be rolled back");
  const after = compiled(target.document, target.sha256);
  const directives = changedDirectives(base.policy, after);
  const at = ctx.now();
  const summary = await impactOnStore(ctx.store, base.policy, after, at, base.version.version);
  const result = await mutate(ctx, req, async (tx) => {
    const latest = await tx.latestPolicy();
    if (latest?.version !== base.version?.version)
      throw new AdminError("ADMIN_CONFLICT", "a version was published meanwhile; look at it and try again");
    const version = await tx.publishPolicy({
      document: target.document,
      sha256: target.sha256,
      publishedBy: actor.name,
      publishedAt: iso(at),
    });
    expectNext(version.version, base.version?.version ?? null);
    const notices = await createNotices(tx, {
      summary,
      before: base.policy,
      after,
      policyVersion: version.version,
      draftId: null,
      directives,
      publishedAt: at,
      effectiveAt: at,
    });
    await tx.addLifecycleEvent({
      draftId: null,
      directives,
      action: "rolled_back",
      actor: actor.name,
      at: iso(at),
      policyVersion: version.version,
      detail: {
        token: actor.id,
        role: actor.role,
        from_version: base.version?.version,
        to_version: toVersion,
        ...(reason ? { reason } : {}),
        notices: notices.length,
      },
    });
    return {
      version: version.version,
      restored: toVersion,
      directives,
      totals: summary.totals,
      notices: notices.length,
    };
  });
  ctx.notices.kick();
  return result;
}
