import type { FastifyInstance } from "fastify";
import { parseInstant } from "../../policy/index.ts";
import type { Draft } from "../../store/index.ts";
import { type AdminContext, ALL_ROLES } from "../context.ts";
import { AdminError } from "../errors.ts";
import { history, storyLine } from "../history.ts";
import {
  approveDraft,
  computeImpact,
  createDraft,
  draftEtag,
  editDraft,
  publishDraft,
  rollback,
  validateDraft,
} from "../lifecycle.ts";
import { ID, idParams } from "./schemas.ts";

const READ = { roles: ALL_ROLES };
const EDITOR = { roles: ["editor"] as const };
const EDITOR_OR_APPROVER = { roles: ["editor", "approver"] as const };
const APPROVER = { roles: ["approver"] as const };
const MAX_DOCUMENT = 512 * 1024;

/** A draft as listed: its impact summary is fetched separately (it can be large). */
function view(d: Draft) {
  const { impact, ...rest } = d;
  return { ...rest, hasImpact: impact !== null };
}

export function parseAtParam(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const at = parseInstant(text);
  if (at === undefined)
    throw new AdminError(
      "ADMIN_BAD_REQUEST",
      `\`at\` must be YYYY-MM-DD or an RFC 3339 datetime, got \`${text}\``,
    );
  return at;
}

export function registerLifecycleRoutes(api: FastifyInstance, ctx: AdminContext): void {
  const tags = ["lifecycle"];
  const draftParams = idParams("id");

  api.get("/drafts", { config: READ, schema: { tags, summary: "every draft, oldest first" } }, async () => ({
    items: (await ctx.store.listDrafts()).map(view),
  }));

  api.post<{ Body: { title: string; document: string } }>(
    "/drafts",
    {
      config: EDITOR,
      schema: {
        tags,
        summary: "write a draft: a whole policy document (YAML or JSON text) to replace the published one",
        body: {
          type: "object",
          additionalProperties: false,
          required: ["title", "document"],
          properties: {
            title: { type: "string", minLength: 1, maxLength: 200 },
            document: { type: "string", minLength: 1, maxLength: MAX_DOCUMENT },
          },
        },
      },
    },
    async (req, reply) => {
      const draft = await createDraft(ctx, req, req.body.title, req.body.document);
      reply.code(201).header("etag", draftEtag(draft));
      return view(draft);
    },
  );

  api.get<{ Params: { id: string } }>(
    "/drafts/:id",
    {
      config: READ,
      schema: { tags, summary: "one draft, with its ETag (its revision)", params: draftParams },
    },
    async (req, reply) => {
      req.admin.target = `draft:${req.params.id}`;
      const draft = await ctx.store.getDraft(req.params.id);
      if (!draft) throw new AdminError("ADMIN_NOT_FOUND", `no draft \`${req.params.id}\``);
      reply.header("etag", draftEtag(draft));
      return view(draft);
    },
  );

  api.put<{ Params: { id: string }; Body: { title?: string; document: string } }>(
    "/drafts/:id",
    {
      config: EDITOR,
      schema: {
        tags,
        summary: "replace a draft's document (If-Match: its ETag); it goes back to `draft`",
        params: draftParams,
        body: {
          type: "object",
          additionalProperties: false,
          required: ["document"],
          properties: {
            title: { type: "string", minLength: 1, maxLength: 200 },
            document: { type: "string", minLength: 1, maxLength: MAX_DOCUMENT },
          },
        },
      },
    },
    async (req, reply) => {
      const draft = await editDraft(ctx, req, req.params.id, req.body.title, req.body.document);
      reply.header("etag", draftEtag(draft));
      return view(draft);
    },
  );

  api.post<{ Params: { id: string } }>(
    "/drafts/:id/validate",
    {
      config: EDITOR_OR_APPROVER,
      schema: { tags, summary: "validate; 422 lists every error as file:line:column", params: draftParams },
    },
    async (req, reply) => {
      const draft = await validateDraft(ctx, req, req.params.id);
      reply.header("etag", draftEtag(draft));
      return view(draft);
    },
  );

  api.post<{ Params: { id: string }; Querystring: { at?: string } }>(
    "/drafts/:id/impact",
    {
      config: EDITOR_OR_APPROVER,
      schema: {
        tags,
        summary:
          "compute who gains and loses access, against the latest published version, on the store's directory",
        params: draftParams,
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            at: { type: "string", description: "instant; default: when the draft takes effect" },
          },
        },
      },
    },
    async (req, reply) => {
      const { draft, impact } = await computeImpact(ctx, req, req.params.id, parseAtParam(req.query.at));
      reply.header("etag", draftEtag(draft));
      return { draft: view(draft), impact };
    },
  );

  api.get<{ Params: { id: string } }>(
    "/drafts/:id/impact",
    { config: READ, schema: { tags, summary: "the impact last computed for a draft", params: draftParams } },
    async (req) => {
      req.admin.target = `draft:${req.params.id}`;
      const draft = await ctx.store.getDraft(req.params.id);
      if (!draft) throw new AdminError("ADMIN_NOT_FOUND", `no draft \`${req.params.id}\``);
      if (!draft.impact)
        throw new AdminError(
          "ADMIN_DRAFT_STATE",
          `draft \`${draft.id}\` has no impact computed yet; POST to its /impact`,
        );
      return JSON.parse(draft.impact) as unknown;
    },
  );

  api.post<{ Params: { id: string }; Body: { comment?: string } | undefined }>(
    "/drafts/:id/approve",
    {
      config: APPROVER,
      schema: {
        tags,
        summary: "approve (a second person: never the author)",
        params: draftParams,
        body: {
          type: ["object", "null"],
          additionalProperties: false,
          properties: { comment: { type: "string", maxLength: 2000 } },
        },
      },
    },
    async (req, reply) => {
      const draft = await approveDraft(ctx, req, req.params.id, req.body?.comment);
      reply.header("etag", draftEtag(draft));
      return view(draft);
    },
  );

  api.post<{ Params: { id: string } }>(
    "/drafts/:id/publish",
    {
      config: APPROVER,
      schema: {
        tags,
        summary: "publish an approved draft as a new immutable version; notify the orgs losing access",
        params: draftParams,
      },
    },
    async (req) => {
      const result = await publishDraft(ctx, req, req.params.id);
      return { ...result, draft: view(result.draft) };
    },
  );

  api.get(
    "/policy/versions",
    { config: READ, schema: { tags, summary: "published versions, oldest first" } },
    async () => ({
      items: await ctx.store.listPolicyVersions(),
    }),
  );

  api.get<{ Params: { version: number } }>(
    "/policy/versions/:version",
    {
      config: READ,
      schema: {
        tags,
        summary: "one published version with its document",
        params: {
          type: "object",
          required: ["version"],
          properties: { version: { type: "integer", minimum: 1 } },
        },
      },
    },
    async (req) => {
      const v = await ctx.store.getPolicyVersion(req.params.version);
      if (!v) throw new AdminError("ADMIN_NOT_FOUND", `no policy version ${req.params.version}`);
      return v;
    },
  );

  api.post<{ Body: { version: number; reason?: string } }>(
    "/policy/rollback",
    {
      config: APPROVER,
      schema: {
        tags,
        summary: "publish an earlier version's document as a new version",
        body: {
          type: "object",
          additionalProperties: false,
          required: ["version"],
          properties: {
            version: { type: "integer", minimum: 1 },
            reason: { type: "string", maxLength: 2000 },
          },
        },
      },
    },
    async (req) => rollback(ctx, req, req.body.version, req.body.reason),
  );

  api.get<{ Querystring: { directive?: string; draft?: string } }>(
    "/history",
    {
      config: READ,
      schema: {
        tags,
        summary: "the lifecycle as a story: every step, who and when; for one directive or draft",
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: { directive: ID, draft: ID },
        },
      },
    },
    async (req) => {
      const events = await history(ctx.store, req.query);
      return { items: events.map((e) => ({ ...e, story: storyLine(e) })) };
    },
  );
}
