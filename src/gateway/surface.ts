import type { FastifyRequest } from "fastify";
import type { Surface } from "./errors.ts";

/** The surface whose error format a request expects: Anthropic for its paths or when it sends `anthropic-version`. */
export function surfaceOf(req: FastifyRequest): Surface {
  const configured = req.routeOptions?.config?.surface;
  if (configured) return configured;
  return req.headers["anthropic-version"] !== undefined || req.url.startsWith("/v1/messages")
    ? "anthropic"
    : "openai";
}
