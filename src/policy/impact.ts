import { ATTRIBUTES, type Attribute, type Facts, isListType } from "./attributes.ts";
import type { CompiledPolicy, CompiledRule, Condition, Reason } from "./compile.ts";
import { ClearanceError } from "./errors.ts";
import { cohortsOf, type Decision, decide } from "./evaluate.ts";

/**
 * Impact analysis: who gains and who loses access to which model when one policy replaces
 * another, at one instant. Principals are grouped by the values the two policies actually read
 * (a value no rule mentions behaves like any other such value), each group is decided once per
 * model under both policies, and only the groups whose decision changes are expanded.
 */
export interface Principal {
  org: string;
  user?: string;
  facts: Facts;
}

export type ChangeKind = "gain" | "loss" | "requirements";

export interface ImpactEntry {
  model: string;
  change: ChangeKind;
  /** The decisions for one member of the group; every member gets the same. */
  before: Decision;
  after: Decision;
  /** Reasons present after but not before, and before but not after: the rules that make the difference. */
  because: { added: Reason[]; removed: Reason[] };
  principals: Principal[];
}

export interface Tally {
  gains: number;
  losses: number;
  requirements: number;
}

export interface ImpactReport {
  at: string;
  before: string;
  after: string;
  models: readonly string[];
  /** The models whose rules, default or cohort memberships differ; only these can change. */
  changedModels: string[];
  /** How request attributes were filled in for principals taken from a directory. */
  assumptions: string[];
  principals: number;
  groups: number;
  entries: ImpactEntry[];
  byModel: Record<string, Tally>;
  /** By `org.country` (`unknown` when the directory does not say). */
  byCountry: Record<string, Tally>;
  /** By cohort, under either policy's memberships. */
  byCohort: Record<string, Tally>;
  byOrg: Record<string, Tally>;
}

export interface ImpactOptions {
  at: number;
  /** Models to compare; default: every model either policy declares. */
  models?: readonly string[];
  /**
   * Request attributes are not in a directory. Unless given here, `request.country` is assumed
   * to be the user's residence, else the organisation's country (a request from where one lives).
   */
  request?: Facts;
  /** Called every so many principals, for progress bars. */
  onProgress?: (done: number) => void;
}

const UNKNOWN_VALUE = "\u0000?";
const OTHER_VALUE = "\u0000*";

export function impact(
  before: CompiledPolicy,
  after: CompiledPolicy,
  principals: Iterable<Principal>,
  options: ImpactOptions,
): ImpactReport {
  const models = options.models ?? [...new Set([...before.models.keys(), ...after.models.keys()])];
  for (const m of models) {
    if (!before.models.has(m) && !after.models.has(m)) {
      throw new ClearanceError("DECIDE_UNKNOWN_MODEL", `unknown model \`${m}\``);
    }
  }
  const changedModels = models.filter((m) => modelSignature(before, m) !== modelSignature(after, m));
  const rulesRead = changedModels.flatMap((m) => [
    ...(before.models.get(m) ? rulesOf(before, m) : []),
    ...(after.models.get(m) ? rulesOf(after, m) : []),
  ]);
  const project = projector([before, after], rulesRead);
  const withRequest = requestFacts(options.request);

  // Group principals by what the changed models' rules can tell apart.
  const groups = new Map<string, { facts: Facts; members: Principal[] }>();
  let count = 0;
  for (const p of principals) {
    count++;
    if (count % 100_000 === 0) options.onProgress?.(count);
    if (changedModels.length === 0) continue;
    const facts = withRequest(p.facts);
    const key = project(facts);
    const group = groups.get(key);
    if (group) group.members.push(p);
    else groups.set(key, { facts, members: [p] });
  }
  options.onProgress?.(count);

  const entries: ImpactEntry[] = [];
  for (const { facts, members } of groups.values()) {
    for (const model of changedModels) {
      const b = decideOrAbsent(before, model, facts, options.at);
      const a = decideOrAbsent(after, model, facts, options.at);
      const change = classify(b, a);
      if (!change) continue;
      entries.push({ model, change, before: b, after: a, because: difference(b, a), principals: members });
    }
  }

  const report: ImpactReport = {
    at: new Date(options.at).toISOString(),
    before: before.hash,
    after: after.hash,
    models,
    changedModels,
    assumptions: options.request
      ? [`request attributes for every principal: ${JSON.stringify(options.request)}`]
      : ["request.country is the user's residence, else the organisation's country"],
    principals: count,
    groups: groups.size,
    entries,
    byModel: {},
    byCountry: {},
    byCohort: {},
    byOrg: {},
  };
  for (const e of entries) {
    bump(report.byModel, e.model, e.change, e.principals.length);
    for (const p of e.principals) {
      const country = p.facts["org.country"];
      bump(report.byCountry, typeof country === "string" ? country : "unknown", e.change);
      bump(report.byOrg, p.org, e.change);
      const cohorts = new Set([...(cohortsOf(before, p.facts) ?? []), ...(cohortsOf(after, p.facts) ?? [])]);
      for (const c of cohorts) bump(report.byCohort, c, e.change);
    }
  }
  return report;
}

/** A model one policy does not declare counts as denied under it. */
function decideOrAbsent(policy: CompiledPolicy, model: string, facts: Facts, at: number): Decision {
  if (policy.models.has(model)) return decide(policy, { model, facts }, at);
  return {
    decision: "deny",
    model,
    at: new Date(at).toISOString(),
    requirements: {},
    reasons: [
      {
        directive: null,
        rule: null,
        effect: "default",
        authority: null,
        title: `model \`${model}\` is not declared by this policy`,
        source: null,
      },
    ],
    unknown: [],
    policy: policy.hash,
  };
}

function classify(before: Decision, after: Decision): ChangeKind | undefined {
  if (before.decision !== after.decision) return after.decision === "allow" ? "gain" : "loss";
  if (
    after.decision === "allow" &&
    JSON.stringify(before.requirements) !== JSON.stringify(after.requirements)
  ) {
    return "requirements";
  }
  return undefined;
}

const reasonKey = (r: Reason) => `${r.effect}:${r.directive}/${r.rule}`;

function difference(before: Decision, after: Decision): ImpactEntry["because"] {
  const had = new Set(before.reasons.map(reasonKey));
  const has = new Set(after.reasons.map(reasonKey));
  return {
    added: after.reasons.filter((r) => !had.has(reasonKey(r))),
    removed: before.reasons.filter((r) => !has.has(reasonKey(r))),
  };
}

function bump(table: Record<string, Tally>, key: string, change: ChangeKind, n = 1): void {
  const t = (table[key] ??= { gains: 0, losses: 0, requirements: 0 });
  if (change === "gain") t.gains += n;
  else if (change === "loss") t.losses += n;
  else t.requirements += n;
}

function requestFacts(request: Facts | undefined): (facts: Facts) => Facts {
  if (request) return (facts) => ({ ...facts, ...request });
  return (facts) => {
    if (facts["request.country"] !== undefined) return facts;
    const country = facts["user.residence"] ?? facts["org.country"];
    return country === undefined ? facts : { ...facts, "request.country": country };
  };
}

function rulesOf(policy: CompiledPolicy, model: string): CompiledRule[] {
  return [...policy.rules.values()].filter((r) => r.models.has(model));
}

/** Everything about a model that can change a decision on it; equal signatures decide alike. */
function modelSignature(policy: CompiledPolicy, model: string): string {
  const m = policy.models.get(model);
  if (!m) return "absent";
  const cohorts = new Set<string>();
  const condition = (c: Condition | undefined): unknown => {
    if (!c) return null;
    if (c.kind !== "test") return [c.kind, c.items.map(condition)];
    if (c.attribute === "org.cohorts") for (const v of c.set) cohorts.add(String(v));
    return [c.attribute, c.op, [...c.set].map(String).sort()];
  };
  const rules = rulesOf(policy, model).map((r) => [
    r.ref,
    r.effect,
    r.from,
    r.to === Number.POSITIVE_INFINITY ? null : r.to,
    r.exempts,
    r.region ?? null,
    condition(r.condition),
  ]);
  const members = [...cohorts].sort().map((c) => [c, [...(policy.doc.cohorts?.[c]?.members ?? [])].sort()]);
  return JSON.stringify([m.default, rules, members]);
}

/**
 * Maps facts to a key that is equal for two principals exactly when none of these rules can
 * tell them apart: for each attribute read, the mentioned values it has (others collapse into
 * one), or "unknown"; for cohorts, the mentioned cohorts under each policy's memberships.
 */
function projector(
  policies: readonly CompiledPolicy[],
  rules: readonly CompiledRule[],
): (facts: Facts) => string {
  const mentioned = new Map<Attribute, Set<unknown>>();
  const visit = (c: Condition | undefined): void => {
    if (!c) return;
    if (c.kind !== "test") {
      c.items.forEach(visit);
      return;
    }
    const values = mentioned.get(c.attribute) ?? new Set<unknown>();
    for (const v of c.set) values.add(v);
    mentioned.set(c.attribute, values);
  };
  for (const rule of rules) visit(rule.condition);

  const readers: ((facts: Facts) => string)[] = [];
  for (const [attribute, values] of mentioned) {
    if (attribute === "org.cohorts") {
      for (const policy of policies) {
        readers.push((facts) => {
          const cohorts = cohortsOf(policy, facts);
          if (!cohorts) return UNKNOWN_VALUE;
          return cohorts
            .filter((c) => values.has(c))
            .sort()
            .join(",");
        });
      }
    } else if (isListType(ATTRIBUTES[attribute])) {
      readers.push((facts) => {
        const v = facts[attribute] as readonly string[] | undefined;
        if (v === undefined || v === null) return UNKNOWN_VALUE;
        return [...new Set(v.map((x) => (values.has(x) ? x : OTHER_VALUE)))].sort().join(",");
      });
    } else {
      readers.push((facts) => {
        const v = facts[attribute];
        if (v === undefined || v === null) return UNKNOWN_VALUE;
        return values.has(v) ? String(v) : OTHER_VALUE;
      });
    }
  }
  return (facts) => readers.map((read) => read(facts)).join("\u0001");
}
