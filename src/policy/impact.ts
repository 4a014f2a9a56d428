import { ATTRIBUTES, type Attribute, type Facts, isListType } from "./attributes.ts";
import { type CompiledPolicy, type CompiledRule, type Condition, FALSE, type Reason } from "./compile.ts";
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
  const changes = models.flatMap((m) => modelChange(before, after, m) ?? []);
  const changedModels = changes.map((c) => c.model);
  const withRequest = requestFacts(options.request);
  const readsRequest = changes.some((c) =>
    c.differing.some(({ rule }) => attributesOf(rule.condition).some((a) => a.startsWith("request."))),
  );
  // Two-level grouping: the organisation part of a principal is projected once per organisation
  // and changed model; the user and request part once per principal for all changed models.
  const orgProjections = changedModels.map((m) =>
    projector([before, after], rulesOf([before, after], m), isOrgAttribute),
  );
  const userProjection = projector(
    [before, after],
    changedModels.flatMap((m) => rulesOf([before, after], m)),
    (a) => !isOrgAttribute(a),
  );
  const orgClasses = new Map<string, number[]>();
  /** Per organisation: its cohorts under each policy. */
  const cohortCache = new Map<string, (policy: CompiledPolicy) => readonly string[] | undefined>();
  const interned = changedModels.map(() => new Map<string, number>());
  const userClasses = new Map<string, number>();
  const groups = changedModels.map(() => new Map<number, { facts: Facts; members: Principal[] }>());

  let count = 0;
  const touched: number[] = [];
  for (const p of principals) {
    count++;
    if (count % 100_000 === 0) options.onProgress?.(count);
    if (changedModels.length === 0) continue;
    // Request attributes are filled in only where a differing rule reads them, or for the
    // principals it touches: most principals then cost no allocation at all.
    let facts = readsRequest ? withRequest(p.facts) : p.facts;
    const orgKey = orgIdentity(facts);
    let cohorts = cohortCache.get(orgKey);
    if (!cohorts) {
      const was = cohortsOf(before, facts);
      const is = cohortsOf(after, facts);
      cohorts = (policy: CompiledPolicy) => (policy === before ? was : is);
      cohortCache.set(orgKey, cohorts);
    }
    // Most principals are touched by no differing rule: they need no projection at all.
    touched.length = 0;
    for (let i = 0; i < changes.length; i++) if (touches(changes[i]!, facts, cohorts)) touched.push(i);
    if (touched.length === 0) continue;
    if (!readsRequest) facts = withRequest(facts);
    let orgClass = orgClasses.get(orgKey);
    if (!orgClass) {
      orgClass = orgProjections.map((project, i) => intern(interned[i]!, project(facts)));
      orgClasses.set(orgKey, orgClass);
    }
    const userClass = intern(userClasses, userProjection(facts));
    for (const i of touched) {
      const key = orgClass[i]! * 2 ** 26 + userClass;
      const group = groups[i]!.get(key);
      if (group) group.members.push(p);
      else groups[i]!.set(key, { facts, members: [p] });
    }
  }
  options.onProgress?.(count);

  const entries: ImpactEntry[] = [];
  changedModels.forEach((model, i) => {
    for (const { facts, members } of groups[i]!.values()) {
      const b = decideOrAbsent(before, model, facts, options.at);
      const a = decideOrAbsent(after, model, facts, options.at);
      const change = classify(b, a);
      if (change)
        entries.push({ model, change, before: b, after: a, because: difference(b, a), principals: members });
    }
  });

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
    groups: groups.reduce((n, g) => n + g.size, 0),
    entries,
    byModel: {},
    byCountry: {},
    byCohort: {},
    byOrg: {},
  };
  const orgCohortSets = new Map<string, string[]>();
  const cohortsByOrg = (facts: Facts): string[] => {
    const key = orgIdentity(facts);
    let set = orgCohortSets.get(key);
    if (!set) {
      set = [...new Set([...(cohortsOf(before, facts) ?? []), ...(cohortsOf(after, facts) ?? [])])];
      orgCohortSets.set(key, set);
    }
    return set;
  };
  for (const e of entries) {
    bump(report.byModel, e.model, e.change, e.principals.length);
    for (const p of e.principals) {
      const country = p.facts["org.country"];
      bump(report.byCountry, typeof country === "string" ? country : "unknown", e.change);
      bump(report.byOrg, p.org, e.change);
      for (const c of cohortsByOrg(p.facts)) bump(report.byCohort, c, e.change);
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
  const t = table[key] ?? { gains: 0, losses: 0, requirements: 0 };
  table[key] = t;
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

function rulesOf(policies: readonly CompiledPolicy[], model: string): CompiledRule[] {
  return policies.flatMap((p) => [...p.rules.values()].filter((r) => r.models.has(model)));
}

const isOrgAttribute = (a: Attribute) => a.startsWith("org.");

function attributesOf(c: Condition | undefined): Attribute[] {
  if (!c) return [];
  return c.kind === "test" ? [c.attribute] : c.items.flatMap(attributesOf);
}

/** Everything the organisation part of a principal's facts says, as one string. */
function orgIdentity(facts: Facts): string {
  const cohorts = facts["org.cohorts"] as readonly string[] | undefined;
  return `${facts["org.id"]}\u0001${facts["org.country"]}\u0001${facts["org.sector"]}\u0001${facts["org.verified"]}\u0001${cohorts === undefined ? "?" : cohorts.join(",")}`;
}

function intern(table: Map<string, number>, key: string): number {
  let id = table.get(key);
  if (id === undefined) {
    id = table.size;
    table.set(key, id);
  }
  return id;
}

/** Everything about a model that can change a decision on it; equal signatures decide alike. */
interface ModelChange {
  model: string;
  /** The default or the model itself changed: every principal may be affected. */
  everyone: boolean;
  /** Rules in one policy with no identical rule in the other, each with the policy it is in. */
  differing: { policy: CompiledPolicy; rule: CompiledRule }[];
}

/** What differs for one model between the policies; undefined when nothing does. */
function modelChange(before: CompiledPolicy, after: CompiledPolicy, model: string): ModelChange | undefined {
  const b = before.models.get(model);
  const a = after.models.get(model);
  if (!b || !a || b.default !== a.default) return { model, everyone: true, differing: [] };
  const signed = (policy: CompiledPolicy) =>
    new Map(rulesOf([policy], model).map((r) => [ruleSignature(policy, r), r] as const));
  const was = signed(before);
  const is = signed(after);
  const differing = [
    ...[...was].filter(([sig]) => !is.has(sig)).map(([, rule]) => ({ policy: before, rule })),
    ...[...is].filter(([sig]) => !was.has(sig)).map(([, rule]) => ({ policy: after, rule })),
  ];
  return differing.length > 0 ? { model, everyone: false, differing } : undefined;
}

/** Everything about a rule that can change a decision, including the members of cohorts it reads. */
function ruleSignature(policy: CompiledPolicy, r: CompiledRule): string {
  const cohorts = new Set<string>();
  const condition = (c: Condition | undefined): unknown => {
    if (!c) return null;
    if (c.kind !== "test") return [c.kind, c.items.map(condition)];
    if (c.attribute === "org.cohorts") for (const v of c.set) cohorts.add(String(v));
    return [c.attribute, c.op, [...c.set].map(String).sort()];
  };
  const when = condition(r.condition);
  const members = [...cohorts].sort().map((c) => [c, [...(policy.doc.cohorts?.[c]?.members ?? [])].sort()]);
  const to = r.to === Number.POSITIVE_INFINITY ? null : r.to;
  return JSON.stringify([r.ref, r.effect, r.from, to, r.exempts, r.region ?? null, when, members]);
}

/**
 * A principal can be affected on a model only if a differing rule could hold for it under its
 * policy: when every differing rule is false for it, both policies decide alike.
 */
function touches(
  change: ModelChange,
  facts: Facts,
  cohorts: (policy: CompiledPolicy) => readonly string[] | undefined,
): boolean {
  if (change.everyone) return true;
  return change.differing.some(({ policy, rule }) => rule.test(facts, cohorts(policy)) !== FALSE);
}

/**
 * Maps facts to a key that is equal for two principals exactly when none of these rules can
 * tell them apart: for each attribute read, the mentioned values it has (others collapse into
 * one), or "unknown"; for cohorts, the mentioned cohorts under each policy's memberships.
 */
function projector(
  policies: readonly CompiledPolicy[],
  rules: readonly CompiledRule[],
  include: (attribute: Attribute) => boolean,
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
    if (!include(attribute)) continue;
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
        if (v.length === 1) return values.has(v[0]) ? v[0]! : OTHER_VALUE; // the common case, without allocating
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
