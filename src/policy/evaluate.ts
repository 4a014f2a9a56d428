import type { Attribute, Facts } from "./attributes.ts";
import type { CompiledModel, CompiledPolicy, CompiledRule, Condition, Reason } from "./compile.ts";
import { ClearanceError } from "./errors.ts";
import { match } from "./match.ts";

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
 *
 * This reads the model's match tables (match.ts); reference.ts states the same rules one rule at
 * a time, and a property test keeps the two in agreement.
 */
export function decide(policy: CompiledPolicy, query: Query, at: number): Decision {
  const model = modelFor(policy, query.model, at);
  const facts = query.facts;
  const cohorts = cohortsOf(policy, facts);
  const t = model.table;
  const { inForce, fail, unknown } = match(t, facts, cohorts, at);
  const outcome = new Outcome(model);
  // Loops over set bits rather than callbacks: this is the hot path of every request.
  for (let w = 0; w < t.words; w++) {
    let denies = t.deny[w]! & inForce[w]! & ~fail[w]!;
    while (denies !== 0) {
      const low = denies & -denies;
      denies ^= low;
      const i = w * 32 + 31 - Math.clz32(low);
      const lifting: CompiledRule[] = [];
      const blocked: CompiledRule[] = [];
      const exempts = t.liftedBy.get(i);
      if (exempts) {
        for (let v = 0; v < t.words; v++) {
          let e = exempts[v]! & inForce[v]! & ~fail[v]!;
          while (e !== 0) {
            const bit = e & -e;
            e ^= bit;
            const rule = t.rules[v * 32 + 31 - Math.clz32(bit)]!;
            (unknown[v]! & bit ? blocked : lifting).push(rule);
          }
        }
      }
      outcome.deny(t.rules[i]!, (unknown[w]! & low) !== 0, lifting, blocked);
    }
  }
  if (model.default === "deny") {
    const granted: CompiledRule[] = [];
    const blocked: CompiledRule[] = [];
    for (let w = 0; w < t.words; w++) {
      let allows = t.allow[w]! & inForce[w]! & ~fail[w]!;
      while (allows !== 0) {
        const low = allows & -allows;
        allows ^= low;
        (unknown[w]! & low ? blocked : granted).push(t.rules[w * 32 + 31 - Math.clz32(low)]!);
      }
    }
    outcome.grant(granted, blocked);
  }
  for (let w = 0; w < t.words; w++) {
    let requires = t.require[w]! & inForce[w]! & ~fail[w]!;
    while (requires !== 0) {
      const low = requires & -requires;
      requires ^= low;
      outcome.require(t.rules[w * 32 + 31 - Math.clz32(low)]!, (unknown[w]! & low) !== 0);
    }
  }
  return outcome.finish(policy, at, facts, cohorts);
}

export function modelFor(policy: CompiledPolicy, id: string, at: number): CompiledModel {
  const model = policy.models.get(id);
  if (!model) throw new ClearanceError("DECIDE_UNKNOWN_MODEL", `unknown model \`${id}\``);
  if (!Number.isFinite(at))
    throw new ClearanceError("DECIDE_BAD_INSTANT", "the instant to decide at is not valid");
  return model;
}

/**
 * Accumulates a decision from the rules that apply, fed in document order by either evaluator,
 * so that both build reasons, requirements and unknowns the same way.
 */
export class Outcome {
  private denied = false;
  private noGrant = false;
  // Filled only when a rule applies; most decisions touch few of them.
  private denies: Reason[] | undefined;
  private lifted: Reason[] | undefined;
  private grants: Reason[] | undefined;
  private requires: Reason[] | undefined;
  private region: string[] | undefined;
  private unknownFrom: CompiledRule[] | undefined;

  constructor(private readonly model: CompiledModel) {}

  /** A deny rule in force whose condition holds or is unknown, with the exemptions that lift it. */
  deny(
    rule: CompiledRule,
    unknown: boolean,
    lifting: CompiledRule[],
    blockedByUnknown: CompiledRule[],
  ): void {
    if (lifting.length === 0) {
      this.denied = true;
      this.denies = append(this.denies, rule.reason);
      if (unknown) this.unknownFrom = append(this.unknownFrom, rule);
      this.unknownFrom = append(this.unknownFrom, ...blockedByUnknown);
      return;
    }
    this.lifted = append(this.lifted, ...lifting.map((e) => ({ ...e.reason, lifts: [rule.ref] })), {
      ...rule.reason,
      lifted_by: lifting.map((e) => e.ref),
    });
  }

  /** For a default-deny model: the allow rules that hold, and those blocked by an unknown fact. */
  grant(granted: CompiledRule[], blockedByUnknown: CompiledRule[]): void {
    if (granted.length > 0) {
      this.grants = granted.map((r) => r.reason);
      return;
    }
    this.denied = true;
    this.noGrant = true;
    this.unknownFrom = append(this.unknownFrom, ...blockedByUnknown);
  }

  /** A require rule in force whose condition holds or is unknown. */
  require(rule: CompiledRule, unknown: boolean): void {
    if (unknown) this.unknownFrom = append(this.unknownFrom, rule);
    this.requires = append(this.requires, rule.reason);
    const region = rule.region ?? [];
    this.region = this.region ? this.region.filter((r) => region.includes(r)) : [...region];
  }

  finish(policy: CompiledPolicy, at: number, facts: Facts, cohorts: readonly string[] | undefined): Decision {
    let reasons: Reason[];
    if (this.denied) {
      reasons = this.denies ?? [];
      if (this.noGrant) reasons.push(defaultReason(this.model));
    } else if (this.grants) {
      reasons = this.lifted ? [...this.grants, ...this.lifted] : this.grants;
    } else {
      reasons = this.lifted ?? [defaultReason(this.model)];
    }
    if (this.requires) reasons.push(...this.requires);
    // Requirements that no region satisfies at once cannot be served.
    const unservable = this.region?.length === 0;
    return {
      decision: this.denied || unservable ? "deny" : "allow",
      model: this.model.id,
      at: isoAt(at),
      requirements: this.region ? { region: this.region } : {},
      reasons,
      unknown: this.unknownFrom ? unknownAttributes(this.unknownFrom, facts, cohorts) : [],
      policy: policy.hash,
    };
  }
}

/** Appends to a list created on first use; returns undefined while there is nothing to hold. */
function append<T>(list: T[] | undefined, ...items: T[]): T[] | undefined {
  if (items.length === 0) return list;
  if (!list) return items;
  list.push(...items);
  return list;
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
export function cohortsOf(policy: CompiledPolicy, facts: Facts): readonly string[] | undefined {
  const org = facts["org.id"];
  if (typeof org !== "string") return undefined;
  const derived = policy.cohortsByOrg.get(org);
  const supplied = facts["org.cohorts"] as readonly string[] | undefined;
  if (!supplied) return derived ?? [];
  if (!derived) return supplied;
  return [...new Set([...supplied, ...derived])];
}

/** The unknown facts that made these rules' conditions come out unknown. */
function unknownAttributes(
  rules: readonly CompiledRule[],
  facts: Facts,
  cohorts: readonly string[] | undefined,
): Attribute[] {
  const out = new Set<Attribute>();
  const visit = (c: Condition): void => {
    if (c.kind === "test") {
      const value = c.attribute === "org.cohorts" ? cohorts : facts[c.attribute];
      if (c.op !== "exists" && (value ?? undefined) === undefined) out.add(c.attribute);
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
