import type { OutgoingHttpHeaders } from "node:http";
import type { FastifyReply, FastifyRequest } from "fastify";
import { factsFor } from "../directory/types.ts";
import type { Decision } from "../policy/index.ts";
import type { AuditDecisionV1, AuditOutcome } from "../store/audit-port.ts";
import { GatewayError, isGatewayError } from "./errors.ts";
import { accountStream, accountTokens, streamMeter, takeLimit } from "./limits.ts";
import { firstHeader, type JsonObject, type Operation, PROVIDERS } from "./providers/index.ts";
import { denialMessage, route } from "./routing.ts";
import type { GatewayRuntime, RequestContext } from "./runtime.ts";
import { renameInJson, SseModelRenamer } from "./stream.ts";
import { type Attempt, passHeaders, sendWithFailover } from "./upstream.ts";

/** Status recorded when the caller went away before the response was complete (nginx's convention). */
const CLIENT_CLOSED = 499;

/** The audit record of a decision, without prompts or completions. */
export function auditRecord(
  ctx: RequestContext,
  model: string | null,
  decision: Decision | undefined,
  errorCode: string | null,
): AuditDecisionV1 {
  return {
    v: 1,
    time: new Date(ctx.arrival).toISOString(),
    decision_id: ctx.decisionId,
    key_id: ctx.caller?.key.id ?? null,
    org: ctx.caller?.org.id ?? null,
    user: ctx.user ?? null,
    request_country: ctx.country ?? null,
    source_ip: ctx.ip,
    requested_model: model,
    decision: decision?.decision ?? "deny",
    reasons: decision?.reasons ?? [],
    unknown: decision?.unknown ?? [],
    policy: decision?.policy ?? null,
    error_code: errorCode,
  };
}

/** Audits a refusal (its record is durable before the caller hears about it), then raises it. */
export async function refuse(
  rt: GatewayRuntime,
  ctx: RequestContext,
  err: GatewayError,
  model: string | null,
  decision?: Decision,
): Promise<never> {
  // The gateway refused, whatever the policy said about the model (e.g. permitted but no deployment).
  const entry = rt.audit.open({ ...auditRecord(ctx, model, decision, err.code), decision: "deny" });
  await entry.commit({
    served_model: null,
    deployment: null,
    upstream_status: null,
    status: err.status,
    added_latency_ms: Math.round((performance.now() - ctx.t0) * 1000) / 1000,
  });
  throw err;
}

function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Decide → route → forward → audit, for one API operation. */
export async function proxy(rt: GatewayRuntime, op: Operation, req: FastifyRequest, reply: FastifyReply) {
  const ctx = req.clearance;
  const caller = ctx.caller;
  if (!caller) throw new GatewayError("internal_error", "request reached the proxy unauthenticated");
  const provider = PROVIDERS[op.surface];
  const body = req.body;
  if (!isObject(body)) throw new GatewayError("invalid_request", "the body must be a JSON object");
  const model = body.model;
  if (typeof model !== "string" || model === "")
    throw new GatewayError("invalid_request", "`model` is required and must be a non-empty string");
  const who = provider.userOf(body);
  if (who.error) throw new GatewayError("invalid_request", who.error);
  const bad = provider.check(op, body);
  if (bad) throw new GatewayError("invalid_request", bad);

  const policy = rt.policy;
  if (!policy) throw new GatewayError("service_unavailable", "no policy is loaded; nothing can be served");
  ctx.user = who.user;
  if (!policy.models.has(model)) {
    await refuse(
      rt,
      ctx,
      new GatewayError("model_not_found", `the model \`${model}\` does not exist`),
      model,
    );
  }
  const user = who.user === undefined ? undefined : await rt.directory.getUser(caller.org.id, who.user);
  const facts = factsFor(caller.org, user, who.user, ctx.country);
  const fallbackAsked =
    caller.org.settings?.fallback === true ||
    firstHeader(req.headers["x-clearance-fallback"])?.toLowerCase() === "allow";
  const r = route(policy, rt.config.deployments, op.surface, model, facts, ctx.arrival, fallbackAsked);
  rt.countDecision(r.decision);

  if (r.kind === "deny") {
    const message = denialMessage(
      policy,
      r,
      { org: caller.org.id, user: who.user, userKnown: user !== undefined },
      op.surface,
      rt.config.deployments,
      fallbackAsked,
    );
    reply.header("x-clearance-decision", "deny");
    return refuse(rt, ctx, new GatewayError(r.code, message), model, r.decision);
  }

  await takeLimit(rt, ctx, model, r.decision);

  const served = r.decision.model;
  const record = auditRecord(ctx, model, r.decision, null);
  if (r.fallback) record.reasons = [...r.requested.reasons, ...r.decision.reasons];
  const entry = rt.audit.open(record);
  let committed = false;
  const commit = (o: Omit<AuditOutcome, "added_latency_ms">, upstreamMs: number) => {
    committed = true;
    const added = Math.max(0, performance.now() - ctx.t0 - upstreamMs);
    rt.metrics.addedSeconds.observe(added / 1000);
    return entry.commit({ ...o, added_latency_ms: Math.round(added * 1000) / 1000 });
  };

  reply.header("x-clearance-decision", "allow");
  reply.header("x-clearance-served-model", served);
  if (r.fallback) reply.header("x-clearance-fallback-from", model);

  const abort = new AbortController();
  const onClose = () => {
    if (!reply.raw.writableFinished) abort.abort();
  };
  reply.raw.on("close", onClose);

  const attempts: Attempt[] = [];
  const forwardBody = served === model ? body : { ...body, model: served };
  let up: Awaited<ReturnType<typeof sendWithFailover>>;
  try {
    up = await sendWithFailover(
      rt.agent,
      provider,
      op,
      r.deployments,
      forwardBody,
      served === model ? req.rawBody : undefined,
      req.headers,
      abort.signal,
      attempts,
    );
  } catch (err) {
    const status = isGatewayError(err) ? err.status : CLIENT_CLOSED;
    await commit(
      { served_model: null, deployment: attempts.at(-1)?.deployment ?? null, upstream_status: null, status },
      0,
    );
    throw err;
  }
  reply.header("x-clearance-region", up.deployment.region);
  const rename = up.deployment.upstreamModel !== served;
  const headers = passHeaders(up.headers);
  const outcome = (status: number): Omit<AuditOutcome, "added_latency_ms"> => ({
    served_model: served,
    deployment: up.deployment.id,
    upstream_status: up.status,
    status,
  });
  const observeUpstream = () => {
    const ms = performance.now() - up.sentAt;
    rt.metrics.upstreamSeconds.observe(
      { deployment: up.deployment.id, status: String(up.status) },
      ms / 1000,
    );
    return ms;
  };
  const contentType = String(firstHeader(up.headers["content-type"]) ?? "");

  if (!contentType.startsWith("text/event-stream")) {
    let data: Buffer;
    try {
      data = Buffer.from(await up.body.arrayBuffer());
    } catch (err) {
      const ms = observeUpstream();
      await commit(outcome(abort.signal.aborted ? CLIENT_CLOSED : 502), ms);
      if (abort.signal.aborted) throw err;
      throw new GatewayError(
        "upstream_error",
        `the deployment \`${up.deployment.id}\` broke off its response`,
      );
    }
    const ms = observeUpstream();
    if (rename && contentType.includes("json")) data = renameInJson(data, served);
    await commit(outcome(up.status), ms);
    if (contentType.includes("json")) accountTokens(rt, ctx, data);
    reply.raw.off("close", onClose);
    return reply.code(up.status).headers(headers).send(data);
  }

  // Streaming: each chunk goes to the socket as it arrives (no buffering, no extra stream in
  // between); the final bytes go out only once the record is durable.
  const renamer = rename ? new SseModelRenamer(served) : undefined;
  const meter = streamMeter(rt, ctx);
  const res = reply.raw;
  reply.hijack();
  const head: OutgoingHttpHeaders = { ...(reply.getHeaders() as OutgoingHttpHeaders), ...headers };
  head["cache-control"] = "no-cache";
  res.writeHead(up.status, head);
  res.flushHeaders();
  // Fastify's onResponse does not run for a hijacked reply: count and log here.
  const countResponse = (status: number) => {
    rt.metrics.requests.inc({ surface: ctx.surface, operation: ctx.operation, status: String(status) });
    req.log.info(
      {
        decision_id: ctx.decisionId,
        org: caller.org.id,
        key: caller.key.id,
        user: ctx.user,
        status,
        served,
        ms: Math.round((performance.now() - ctx.t0) * 100) / 100,
      },
      `${req.method} ${req.url} (stream)`,
    );
  };
  try {
    for await (const chunk of up.body) {
      meter?.push(chunk);
      const piece = renamer ? renamer.push(chunk) : chunk;
      if (piece.length > 0 && !res.write(piece)) {
        await new Promise<void>((resolve) => {
          res.once("drain", resolve);
          res.once("close", resolve);
        });
      }
      if (abort.signal.aborted) break;
    }
    if (renamer) res.write(renamer.end());
    const ms = observeUpstream();
    await commit(outcome(abort.signal.aborted ? CLIENT_CLOSED : up.status), ms);
    accountStream(rt, ctx, meter);
    res.end();
    countResponse(up.status);
  } catch (err) {
    up.body.destroy();
    if (!committed) {
      const ms = observeUpstream();
      await commit(outcome(abort.signal.aborted ? CLIENT_CLOSED : 502), ms).catch(() => undefined);
    }
    // A stream cut short must not look complete: end the connection without the final bytes.
    if (!abort.signal.aborted)
      req.log.warn({ decision_id: ctx.decisionId, err: (err as Error).message }, "stream ended early");
    res.destroy();
    countResponse(abort.signal.aborted ? CLIENT_CLOSED : 502);
  } finally {
    res.off("close", onClose);
  }
}
