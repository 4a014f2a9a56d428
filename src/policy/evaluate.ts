import type { Attribute, Facts } from "./attributes.ts";
import {
  type CompiledModel,
  type CompiledPolicy,
  type CompiledRule,
  type Condition,
  type Reason,
  TRUE,
  UNKNOWN,
} from "./compile.ts";
import { ClearanceError } from "./errors.ts";

export interface Requirements {
  region?: string[];
}

export interface Decision {
  decision: "allow" | "deny";
  model: string;
  /** The instant decided at, ISO 8601 UTC. */
  at: string;
  requirements: Requirements;
  reasons: Reason[];
  /** Unknown attributes that changed the outcome (each treated against the caller). */
  unknown: Attribute[];
  /** sha256 of the canonical policy document. */
  policy: string;
}

export interface Query {
  model: string;
  facts: Facts;
}

/**
 * Decides whether `facts` may use `model` at instant `at` (epoch ms). Pure: the caller passes
 * the instant. Access = (model default allow, or an allow rule applies) and every applying deny
 * is lifted by an exemption. Unknown facts count against the caller: deny and require rules that
 * could hold apply; allow and exempt rules that depend on an unknown fact do not.
 */
export function decide(policy: CompiledPolicy, query: Query, at: number): Decision {
  const model = policy.models.get(query.model);
  if (!model) {
    throw new ClearanceError("DECIDE_UNKNOWN_MODEL", `unknown model \`${query.model}\``);
  }
  if (!Number.isFinite(at))
    throw new ClearanceError("DECIDE_BAD_INSTANT", "the instant to decide at is not valid");
  const facts = withCohorts(policy, query.facts);
  const reasons: Reason[] = [];
  const unknownFrom: CompiledRule[] = [];
  let denied = false;

  // Denies first: exemptions only matter for a deny that applies.
  let lifted: Reason[] | undefined;
  for (const deny of model.deny) {
    if (at < deny.from || at >= deny.to) continue;
    const holds = deny.test(facts);
    if (holds !== TRUE && holds !== UNKNOWN) continue;
    const liftedBy = liftingExemptions(model, deny, facts, at, unknownFrom);
    if (liftedBy.length === 0) {
      denied = true;
      reasons.push(deny.reason);
      if (holds === UNKNOWN) unknownFrom.push(deny);
    } else {
      lifted ??= [];
      lifted.push(...liftedBy.map((e) => ({ ...e.reason, lifts: [deny.ref] })), {
        ...deny.reason,
        lifted_by: liftedBy.map((e) => e.ref),
      });
    }
  }

  if (model.default === "deny") {
    const granted = model.allow.filter((r) => at >= r.from && at < r.to && r.test(facts) === TRUE);
    if (granted.length === 0) {
      denied = true;
      reasons.push(defaultReason(model));
      for (const r of model.allow) {
        if (at >= r.from && at < r.to && r.test(facts) === UNKNOWN) unknownFrom.push(r);
      }
    } else if (!denied) {
      reasons.push(...granted.map((r) => r.reason));
    }
  }
  if (!denied) {
    if (lifted) reasons.push(...lifted);
    else if (model.default === "allow") reasons.push(defaultReason(model));
  }

  const requirements: Requirements = {};
  for (const req of model.require) {
    if (at < req.from || at >= req.to || !req.region) continue;
    const holds = req.test(facts);
    if (holds !== TRUE && holds !== UNKNOWN) continue;
    if (holds === UNKNOWN) unknownFrom.push(req);
    reasons.push(req.reason);
    requirements.region = requirements.region
      ? requirements.region.filter((r) => req.region!.includes(r))
      : [...req.region];
  }
  // Requirements that no region satisfies at once cannot be served.
  if (requirements.region?.length === 0) denied = true;

  return {
    decision: denied ? "deny" : "allow",
    model: model.id,
    at: isoAt(at),
    requirements,
    reasons,
    unknown: unknownFrom.length ? unknownAttributes(unknownFrom, facts) : [],
    policy: policy.hash,
  };
}

/** Exempt rules in force that lift `deny` for this model; exemptions blocked by an unknown fact are noted. */
function liftingExemptions(
  model: CompiledModel,
  deny: CompiledRule,
  facts: Facts,
  at: number,
  unknownFrom: CompiledRule[],
): CompiledRule[] {
  const exempts = model.exemptsByDeny.get(deny.ref);
  if (!exempts) return [];
  const lifting: CompiledRule[] = [];
  const blockedByUnknown: CompiledRule[] = [];
  for (const e of exempts) {
    if (at < e.from || at >= e.to) continue;
    const holds = e.test(facts);
    if (holds === TRUE) lifting.push(e);
    else if (holds === UNKNOWN) blockedByUnknown.push(e);
  }
  if (lifting.length === 0) unknownFrom.push(...blockedByUnknown);
  return lifting;
}

function defaultReason(model: CompiledModel): Reason {
  return {
    directive: null,
    rule: null,
    effect: "default",
    authority: null,
    title:
      model.default === "allow"
        ? `model \`${model.id}\` is available by default and no directive in force restricts it`
        : `model \`${model.id}\` is not available by default and no rule in force grants it`,
    source: null,
  };
}

/**
 * `org.cohorts` is what the caller supplied plus the policy's cohorts that list `org.id`. Without
 * `org.id` the policy's memberships cannot be known, so `org.cohorts` is unknown too.
 */
function withCohorts(policy: CompiledPolicy, facts: Facts): Facts {
  const org = facts["org.id"];
  if (typeof org !== "string") {
    return facts["org.cohorts"] === undefined ? facts : { ...facts, "org.cohorts": undefined };
  }
  if (policy.cohortsByOrg.size === 0) return facts;
  const derived = policy.cohortsByOrg.get(org) ?? [];
  const supplied = facts["org.cohorts"];
  if (Array.isArray(supplied)) {
    if (derived.length === 0) return facts;
    return { ...facts, "org.cohorts": [...new Set([...supplied, ...derived])] };
  }
  return { ...facts, "org.cohorts": derived };
}

/** The unknown facts that made these rules' conditions come out unknown. */
function unknownAttributes(rules: readonly CompiledRule[], facts: Facts): Attribute[] {
  const out = new Set<Attribute>();
  const visit = (c: Condition): void => {
    if (c.kind === "test") {
      if (c.op !== "exists" && (facts[c.attribute] ?? undefined) === undefined) out.add(c.attribute);
      return;
    }
    for (const item of c.items) visit(item);
  };
  for (const r of rules) if (r.condition) visit(r.condition);
  return [...out].sort();
}

let lastAt = Number.NaN;
let lastIso = "";
/** Decisions in a burst share an instant; formatting it once keeps the hot path lean. */
function isoAt(at: number): string {
  if (at !== lastAt) {
    lastIso = new Date(at).toISOString();
    lastAt = at;
  }
  return lastIso;
}
