import {
  type CompiledPolicy,
  type Decision,
  decide,
  describeDirective,
  type Facts,
  remedies,
} from "../policy/index.ts";
import type { Deployment } from "./config.ts";
import type { Surface } from "./errors.ts";

/** Deployments of `model` that speak `surface` and satisfy the decision's requirements, in preference order. */
export function permittedDeployments(
  deployments: ReadonlyMap<string, readonly Deployment[]>,
  decision: Decision,
  surface: Surface,
): Deployment[] {
  const all = deployments.get(decision.model) ?? [];
  const regions = decision.requirements.region?.map((r) => r.toLowerCase());
  return all.filter((d) => d.provider === surface && (!regions || regions.includes(d.region)));
}

export type Route =
  | { kind: "serve"; decision: Decision; deployments: Deployment[]; requested: Decision; fallback: boolean }
  | { kind: "deny"; decision: Decision; code: "model_not_permitted" | "no_permitted_deployment" };

/**
 * Decides the requested model and picks where to serve it. When it is denied (or no deployment
 * meets its requirements) and fallback is allowed, the first fallback model that is permitted and
 * servable is served instead; the caller is told which model was served.
 */
export function route(
  policy: CompiledPolicy,
  deployments: ReadonlyMap<string, readonly Deployment[]>,
  surface: Surface,
  model: string,
  facts: Facts,
  at: number,
  allowFallback: boolean,
): Route {
  const requested = decide(policy, { model, facts }, at);
  const direct = requested.decision === "allow" ? permittedDeployments(deployments, requested, surface) : [];
  if (direct.length > 0)
    return { kind: "serve", decision: requested, deployments: direct, requested, fallback: false };
  if (allowFallback) {
    for (const fb of policy.models.get(model)?.fallbacks ?? []) {
      if (!policy.models.has(fb)) continue;
      const d = decide(policy, { model: fb, facts }, at);
      if (d.decision !== "allow") continue;
      const list = permittedDeployments(deployments, d, surface);
      if (list.length > 0)
        return { kind: "serve", decision: d, deployments: list, requested, fallback: true };
    }
  }
  return {
    kind: "deny",
    decision: requested,
    code: requested.decision === "deny" ? "model_not_permitted" : "no_permitted_deployment",
  };
}

const ATTRIBUTE_WORDS: Record<string, string> = {
  "user.nationality": "the user's nationality",
  "user.permanent_residency": "the user's permanent residency",
  "user.residence": "the user's country of residence",
  "user.id": "the end user (send `user` / `metadata.user_id`)",
  "org.country": "the organisation's country",
  "org.sector": "the organisation's sector",
  "org.verified": "whether the organisation is verified",
  "org.cohorts": "the organisation's cohorts",
  "request.country": "the country the request comes from",
};

/** The 403 message: which directive, from whom, since when, and what to do about it. */
export function denialMessage(
  policy: CompiledPolicy,
  r: Extract<Route, { kind: "deny" }>,
  who: { org: string; user: string | undefined; userKnown: boolean },
  surface: Surface,
  deployments: ReadonlyMap<string, readonly Deployment[]>,
  fallbackTried: boolean,
): string {
  const d = r.decision;
  const subject = `organisation \`${who.org}\`${who.user ? `, user \`${who.user}\`` : ""}`;
  const parts: string[] = [];
  if (r.code === "no_permitted_deployment") {
    const regions = d.requirements.region;
    const why = d.reasons
      .filter((x) => x.effect === "require" && x.directive)
      .map((x) => describeDirective(policy, x.directive!));
    if (regions && regions.length === 0) {
      parts.push(
        `\`${d.model}\` cannot be served to ${subject}: its serving requirements exclude every region`,
      );
    } else if (regions) {
      parts.push(
        `\`${d.model}\` may be served to ${subject} only from region ${regions.join(" or ")}, and no deployment of it there speaks the ${surface === "openai" ? "OpenAI" : "Anthropic"} API`,
      );
    } else {
      parts.push(
        `\`${d.model}\` has no deployment that speaks the ${surface === "openai" ? "OpenAI" : "Anthropic"} API`,
      );
    }
    if (why.length) parts.push(`required by ${[...new Set(why)].join("; ")}`);
    parts.push("what to do: ask the gateway operator for a deployment in a permitted region");
  } else {
    const directives = [
      ...new Set(
        d.reasons.filter((x) => x.effect === "deny" && !x.lifted_by && x.directive).map((x) => x.directive!),
      ),
    ];
    if (directives.length > 0) {
      parts.push(
        `\`${d.model}\` is not permitted for ${subject} under ${directives.map((id) => describeDirective(policy, id)).join("; ")}`,
      );
    } else {
      parts.push(
        `\`${d.model}\` is not permitted for ${subject}: ${d.reasons.map((x) => x.title).join("; ")}`,
      );
    }
    if (d.unknown.length > 0) {
      const words = d.unknown.map((a) => ATTRIBUTE_WORDS[a] ?? a);
      let note = `not known: ${words.join(", ")} (unknown facts never grant access)`;
      if (who.user && !who.userKnown) note += `; user \`${who.user}\` is not in the organisation's directory`;
      if (!who.user && d.unknown.some((a) => a.startsWith("user.")))
        note += "; name the end user in the request";
      parts.push(note);
    }
    const todo = remedies(policy, d).map((s) => s.replace(/\.$/, ""));
    if (todo.length > 0) parts.push(`what to do: ${todo.join("; or ")}`);
  }
  const fallbacks = (policy.models.get(d.model)?.fallbacks ?? []).filter((fb) =>
    (deployments.get(fb) ?? []).some((x) => x.provider === surface),
  );
  if (fallbacks.length > 0 && fallbackTried)
    parts.push(`no fallback model (${fallbacks.map((f) => `\`${f}\``).join(", ")}) is permitted either`);
  else if (fallbacks.length > 0)
    parts.push(
      `a permitted fallback (${fallbacks.map((f) => `\`${f}\``).join(", ")}) can be served instead with the header \`x-clearance-fallback: allow\` or the organisation's fallback setting`,
    );
  return parts.map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join(". ");
}
