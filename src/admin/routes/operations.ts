import type { FastifyInstance, FastifyRequest } from "fastify";
import { factsFor } from "../../directory/types.ts";
import {
  ClearanceError,
  type CompiledPolicy,
  decide,
  explainDecision,
  type Facts,
  normalizeFacts,
  parseInstant,
  timeline,
} from "../../policy/index.ts";
import type { StoreOps } from "../../store/index.ts";
import { type AdminContext, ALL_ROLES, actorOf, mutate } from "../context.ts";
import { AdminError } from "../errors.ts";
import { compiled, currentPolicy } from "../policies.ts";
import { issueAdminToken, publicToken } from "../tokens.ts";
import { ID, idParams } from "./schemas.ts";

const READ = { roles: ALL_ROLES };
const ADMIN = { roles: ["admin"] as const };
const AUDITOR = { roles: ["auditor"] as const };

interface PrincipalQuery {
  model: string;
  org?: string;
  user?: string;
  request_country?: string;
  facts?: Record<string, unknown>;
  draft?: string;
  version?: number;
}

const principalProps = {
  model: { type: "string", minLength: 1, maxLength: 200 },
  org: ID,
  user: ID,
  request_country: { type: "string", description: "ISO alpha-2; where the request comes from" },
  draft: { ...ID, description: "decide under this draft instead of the published policy (what-if)" },
  version: { type: "integer", minimum: 1, description: "decide under this published version" },
};

/** The policy to decide under: a draft (validated), a given version, or the latest. */
async function policyFor(
  ops: StoreOps,
  q: PrincipalQuery,
): Promise<{ policy: CompiledPolicy; source: string }> {
  if (q.draft) {
    const d = await ops.getDraft(q.draft);
    if (!d) throw new AdminError("ADMIN_NOT_FOUND", `no draft \`${q.draft}\``);
    if (!d.sha256)
      throw new AdminError(
        "ADMIN_DRAFT_STATE",
        `draft \`${q.draft}\` is not validated yet; validate it first`,
      );
    return { policy: compiled(d.document, d.sha256), source: `draft:${d.id}` };
  }
  if (q.version !== undefined) {
    const v = await ops.getPolicyVersion(q.version);
    if (!v) throw new AdminError("ADMIN_NOT_FOUND", `no policy version ${q.version}`);
    return { policy: compiled(v.document, v.sha256), source: `version:${v.version}` };
  }
  const { version, policy } = await currentPolicy(ops);
  if (!version)
    throw new AdminError("ADMIN_NO_POLICY", "no policy version is published yet; pass `draft` to try one");
  return { policy, source: `version:${version.version}` };
}

/** Facts from the directory (org, user), then request country, then explicit facts on top. */
async function factsOf(ops: StoreOps, q: PrincipalQuery): Promise<Facts> {
  let facts: Facts = {};
  if (q.org) {
    const org = await ops.getOrg(q.org);
    if (!org) throw new AdminError("ADMIN_NOT_FOUND", `no organisation \`${q.org}\``);
    const user = q.user ? await ops.getUser(q.org, q.user) : undefined;
    if (q.user && !user)
      throw new AdminError("ADMIN_NOT_FOUND", `organisation \`${q.org}\` has no user \`${q.user}\``);
    facts = factsFor(org, user, q.user);
  } else if (q.user) throw new AdminError("ADMIN_BAD_REQUEST", "`user` needs `org`");
  const { facts: extra, errors } = normalizeFacts({
    ...(q.request_country ? { "request.country": q.request_country } : {}),
    ...(q.facts ?? {}),
  });
  if (errors.length > 0) throw new ClearanceError(errors[0]!.code, errors.map((e) => e.message).join("; "));
  return { ...facts, ...extra };
}

function modelOf(policy: CompiledPolicy, model: string): void {
  if (!policy.models.has(model)) {
    throw new ClearanceError(
      "DECIDE_UNKNOWN_MODEL",
      `unknown model \`${model}\`; the policy declares ${[...policy.models.keys()].map((m) => `\`${m}\``).join(", ")}`,
    );
  }
}

export function registerOperationsRoutes(api: FastifyInstance, ctx: AdminContext): void {
  api.post<{ Body: PrincipalQuery & { at?: string } }>(
    "/decide",
    {
      config: READ,
      schema: {
        tags: ["decisions"],
        summary: "what-if: the decision, with its reasons, for a principal, model and instant",
        body: {
          type: "object",
          additionalProperties: false,
          required: ["model"],
          properties: {
            ...principalProps,
            at: { type: "string", description: "YYYY-MM-DD or RFC 3339; default now" },
            facts: { type: "object", description: "attribute → value, on top of the directory's" },
          },
        },
      },
    },
    async (req) => {
      const q = req.body;
      const { policy, source } = await policyFor(ctx.store, q);
      modelOf(policy, q.model);
      const facts = await factsOf(ctx.store, q);
      const at = q.at === undefined ? ctx.now() : parseInstant(q.at);
      if (at === undefined)
        throw new ClearanceError(
          "DECIDE_BAD_INSTANT",
          `\`at\` must be YYYY-MM-DD or an RFC 3339 datetime, got \`${q.at}\``,
        );
      const decision = decide(policy, { model: q.model, facts }, at);
      return { policy: source, facts, decision, explanation: explainDecision(policy, decision) };
    },
  );

  api.get<{ Querystring: PrincipalQuery }>(
    "/timeline",
    {
      config: READ,
      schema: {
        tags: ["decisions"],
        summary: "the decision over time for a principal and model: one entry per change",
        querystring: {
          type: "object",
          additionalProperties: false,
          required: ["model"],
          properties: principalProps,
        },
      },
    },
    async (req) => {
      const q = req.query;
      const { policy, source } = await policyFor(ctx.store, q);
      modelOf(policy, q.model);
      const facts = await factsOf(ctx.store, q);
      return {
        policy: source,
        facts,
        entries: timeline(policy, { model: q.model, facts }).map((e) => ({
          from: e.from === null ? null : new Date(e.from).toISOString(),
          decision: e.decision,
          explanation: explainDecision(policy, e.decision),
        })),
      };
    },
  );

  registerTokenRoutes(api, ctx);

  api.get<{ Querystring: { org?: string; state?: "pending" | "delivered" | "failed" | "no_webhook" } }>(
    "/notices",
    {
      config: READ,
      schema: {
        tags: ["notices"],
        summary: "notices sent to orgs losing access, with their delivery state",
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            org: ID,
            state: { type: "string", enum: ["pending", "delivered", "failed", "no_webhook"] },
          },
        },
      },
    },
    async (req) => ({
      items: (
        await ctx.store.listNotices({
          ...(req.query.org ? { orgId: req.query.org } : {}),
          ...(req.query.state ? { state: req.query.state } : {}),
        })
      ).map(({ payload, ...n }) => ({ ...n, payload: JSON.parse(payload) as unknown })),
    }),
  );

  api.get<{ Params: { id: string } }>(
    "/notices/:id/deliveries",
    {
      config: READ,
      schema: { tags: ["notices"], summary: "the webhook delivery log of a notice", params: idParams("id") },
    },
    async (req) => {
      req.admin.target = `notice:${req.params.id}`;
      if (!(await ctx.store.getNotice(req.params.id)))
        throw new AdminError("ADMIN_NOT_FOUND", `no notice \`${req.params.id}\``);
      return { items: await ctx.store.listWebhookDeliveries(req.params.id) };
    },
  );

  api.get<{
    Querystring: { org?: string; model?: string; from?: string; to?: string; limit?: number; after?: string };
  }>(
    "/audit",
    {
      config: AUDITOR,
      schema: {
        tags: ["audit"],
        summary: "audit records (decisions and admin events), oldest first",
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            org: ID,
            model: { type: "string" },
            from: { type: "string" },
            to: { type: "string" },
            limit: { type: "integer", minimum: 1, maximum: 1000, default: 100 },
            after: {
              type: "string",
              pattern: "^[^|]+\\|\\d+$",
              description: "the `next` of the previous page",
            },
          },
        },
      },
    },
    async (req) => {
      const { limit = 100, after, ...filter } = req.query;
      const [time, id] = after?.split("|") ?? [];
      const page = await ctx.store.queryAudit(
        filter,
        limit,
        time && id ? { time, id: Number(id) } : undefined,
      );
      return {
        items: page.rows.map((r) => ({
          chain: r.node,
          seq: r.seq,
          hash: r.hash,
          record: JSON.parse(r.record) as unknown,
        })),
        ...(page.next ? { next: `${page.next.time}|${page.next.id}` } : {}),
      };
    },
  );
}

function registerTokenRoutes(api: FastifyInstance, ctx: AdminContext): void {
  const tags = ["tokens"];
  api.get(
    "/tokens",
    { config: ADMIN, schema: { tags, summary: "admin tokens (never the token or its hash)" } },
    async () => ({
      items: (await ctx.store.listAdminTokens()).map(publicToken),
    }),
  );

  api.post<{ Body: { name: string; role: string } }>(
    "/tokens",
    {
      config: ADMIN,
      schema: {
        tags,
        summary: "issue an admin token; the token is in this response only",
        body: {
          type: "object",
          additionalProperties: false,
          required: ["name", "role"],
          properties: {
            name: { type: "string", minLength: 1, maxLength: 200, description: "the person holding it" },
            role: { type: "string", enum: [...ALL_ROLES] },
          },
        },
      },
    },
    async (req: FastifyRequest<{ Body: { name: string; role: string } }>, reply) => {
      const actor = actorOf(req);
      const { token, record } = await mutate(
        ctx,
        req,
        async (tx) => {
          const issued = await issueAdminToken(tx, { ...req.body, createdBy: actor.id, at: ctx.now() });
          req.admin.target = `token:${issued.record.id}`;
          return issued;
        },
        201,
      );
      reply.code(201);
      return { ...publicToken(record), token };
    },
  );

  api.delete<{ Params: { id: string } }>(
    "/tokens/:id",
    { config: ADMIN, schema: { tags, summary: "revoke an admin token", params: idParams("id") } },
    async (req) => {
      req.admin.target = `token:${req.params.id}`;
      return publicToken(
        await mutate(ctx, req, (tx) => tx.revokeAdminToken(req.params.id, new Date(ctx.now()).toISOString())),
      );
    },
  );
}
