import type { FastifyError, FastifyInstance } from "fastify";
import { AuditUnavailableError } from "../store/audit-port.ts";
import { isStoreError } from "../store/errors.ts";
import { errorBody, GatewayError, type GatewayErrorCode, isGatewayError } from "./errors.ts";
import type { GatewayRuntime } from "./runtime.ts";
import { surfaceOf } from "./surface.ts";

/** Records each route's methods as it is added, so a wrong method can get 405 with `Allow`. */
export function trackRoutes(app: FastifyInstance): Map<string, string[]> {
  const knownPaths = new Map<string, string[]>();
  app.addHook("onRoute", (r) => {
    const methods = Array.isArray(r.method) ? r.method : [r.method];
    knownPaths.set(r.url, [...(knownPaths.get(r.url) ?? []), ...methods]);
  });
  return knownPaths;
}

/**
 * The one place errors become responses: in the caller's API format, with a stable code and a
 * message for a person; never a stack trace (unexpected errors are logged with the decision id).
 */
export function installErrorHandlers(
  app: FastifyInstance,
  rt: GatewayRuntime,
  knownPaths: ReadonlyMap<string, string[]>,
): void {
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split("?")[0]!;
    const allowed = knownPaths.get(path)?.filter((m) => m !== "HEAD");
    const surface = surfaceOf(req);
    if (allowed && allowed.length > 0) {
      reply.header("allow", allowed.join(", "));
      return reply
        .code(405)
        .send(
          errorBody(
            surface,
            "method_not_allowed",
            `\`${req.method}\` is not allowed on \`${path}\`; use ${allowed.join(" or ")}`,
          ),
        );
    }
    return reply
      .code(404)
      .send(errorBody(surface, "not_found", `no such endpoint \`${req.method} ${path}\``));
  });

  app.setErrorHandler((err: FastifyError | GatewayError | Error, req, reply) => {
    const surface = req.clearance?.surface ?? surfaceOf(req);
    let code: GatewayErrorCode;
    let message: string;
    if (isGatewayError(err)) {
      code = err.code;
      message = err.message;
      reply.headers(err.headers);
      if (code === "internal_error" || code === "upstream_error" || code === "upstream_timeout")
        req.log.warn({ decision_id: req.clearance?.decisionId, code }, err.message);
    } else if (err instanceof AuditUnavailableError) {
      code = "service_unavailable";
      message = "the audit log cannot record this request, so it is not served; try again shortly";
      req.log.error({ decision_id: req.clearance?.decisionId, err: err.message }, "audit unavailable");
    } else if (isStoreError(err, "STORE_UNAVAILABLE")) {
      code = "service_unavailable";
      message = "the directory store does not answer, so the caller cannot be identified; try again shortly";
      req.log.error({ decision_id: req.clearance?.decisionId, err: err.message }, "store unavailable");
    } else {
      const fe = err as FastifyError;
      switch (fe.code) {
        case "FST_ERR_CTP_BODY_TOO_LARGE":
          code = "request_too_large";
          message = `the body is larger than the limit of ${rt.config.bodyLimit} bytes`;
          break;
        case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
          code = "unsupported_media_type";
          message = "the body must be JSON";
          break;
        default:
          if (fe.statusCode !== undefined && fe.statusCode >= 400 && fe.statusCode < 500) {
            code =
              fe.statusCode === 408
                ? "request_timeout"
                : fe.statusCode === 413
                  ? "request_too_large"
                  : "invalid_request";
            message = `the request is not valid (${fe.code ?? fe.statusCode})`;
          } else {
            code = "internal_error";
            message = `internal error; quote decision id ${req.clearance?.decisionId ?? req.id} to the operator`;
            req.log.error({ err, decision_id: req.clearance?.decisionId }, "unexpected error");
          }
      }
    }
    const status = isGatewayError(err) ? err.status : new GatewayError(code, message).status;
    return reply.code(status).send(errorBody(surface, code, message));
  });
}
