import type { FastifyInstance, FastifyReply } from "fastify";
import type { Org, User } from "../../directory/types.ts";
import { normalizeFacts } from "../../policy/index.ts";
import { generateApiKey } from "../../store/index.ts";
import { type AdminContext, ALL_ROLES, checkIfMatch, etagOf, mutate } from "../context.ts";
import { AdminError } from "../errors.ts";
import { ID, idParams, page, pageQuery } from "./schemas.ts";

const READ = { roles: ALL_ROLES };
const ADMIN = { roles: ["admin"] as const };

const settingsSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    fallback: { type: "boolean" },
    requestsPerMinute: { type: "integer", minimum: 1 },
    tokensPerMinute: { type: "integer", minimum: 1 },
    webhookUrl: { type: "string", pattern: "^https?://", maxLength: 2000 },
    webhookSecret: {
      type: "string",
      minLength: 16,
      maxLength: 200,
      description: "write-only; listed as `***`",
    },
  },
};
const orgBody = {
  type: "object",
  additionalProperties: false,
  properties: {
    name: { type: "string", maxLength: 200 },
    country: { type: "string", description: "ISO 3166-1 alpha-2" },
    sector: { type: "string", maxLength: 100 },
    verified: { type: "boolean" },
    settings: settingsSchema,
  },
};
const userBody = {
  type: "object",
  additionalProperties: false,
  properties: {
    nationality: {
      type: "array",
      items: { type: "string" },
      description: "ISO alpha-2 codes; [] known none; absent unknown",
    },
    permanent_residency: { type: "array", items: { type: "string" } },
    residence: { type: "string" },
  },
};

/** What a listing shows of an org: the webhook secret never leaves. */
export function publicOrg(org: Org): Org {
  if (!org.settings?.webhookSecret) return org;
  return { ...org, settings: { ...org.settings, webhookSecret: "***" } };
}

function facts(raw: Record<string, unknown>) {
  const { facts: f, errors } = normalizeFacts(raw);
  if (errors.length > 0) throw new AdminError("ADMIN_BAD_REQUEST", errors.map((e) => e.message).join("; "));
  return f;
}

function withEtag<T>(reply: FastifyReply, stored: unknown, body: T): T {
  reply.header("etag", etagOf(stored));
  return body;
}

export function registerDirectoryRoutes(api: FastifyInstance, ctx: AdminContext): void {
  const tags = ["directory"];
  api.get<{
    Querystring: { limit?: number; after?: string; country?: string; sector?: string; cohort?: string };
  }>(
    "/orgs",
    {
      config: READ,
      schema: {
        tags,
        summary: "organisations, by id, in pages; filters by country, sector, cohort",
        querystring: pageQuery({ country: { type: "string" }, sector: { type: "string" }, cohort: ID }),
      },
    },
    async (req) => {
      const { limit = 100, after, ...filter } = req.query;
      const orgs = await ctx.store.pageOrgs(filter, limit, after);
      return page(orgs.map(publicOrg), limit, (o) => o.id);
    },
  );

  api.get<{ Params: { org: string } }>(
    "/orgs/:org",
    { config: READ, schema: { tags, summary: "one organisation, with its ETag", params: idParams("org") } },
    async (req, reply) => {
      req.admin.target = `org:${req.params.org}`;
      const org = await ctx.store.getOrg(req.params.org);
      if (!org) throw new AdminError("ADMIN_NOT_FOUND", `no organisation \`${req.params.org}\``);
      return withEtag(reply, org, publicOrg(org));
    },
  );

  api.put<{ Params: { org: string }; Body: Omit<Org, "id" | "cohorts"> }>(
    "/orgs/:org",
    {
      config: ADMIN,
      schema: {
        tags,
        summary: "create or replace an organisation (If-Match for optimistic concurrency)",
        params: idParams("org"),
        body: orgBody,
      },
    },
    async (req, reply) => {
      const id = req.params.org;
      req.admin.target = `org:${id}`;
      req.admin.org = id;
      const f = facts({ "org.country": req.body.country });
      const org: Org = { id, ...req.body };
      if (f["org.country"] !== undefined) org.country = f["org.country"] as string;
      let created = false;
      const stored = await mutate(ctx, req, async (tx) => {
        const current = await tx.getOrg(id);
        checkIfMatch(req, current, `organisation \`${id}\``);
        created = current === undefined;
        // A replacement keeps a secret the caller did not resend (it is never shown to them).
        const secret = current?.settings?.webhookSecret;
        if (secret && org.settings?.webhookSecret === undefined && org.settings)
          org.settings.webhookSecret = secret;
        await tx.upsertOrg(org);
        return (await tx.getOrg(id))!;
      });
      reply.code(created ? 201 : 200);
      return withEtag(reply, stored, publicOrg(stored));
    },
  );

  api.delete<{ Params: { org: string } }>(
    "/orgs/:org",
    {
      config: ADMIN,
      schema: {
        tags,
        summary: "remove an organisation without users, keys or memberships (If-Match)",
        params: idParams("org"),
      },
    },
    async (req, reply) => {
      const id = req.params.org;
      req.admin.target = `org:${id}`;
      req.admin.org = id;
      await mutate(
        ctx,
        req,
        async (tx) => {
          const current = await tx.getOrg(id);
          if (!current) throw new AdminError("ADMIN_NOT_FOUND", `no organisation \`${id}\``);
          checkIfMatch(req, current, `organisation \`${id}\``);
          await tx.deleteOrg(id);
        },
        204,
      );
      return reply.code(204).send();
    },
  );

  api.get<{ Params: { org: string }; Querystring: { limit?: number; after?: string } }>(
    "/orgs/:org/users",
    {
      config: READ,
      schema: {
        tags,
        summary: "an organisation's users, by id, in pages",
        params: idParams("org"),
        querystring: pageQuery({}),
      },
    },
    async (req) => {
      req.admin.target = `org:${req.params.org}`;
      if (!(await ctx.store.getOrg(req.params.org)))
        throw new AdminError("ADMIN_NOT_FOUND", `no organisation \`${req.params.org}\``);
      const limit = req.query.limit ?? 100;
      return page(await ctx.store.pageUsers(req.params.org, limit, req.query.after), limit, (u) => u.id);
    },
  );

  api.get<{ Params: { org: string; user: string } }>(
    "/orgs/:org/users/:user",
    { config: READ, schema: { tags, summary: "one user, with its ETag", params: idParams("org", "user") } },
    async (req, reply) => {
      req.admin.target = `user:${req.params.org}/${req.params.user}`;
      const user = await ctx.store.getUser(req.params.org, req.params.user);
      if (!user)
        throw new AdminError(
          "ADMIN_NOT_FOUND",
          `organisation \`${req.params.org}\` has no user \`${req.params.user}\``,
        );
      return withEtag(reply, user, user);
    },
  );

  api.put<{
    Params: { org: string; user: string };
    Body: { nationality?: string[]; permanent_residency?: string[]; residence?: string };
  }>(
    "/orgs/:org/users/:user",
    {
      config: ADMIN,
      schema: {
        tags,
        summary: "create or replace a user (If-Match)",
        params: idParams("org", "user"),
        body: userBody,
      },
    },
    async (req, reply) => {
      const { org: orgId, user: id } = req.params;
      req.admin.target = `user:${orgId}/${id}`;
      req.admin.org = orgId;
      const f = facts({
        "user.nationality": req.body.nationality,
        "user.permanent_residency": req.body.permanent_residency,
        "user.residence": req.body.residence,
      });
      const user: User = { orgId, id };
      if (f["user.nationality"]) user.nationality = [...(f["user.nationality"] as string[])];
      if (f["user.permanent_residency"])
        user.permanentResidency = [...(f["user.permanent_residency"] as string[])];
      if (f["user.residence"]) user.residence = f["user.residence"] as string;
      let created = false;
      await mutate(ctx, req, async (tx) => {
        if (!(await tx.getOrg(orgId)))
          throw new AdminError("ADMIN_NOT_FOUND", `no organisation \`${orgId}\``);
        const current = await tx.getUser(orgId, id);
        checkIfMatch(req, current, `user \`${orgId}/${id}\``);
        created = current === undefined;
        await tx.upsertUser(user);
      });
      reply.code(created ? 201 : 200);
      return withEtag(reply, user, user);
    },
  );

  api.delete<{ Params: { org: string; user: string } }>(
    "/orgs/:org/users/:user",
    { config: ADMIN, schema: { tags, summary: "remove a user (If-Match)", params: idParams("org", "user") } },
    async (req, reply) => {
      const { org: orgId, user: id } = req.params;
      req.admin.target = `user:${orgId}/${id}`;
      req.admin.org = orgId;
      await mutate(
        ctx,
        req,
        async (tx) => {
          const current = await tx.getUser(orgId, id);
          if (!current)
            throw new AdminError("ADMIN_NOT_FOUND", `organisation \`${orgId}\` has no user \`${id}\``);
          checkIfMatch(req, current, `user \`${orgId}/${id}\``);
          await tx.deleteUser(orgId, id);
        },
        204,
      );
      return reply.code(204).send();
    },
  );

  api.get<{ Querystring: { cohort?: string } }>(
    "/cohorts",
    {
      config: READ,
      schema: {
        tags,
        summary: "cohort memberships recorded in the directory, with since when",
        querystring: { type: "object", additionalProperties: false, properties: { cohort: ID } },
      },
    },
    async (req) => {
      const members = await ctx.store.listCohortMembers(req.query.cohort);
      const byCohort = new Map<string, { org: string; since: string }[]>();
      for (const m of members)
        byCohort.set(m.cohort, [...(byCohort.get(m.cohort) ?? []), { org: m.orgId, since: m.since }]);
      return { items: [...byCohort].map(([cohort, list]) => ({ cohort, members: list })) };
    },
  );

  api.put<{ Params: { cohort: string; org: string }; Body: { since: string } }>(
    "/cohorts/:cohort/members/:org",
    {
      config: ADMIN,
      schema: {
        tags,
        summary: "add an organisation to a cohort since an instant (or move its since)",
        params: idParams("cohort", "org"),
        body: {
          type: "object",
          additionalProperties: false,
          required: ["since"],
          properties: { since: { type: "string", description: "YYYY-MM-DD or RFC 3339" } },
        },
      },
    },
    async (req) => {
      const { cohort, org } = req.params;
      req.admin.target = `cohort:${cohort}`;
      req.admin.org = org;
      await mutate(ctx, req, async (tx) => {
        if (!(await tx.getOrg(org))) throw new AdminError("ADMIN_NOT_FOUND", `no organisation \`${org}\``);
        await tx.addCohortMember({ cohort, orgId: org, since: req.body.since });
      });
      return (await ctx.store.listCohortMembers(cohort)).find((m) => m.orgId === org);
    },
  );

  api.delete<{ Params: { cohort: string; org: string } }>(
    "/cohorts/:cohort/members/:org",
    {
      config: ADMIN,
      schema: { tags, summary: "remove an organisation from a cohort", params: idParams("cohort", "org") },
    },
    async (req, reply) => {
      const { cohort, org } = req.params;
      req.admin.target = `cohort:${cohort}`;
      req.admin.org = org;
      await mutate(
        ctx,
        req,
        async (tx) => {
          if (!(await tx.removeCohortMember(cohort, org)))
            throw new AdminError("ADMIN_NOT_FOUND", `\`${org}\` is not a member of cohort \`${cohort}\``);
        },
        204,
      );
      return reply.code(204).send();
    },
  );

  api.get<{ Params: { org: string } }>(
    "/orgs/:org/keys",
    {
      config: ADMIN,
      schema: { tags, summary: "an organisation's API keys (never the key itself)", params: idParams("org") },
    },
    async (req) => {
      req.admin.target = `org:${req.params.org}`;
      const keys = await ctx.store.listApiKeys(req.params.org);
      return { items: keys.map(({ hash: _h, ...k }) => k) };
    },
  );

  api.post<{ Params: { org: string }; Body: { name?: string } }>(
    "/orgs/:org/keys",
    {
      config: ADMIN,
      schema: {
        tags,
        summary: "create an API key; the key is in this response only",
        params: idParams("org"),
        body: {
          type: "object",
          additionalProperties: false,
          properties: { name: { type: "string", maxLength: 200 } },
        },
      },
    },
    async (req, reply) => {
      const org = req.params.org;
      req.admin.org = org;
      const generated = generateApiKey();
      req.admin.target = `key:${generated.id}`;
      const stored = await mutate(
        ctx,
        req,
        (tx) =>
          tx.createApiKey({
            id: generated.id,
            orgId: org,
            prefix: generated.prefix,
            hash: generated.hash,
            ...(req.body?.name ? { name: req.body.name } : {}),
            createdAt: new Date(ctx.now()).toISOString(),
          }),
        201,
      );
      const { hash: _h, ...key } = stored;
      reply.code(201);
      return { ...key, key: generated.key };
    },
  );

  api.delete<{ Params: { org: string; key: string } }>(
    "/orgs/:org/keys/:key",
    { config: ADMIN, schema: { tags, summary: "revoke an API key", params: idParams("org", "key") } },
    async (req) => {
      req.admin.target = `key:${req.params.key}`;
      req.admin.org = req.params.org;
      const key = await mutate(ctx, req, (tx) =>
        tx.revokeApiKey(req.params.org, req.params.key, new Date(ctx.now()).toISOString()),
      );
      const { hash: _h, ...rest } = key;
      return rest;
    },
  );
}
