import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from "fastify";
import { authenticate } from "./auth.ts";
import { installErrorHandlers, trackRoutes } from "./error-handler.ts";
import { GatewayError, isGatewayError } from "./errors.ts";
import { listModels } from "./models.ts";
import { PROVIDERS } from "./providers/index.ts";
import { proxy, refuse } from "./proxy.ts";
import type { GatewayRuntime, RequestContext } from "./runtime.ts";
import { surfaceOf } from "./surface.ts";

export interface ServerOptions {
  /** pino options or false; credentials are redacted either way. */
  logger?: boolean | Record<string, unknown>;
}

const REDACT = {
  paths: [
    "req.headers.authorization",
    'req.headers["x-api-key"]',
    "headers.authorization",
    'headers["x-api-key"]',
  ],
  censor: "[redacted]",
};

/** Builds the Fastify app for a runtime; the caller listens and closes. */
export function buildServer(rt: GatewayRuntime, options: ServerOptions = {}): FastifyInstance {
  const logger =
    options.logger === false
      ? false
      : {
          level: process.env.CLEARANCE_LOG_LEVEL ?? "info",
          redact: REDACT,
          ...(typeof options.logger === "object" ? options.logger : {}),
        };
  const app = Fastify({
    logger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: rt.config.bodyLimit,
    return503OnClosing: true,
    genReqId: () => randomUUID(),
    serverFactory: (handler) =>
      createServer(
        {
          requestTimeout: rt.config.bodyTimeoutMs,
          headersTimeout: Math.min(10_000, rt.config.bodyTimeoutMs),
          connectionsCheckingInterval: Math.min(1_000, rt.config.bodyTimeoutMs),
          keepAliveTimeout: 65_000,
          maxHeaderSize: 32 * 1024,
        },
        handler,
      ),
  });

  // Bodies are JSON whatever the content type says (curl -d sends form encoding); UTF-8 is checked strictly.
  app.removeAllContentTypeParsers();
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  app.addContentTypeParser("*", { parseAs: "buffer" }, (req, body: Buffer, done) => {
    if (body.length === 0) return done(null, undefined);
    // Kept so that a body whose model needs no renaming goes upstream byte for byte.
    req.rawBody = body;
    let text: string;
    try {
      text = utf8.decode(body);
    } catch {
      return done(new GatewayError("invalid_json", "the body is not valid UTF-8"), undefined);
    }
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      done(
        new GatewayError("invalid_json", `the body is not valid JSON: ${(err as Error).message}`),
        undefined,
      );
    }
  });

  app.decorateRequest("clearance", null as unknown as RequestContext);
  app.addHook("onRequest", (req, reply, done) => {
    const decisionId = req.id;
    const surface = surfaceOf(req);
    req.clearance = {
      decisionId,
      arrival: rt.now(),
      t0: performance.now(),
      surface,
      operation: req.routeOptions?.config?.operation ?? "other",
      ip: null,
      country: undefined,
      caller: undefined,
      user: undefined,
    };
    reply.header("x-clearance-decision-id", decisionId);
    done();
  });

  app.addHook("onResponse", async (req, reply) => {
    const ctx = req.clearance;
    rt.metrics.requests.inc({
      surface: ctx.surface,
      operation: ctx.operation,
      status: String(reply.statusCode),
    });
    if (ctx.caller)
      req.log.info(
        {
          decision_id: ctx.decisionId,
          org: ctx.caller.org.id,
          key: ctx.caller.key.id,
          user: ctx.user,
          status: reply.statusCode,
          served: reply.getHeader("x-clearance-served-model"),
          ms: Math.round((performance.now() - ctx.t0) * 100) / 100,
        },
        `${req.method} ${req.url}`,
      );
  });

  /** Identity before the body is read: a request without a valid key never reaches the parser. */
  const identify = async (req: FastifyRequest, reply: FastifyReply) => {
    const ctx = req.clearance;
    const where = rt.locator.locate(req.socket.remoteAddress, req.headers);
    ctx.ip = where.ip;
    ctx.country = where.country;
    if (!rt.directoryReady) throw new GatewayError("service_unavailable", "the directory is not loaded");
    try {
      ctx.caller = await authenticate(rt.directory, req.headers);
    } catch (err) {
      if (isGatewayError(err)) await refuse(rt, ctx, err, null);
      throw err;
    }
    // Until a published change takes access away, the org's responses say it is coming.
    const notice = rt.notices?.noticesFor(ctx.caller.org.id, ctx.arrival);
    if (notice) reply.header("x-clearance-notice", notice);
  };

  const knownPaths = trackRoutes(app);
  for (const provider of Object.values(PROVIDERS)) {
    for (const op of provider.operations) {
      app.post(
        op.path,
        { onRequest: identify, config: { surface: op.surface, operation: op.name } },
        (req, reply) => proxy(rt, op, req, reply),
      );
    }
  }
  app.get("/v1/models", { onRequest: identify, config: { operation: "models" } }, (req, reply) =>
    listModels(rt, req, reply),
  );

  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_req, reply) => {
    const checks = { policy: rt.policy !== undefined, directory: rt.directoryReady, audit: rt.audit.ready };
    const ready = checks.policy && checks.directory && checks.audit;
    return reply
      .code(ready ? 200 : 503)
      .send({ status: ready ? "ready" : "not ready", checks, policy: rt.policy?.hash ?? null });
  });
  app.get("/metrics", async (_req, reply) => {
    reply.header("content-type", rt.metrics.registry.contentType);
    return rt.metrics.registry.metrics();
  });

  installErrorHandlers(app, rt, knownPaths);

  return app;
}
