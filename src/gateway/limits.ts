import type { Decision } from "../policy/index.ts";
import { GatewayError } from "./errors.ts";
import type { JsonObject } from "./providers/index.ts";
import { refuse } from "./proxy.ts";
import type { GatewayRuntime, RequestContext } from "./runtime.ts";

/**
 * Takes one request from the caller's organisation's shared per-minute budget (Redis). Refused:
 * the refusal is audited, then 429 `rate_limited` with `retry-after` (or 503 when Redis cannot be
 * asked and the limiter fails closed). No limiter, or an org without limits: nothing to check.
 */
export async function takeLimit(
  rt: GatewayRuntime,
  ctx: RequestContext,
  model: string,
  decision: Decision,
): Promise<void> {
  const limiter = rt.limiter;
  const org = ctx.caller?.org;
  if (!limiter || !org) return;
  const rpm = org.settings?.requestsPerMinute;
  const tpm = org.settings?.tokensPerMinute;
  if (rpm === undefined && tpm === undefined) return;
  const r = await limiter.take(org.id, {
    ...(rpm !== undefined ? { requestsPerMinute: rpm } : {}),
    ...(tpm !== undefined ? { tokensPerMinute: tpm } : {}),
  });
  if (r.allowed) return;
  const headers = { "retry-after": String(r.retryAfterSeconds) };
  const err =
    r.limit === "unavailable"
      ? new GatewayError(
          "rate_limit_unavailable",
          "rate limits cannot be checked right now (the limit store does not answer); retry shortly",
          headers,
        )
      : new GatewayError(
          "rate_limited",
          r.limit === "tokens"
            ? `organisation \`${org.id}\` has used its ${tpm} tokens per minute; retry in ${r.retryAfterSeconds} s`
            : `organisation \`${org.id}\` has made its ${rpm} requests per minute; retry in ${r.retryAfterSeconds} s`,
          headers,
        );
  await refuse(rt, ctx, err, model, decision);
}

/** Tokens a JSON response reports using (OpenAI `usage.total_tokens`, Anthropic input + output). */
export function usedTokens(body: unknown): number {
  if (body === null || typeof body !== "object") return 0;
  const usage = (body as JsonObject).usage;
  if (usage === null || typeof usage !== "object" || Array.isArray(usage)) return 0;
  const u = usage as Record<string, unknown>;
  const n = (v: unknown) => (typeof v === "number" && Number.isFinite(v) && v > 0 ? v : 0);
  if (u.total_tokens !== undefined) return n(u.total_tokens);
  return n(u.input_tokens) + n(u.output_tokens) || n(u.prompt_tokens) + n(u.completion_tokens);
}

/** Adds the tokens a response used to its org's window, when the org has a token limit. */
export function accountTokens(rt: GatewayRuntime, ctx: RequestContext, data: Buffer): void {
  const org = ctx.caller?.org;
  if (!rt.limiter || org?.settings?.tokensPerMinute === undefined) return;
  let tokens = 0;
  try {
    tokens = usedTokens(JSON.parse(data.toString("utf8")));
  } catch {
    return;
  }
  if (tokens > 0) void rt.limiter.addTokens(org.id, tokens);
}
