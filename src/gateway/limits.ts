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

/**
 * Reads the token usage a server-sent event stream reports, as it passes: OpenAI's final chunk
 * `usage.total_tokens` (sent when the caller asked for `stream_options.include_usage`), Anthropic's
 * `message_start` input tokens plus the last `message_delta` output tokens (cumulative).
 */
export class StreamUsage {
  private tail = "";
  private total = 0;
  private input = 0;
  private output = 0;
  private readonly decoder = new TextDecoder();

  push(chunk: Uint8Array): void {
    const text = this.tail + this.decoder.decode(chunk, { stream: true });
    const lines = text.split("\n");
    this.tail = lines.pop() ?? "";
    for (const line of lines) if (line.includes('"usage"')) this.read(line);
  }

  /** Tokens reported so far (including a last line without its newline). */
  tokens(): number {
    if (this.tail.includes('"usage"')) this.read(this.tail);
    this.tail = "";
    return this.total || this.input + this.output;
  }

  private read(line: string): void {
    const data = line.startsWith("data:") ? line.slice(5).trim() : undefined;
    if (!data) return;
    let event: JsonObject;
    try {
      event = JSON.parse(data) as JsonObject;
    } catch {
      return;
    }
    const message = event.message as JsonObject | undefined;
    if (event.type === "message_start" && message && typeof message === "object") {
      const usage = message.usage as JsonObject | undefined;
      if (typeof usage?.input_tokens === "number") this.input = usage.input_tokens;
    } else if (event.type === "message_delta") {
      const usage = event.usage as JsonObject | undefined;
      if (typeof usage?.output_tokens === "number") this.output = usage.output_tokens;
    } else if (typeof (event.usage as JsonObject | undefined)?.total_tokens === "number") {
      this.total = usedTokens(event);
    }
  }
}

/** A StreamUsage when the caller's org has a token limit to account against; else undefined. */
export function streamMeter(rt: GatewayRuntime, ctx: RequestContext): StreamUsage | undefined {
  return rt.limiter && ctx.caller?.org.settings?.tokensPerMinute !== undefined
    ? new StreamUsage()
    : undefined;
}

/** Adds what a stream reported using to its org's window. */
export function accountStream(rt: GatewayRuntime, ctx: RequestContext, meter: StreamUsage | undefined): void {
  const org = ctx.caller?.org;
  const tokens = meter?.tokens() ?? 0;
  if (rt.limiter && org && tokens > 0) void rt.limiter.addTokens(org.id, tokens);
}
