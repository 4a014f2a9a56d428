import Fastify, { type FastifyError, type FastifyInstance } from "fastify";
import { isClearanceError } from "../policy/index.ts";
import { isStoreError, type Store } from "../store/index.ts";
import { Mutex } from "../store/sql.ts";
import { type AdminContext, auditAlone } from "./context.ts";
import { ADMIN_CODES, AdminError, type AdminErrorBody } from "./errors.ts";
import { NoticeDispatcher, type WebhookOptions } from "./notices.ts";
import { collectOpenApi } from "./openapi.ts";
import { registerDirectoryRoutes } from "./routes/directory.ts";
import { registerLifecycleRoutes } from "./routes/lifecycle.ts";
import { registerOperationsRoutes } from "./routes/operations.ts";
import { registerReportRoutes } from "./routes/reports.ts";
import { hashAdminToken, roleMessage } from "./tokens.ts";

export interface AdminAppOptions {
  store: Store;
  /** The clock (epoch ms); tests inject one. */
  now?: () => number;
  /** The audit chain admin events go to; one per admin process (default `admin`). */
  auditNode?: string;
  /** Largest accepted request body in bytes (default 1 MiB). */
  bodyLimit?: number;
  webhooks?: WebhookOptions;
  /** Fastify's pino logger (default off). */
  logger?: boolean;
}

export const ADMIN_PREFIX = "/admin/v1";

declare module "fastify" {
  interface FastifyInstance {
    /** Webhook deliveries of notices; `await app.notices.idle()` waits for them. */
    notices: NoticeDispatcher;
  }
}

/**
 * The admin API as a self-contained Fastify app: routes under /admin/v1, admin tokens with roles,
 * every request written to the audit log (a change together with its event, in one transaction),
 * one error shape `{ error: { code, message } }`, and the OpenAPI document built from the routes.
 */
export async function buildAdminApp(options: AdminAppOptions): Promise<FastifyInstance> {
  const now = options.now ?? Date.now;
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    // Unknown fields are refused (400), not silently dropped.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, useDefaults: true } },
  });
  const notices = new NoticeDispatcher(options.store, now, options.webhooks, (m) => app.log.warn(m));
  const ctx: AdminContext = {
    store: options.store,
    now,
    node: options.auditNode ?? "admin",
    lock: new Mutex(),
    notices,
  };
  app.decorate("notices", notices);
  app.decorateRequest("admin", null as never);
  const openapi = collectOpenApi(app, ADMIN_PREFIX);

  app.addHook("onRequest", async (req) => {
    req.admin = {};
    const roles = req.routeOptions.config.roles;
    if (!roles) return;
    const header = req.headers.authorization;
    const token = header?.startsWith("Bearer ") ? header.slice(7).trim() : undefined;
    if (!token)
      throw new AdminError("ADMIN_UNAUTHENTICATED", "send an admin token as `Authorization: Bearer cla_…`");
    const found = await options.store.findAdminTokenByHash(hashAdminToken(token));
    if (!found || found.revokedAt)
      throw new AdminError("ADMIN_UNAUTHENTICATED", "this admin token is unknown or revoked");
    req.admin.token = found;
    if (!roles.includes(found.role)) {
      throw new AdminError(
        "ADMIN_FORBIDDEN",
        roleMessage(`${req.method} ${req.routeOptions.url}`, roles, found.role),
      );
    }
  });

  // Every request that was not written with its change is written now, before the response leaves.
  app.addHook("onSend", async (req, reply, payload) => {
    if (req.admin?.audited) return payload;
    // The public OpenAPI document is not an admin action; everything else is, refusals included.
    if (!req.routeOptions.config?.roles && reply.statusCode < 400) return payload;
    try {
      await auditAlone(ctx, req, reply);
      return payload;
    } catch (err) {
      req.log.error({ err }, "admin audit write failed");
      reply.code(503).header("content-type", "application/json; charset=utf-8");
      const body: AdminErrorBody = {
        error: {
          code: "ADMIN_UNAVAILABLE",
          message: "the audit log could not record this request; nothing was done",
        },
      };
      return JSON.stringify(body);
    }
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    const { status, body } = toErrorBody(err);
    if (status >= 500) req.log.error({ err }, "admin request failed");
    req.admin ??= {};
    req.admin.errorCode = body.error.code;
    return reply.code(status).send(body);
  });

  app.setNotFoundHandler((req, reply) => {
    req.admin ??= {};
    req.admin.errorCode = "ADMIN_NOT_FOUND";
    const body: AdminErrorBody = {
      error: {
        code: "ADMIN_NOT_FOUND",
        message: `no route \`${req.method} ${req.url.split("?")[0]}\`; see ${ADMIN_PREFIX}/openapi.json`,
      },
    };
    return reply.code(404).send(body);
  });

  await app.register(
    async (api) => {
      registerDirectoryRoutes(api, ctx);
      registerLifecycleRoutes(api, ctx);
      registerOperationsRoutes(api, ctx);
      registerReportRoutes(api, ctx);
      api.get("/openapi.json", { schema: { summary: "this document", hide: true } }, async () => openapi());
    },
    { prefix: ADMIN_PREFIX },
  );
  app.addHook("onClose", async () => {
    await notices.close();
  });
  return app;
}

/** Any error → status and `{ error: { code, message } }`; never a stack trace. */
export function toErrorBody(err: unknown): { status: number; body: AdminErrorBody } {
  const make = (status: number, code: string, message: string, diagnostics?: string[]) => ({
    status,
    body: { error: { code, message, ...(diagnostics?.length ? { diagnostics } : {}) } },
  });
  if (err instanceof AdminError) {
    const lines = err.diagnostics.map(
      (d) =>
        `${[d.file, d.line, d.column].filter((x) => x !== undefined).join(":")}: ${d.severity} ${d.code} ${d.message}`,
    );
    return make(err.status, err.code, err.message, lines);
  }
  if (isStoreError(err)) {
    if (err.code === "STORE_NOT_FOUND") return make(404, "ADMIN_NOT_FOUND", err.message);
    if (err.code === "STORE_CONFLICT") return make(409, "ADMIN_CONFLICT", err.message);
    if (err.code === "STORE_INVALID") return make(400, "ADMIN_BAD_REQUEST", err.message);
    return make(503, "ADMIN_UNAVAILABLE", "the store could not be reached; nothing was written");
  }
  if (isClearanceError(err)) return make(422, err.code, err.message);
  const f = err as FastifyError;
  if (f.validation) {
    const v = f.validation[0];
    const where = `${f.validationContext ?? "body"}${v?.instancePath ? v.instancePath.replaceAll("/", ".") : ""}`;
    const extra =
      v?.keyword === "additionalProperties"
        ? ` \`${String((v.params as { additionalProperty?: string }).additionalProperty)}\``
        : "";
    return make(400, "ADMIN_BAD_REQUEST", `${where} ${v?.message ?? "is invalid"}${extra}`);
  }
  switch (f.code) {
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return make(400, "ADMIN_MALFORMED_JSON", "the body is not well-formed JSON");
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return make(400, "ADMIN_MALFORMED_JSON", "the body is empty but `content-type` says JSON");
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return make(413, "ADMIN_BODY_TOO_LARGE", "the body is larger than this server accepts");
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return make(415, "ADMIN_UNSUPPORTED_MEDIA_TYPE", "send the body as `application/json`");
  }
  if (typeof f.statusCode === "number" && f.statusCode >= 400 && f.statusCode < 500)
    return make(f.statusCode, "ADMIN_BAD_REQUEST", f.message.split("\n")[0] ?? "bad request");
  return make(500, "ADMIN_INTERNAL", ADMIN_CODES.ADMIN_INTERNAL.meaning);
}
