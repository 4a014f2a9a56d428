import type { FastifyReply, FastifyRequest } from "fastify";
import { factsFor } from "../directory/types.ts";
import { decide } from "../policy/index.ts";
import { GatewayError } from "./errors.ts";
import { firstHeader } from "./providers/index.ts";
import { permittedDeployments } from "./routing.ts";
import type { GatewayRuntime } from "./runtime.ts";

/**
 * `GET /v1/models`: only the models this caller may use right now through this API, each with the
 * requirements that apply. The end user, if any, comes from `x-clearance-user` or `?user=`.
 */
export async function listModels(rt: GatewayRuntime, req: FastifyRequest, reply: FastifyReply) {
  const ctx = req.clearance;
  const caller = ctx.caller!;
  const policy = rt.policy;
  if (!policy) throw new GatewayError("service_unavailable", "no policy is loaded; nothing can be served");
  const q = req.query as Record<string, unknown> | undefined;
  const userId =
    firstHeader(req.headers["x-clearance-user"]) ?? (typeof q?.user === "string" ? q.user : undefined);
  const user = userId ? await rt.directory.getUser(caller.org.id, userId) : undefined;
  const facts = factsFor(caller.org, user, userId || undefined, ctx.country);
  const created = Math.floor(Date.parse("2026-01-01T00:00:00Z") / 1000);
  const entries = [];
  for (const [id, model] of policy.models) {
    const d = decide(policy, { model: id, facts }, ctx.arrival);
    if (d.decision !== "allow") continue;
    const deployments = permittedDeployments(rt.config.deployments, d, ctx.surface);
    if (deployments.length === 0) continue;
    const clearance = {
      provider: model.provider,
      requirements: d.requirements,
      regions: [...new Set(deployments.map((x) => x.region))],
      directives: [...new Set(d.reasons.map((r) => r.directive).filter((x): x is string => x !== null))],
    };
    entries.push(
      ctx.surface === "anthropic"
        ? {
            type: "model",
            id,
            display_name: id,
            created_at: new Date(created * 1000).toISOString(),
            clearance,
          }
        : { id, object: "model", created, owned_by: model.provider, clearance },
    );
  }
  reply.header("x-clearance-policy", policy.hash);
  if (ctx.surface === "anthropic") {
    return {
      data: entries,
      has_more: false,
      first_id: entries[0]?.id ?? null,
      last_id: entries.at(-1)?.id ?? null,
    };
  }
  return { object: "list", data: entries };
}
