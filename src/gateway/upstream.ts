import { Agent, errors as undiciErrors } from "undici";
import type { Deployment } from "./config.ts";
import { GatewayError } from "./errors.ts";
import type { HeaderBag, JsonObject, Operation, ProviderAdapter } from "./providers/index.ts";

export interface UpstreamResponse {
  deployment: Deployment;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: AsyncIterable<Buffer> & {
    dump(): Promise<void>;
    destroy(err?: Error): void;
    arrayBuffer(): Promise<ArrayBuffer>;
  };
  /** performance.now() when the request was sent to this deployment. */
  sentAt: number;
}

export interface Attempt {
  deployment: string;
  error: string;
}

/** One keep-alive connection pool per upstream origin. */
export function upstreamAgent(connectTimeoutMs: number): Agent {
  return new Agent({
    connections: 256,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    connect: { timeout: connectTimeoutMs },
  });
}

const urls = new WeakMap<Deployment, Map<string, URL>>();
/** Parsed once per deployment and operation. */
function upstreamUrl(provider: ProviderAdapter, deployment: Deployment, op: Operation): URL {
  let byOp = urls.get(deployment);
  if (!byOp) {
    byOp = new Map();
    urls.set(deployment, byOp);
  }
  let url = byOp.get(op.name);
  if (!url) {
    url = new URL(provider.url(deployment, op));
    byOp.set(op.name, url);
  }
  return url;
}

const isTimeout = (err: unknown) =>
  err instanceof undiciErrors.HeadersTimeoutError ||
  err instanceof undiciErrors.ConnectTimeoutError ||
  err instanceof undiciErrors.BodyTimeoutError;

/**
 * Sends the request to each permitted deployment in turn until one answers. Connection errors,
 * timeouts, 5xx and a rejected upstream credential move on to the next; nothing outside
 * `deployments` is ever tried.
 */
export async function sendWithFailover(
  agent: Agent,
  provider: ProviderAdapter,
  op: Operation,
  deployments: readonly Deployment[],
  body: JsonObject,
  raw: Buffer | undefined,
  clientHeaders: HeaderBag,
  signal: AbortSignal,
  attempts: Attempt[],
): Promise<UpstreamResponse> {
  let timedOut = false;
  for (const deployment of deployments) {
    const url = upstreamUrl(provider, deployment, op);
    // The caller's bytes when the model name is the same upstream; otherwise only `model` changes.
    const payload =
      body.model === deployment.upstreamModel
        ? (raw ?? JSON.stringify(body))
        : JSON.stringify({ ...body, model: deployment.upstreamModel });
    const sentAt = performance.now();
    try {
      const res = await agent.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: "POST",
        headers: provider.headers(deployment, clientHeaders),
        body: payload,
        signal,
        headersTimeout: deployment.timeoutMs,
        bodyTimeout: deployment.timeoutMs,
      });
      // 5xx: the deployment failed. 401/407: it refused the gateway's own credential — a
      // configuration fault the caller must not see as theirs (nor the upstream's message about it).
      if (res.statusCode >= 500 || res.statusCode === 401 || res.statusCode === 407) {
        await res.body.dump().catch(() => undefined);
        attempts.push({ deployment: deployment.id, error: `status ${res.statusCode}` });
        timedOut = false;
        continue;
      }
      return { deployment, status: res.statusCode, headers: res.headers, body: res.body, sentAt };
    } catch (err) {
      if (signal.aborted) throw err;
      timedOut = isTimeout(err);
      attempts.push({
        deployment: deployment.id,
        error: timedOut ? "timeout" : ((err as { code?: string }).code ?? (err as Error).message),
      });
    }
  }
  const tried = attempts.map((a) => `${a.deployment} (${a.error})`).join(", ");
  throw new GatewayError(
    timedOut ? "upstream_timeout" : "upstream_error",
    `every permitted deployment failed: ${tried || "none configured"}; try again later`,
  );
}

const PASS_HEADERS = new Set([
  "content-type",
  "request-id",
  "x-request-id",
  "openai-processing-ms",
  "retry-after",
  "cache-control",
]);

/** Upstream response headers worth passing on (content type, request ids, rate limits); no hop-by-hop ones. */
export function passHeaders(headers: UpstreamResponse["headers"]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    if (PASS_HEADERS.has(name) || name.includes("ratelimit")) out[name] = value;
  }
  return out;
}
