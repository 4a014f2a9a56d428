import {
  ATTRIBUTES,
  type Attribute,
  type Facts,
  isCountryType,
  isListType,
  type Operator,
} from "./attributes.ts";
import { canonicalJson, sha256 } from "./hash.ts";
import { buildMatchTable, type MatchTable } from "./match.ts";
import type { Effect, PolicyDoc, RuleDoc, WhenDoc } from "./schema.ts";
import { parseInstant } from "./time.ts";
import { expandJurisdictions } from "./validate.ts";

/** Three-valued truth: a condition over an unknown fact is neither true nor false. */
export const FALSE = 0;
export const TRUE = 1;
export const UNKNOWN = 2;
export type Tri = typeof FALSE | typeof TRUE | typeof UNKNOWN;

/** A compiled condition: the tree (for explanations) and its test (for speed). */
export type Condition =
  | { kind: "all" | "any"; items: Condition[] }
  | {
      kind: "test";
      attribute: Attribute;
      op: Operator;
      values: readonly (string | boolean)[];
      set: ReadonlySet<unknown>;
    };

export interface Reason {
  directive: string | null;
  rule: string | null;
  effect: Effect | "default";
  authority: string | null;
  title: string;
  source: string | null;
  /** On a deny lifted by an exemption: the exempt rules that lifted it. */
  lifted_by?: string[];
  /** On an exemption: the deny rules it lifted. */
  lifts?: string[];
}

export interface CompiledRule {
  ref: string;
  /** Position in the document, so reasons come out in document order. */
  ordinal: number;
  directive: string;
  rule: string;
  effect: Effect;
  /** In force while from <= t < to. */
  from: number;
  to: number;
  condition: Condition | undefined;
  /** `cohorts` is the principal's `org.cohorts`, derived once per decision (see evaluate.ts). */
  test: (facts: Facts, cohorts: readonly string[] | undefined) => Tri;
  reason: Reason;
  exempts: readonly string[];
  region: readonly string[] | undefined;
  models: ReadonlySet<string>;
}

export interface CompiledModel {
  id: string;
  provider: string;
  default: "allow" | "deny";
  capabilities: readonly string[];
  fallbacks: readonly string[];
  openWeights: boolean;
  deny: readonly CompiledRule[];
  allow: readonly CompiledRule[];
  require: readonly CompiledRule[];
  /** Exempt rules targeting this model, by the deny ref they lift. */
  exemptsByDeny: ReadonlyMap<string, readonly CompiledRule[]>;
  /** Instants at which a rule touching this model comes into or goes out of force, ascending. */
  instants: readonly number[];
  /** What a decision reads instead of testing every rule (match.ts). */
  table: MatchTable;
}

export interface DirectiveInfo {
  id: string;
  authority: string;
  title: string;
  source: string | null;
  issued: number;
  effective: number;
  expires: number | null;
  notice: string | null;
}

export interface CompiledPolicy {
  /** sha256 of the canonical document. */
  hash: string;
  doc: PolicyDoc;
  models: ReadonlyMap<string, CompiledModel>;
  directives: ReadonlyMap<string, DirectiveInfo>;
  rules: ReadonlyMap<string, CompiledRule>;
  cohortsByOrg: ReadonlyMap<string, readonly string[]>;
  jurisdictions: ReadonlyMap<string, ReadonlySet<string>>;
}

/** Turns a validated document into an index by model so that a decision reads only the rules for its model. */
export function compile(doc: PolicyDoc): CompiledPolicy {
  const jurisdictions = expandJurisdictions(doc.jurisdictions ?? {});
  const expand = (value: string | boolean, countries: boolean): (string | boolean)[] =>
    countries && typeof value === "string" && jurisdictions.has(value)
      ? [...jurisdictions.get(value)!]
      : [value];

  const compileWhen = (when: WhenDoc): Condition => {
    const items: Condition[] = [];
    for (const [key, value] of Object.entries(when)) {
      if (key === "any" || key === "all") {
        items.push({ kind: key, items: (value as WhenDoc[]).map(compileWhen) });
        continue;
      }
      const attribute = key as Attribute;
      const countries = isCountryType(ATTRIBUTES[attribute]);
      for (const [op, operand] of Object.entries(value as Record<string, unknown>)) {
        const values = (Array.isArray(operand) ? operand : [operand]) as (string | boolean)[];
        items.push({
          kind: "test",
          attribute,
          op: op as Operator,
          values,
          set: new Set(values.flatMap((v) => expand(v, countries))),
        });
      }
    }
    return items.length === 1 ? items[0]! : { kind: "all", items };
  };

  const modelIds = Object.keys(doc.models);
  const modelsWith = new Map<string, string[]>();
  for (const id of modelIds) {
    for (const c of doc.models[id]!.capabilities ?? []) modelsWith.set(c, [...(modelsWith.get(c) ?? []), id]);
  }
  const targetsOf = (r: RuleDoc): Set<string> => {
    if (!r.models && !r.capabilities) return new Set(modelIds);
    const out = new Set(r.models ?? []);
    for (const c of r.capabilities ?? []) for (const id of modelsWith.get(c) ?? []) out.add(id);
    return out;
  };

  const directives = new Map<string, DirectiveInfo>();
  const rules = new Map<string, CompiledRule & { models: Set<string> }>();
  const untargetedExempts: string[] = [];
  for (const d of doc.directives) {
    const info: DirectiveInfo = {
      id: d.id,
      authority: d.authority,
      title: d.title,
      source: d.source ?? null,
      issued: parseInstant(d.issued)!,
      effective: parseInstant(d.effective)!,
      expires: d.expires ? parseInstant(d.expires)! : null,
      notice: d.notice ?? null,
    };
    directives.set(d.id, info);
    for (const r of d.rules) {
      const condition = r.when ? compileWhen(r.when) : undefined;
      const ref = `${d.id}/${r.id}`;
      const untargeted = r.effect === "exempt" && !r.models && !r.capabilities;
      if (untargeted) untargetedExempts.push(ref);
      rules.set(ref, {
        ref,
        ordinal: rules.size,
        directive: d.id,
        rule: r.id,
        effect: r.effect,
        from: info.effective,
        to: info.expires ?? Number.POSITIVE_INFINITY,
        condition,
        test: condition ? compileTest(condition) : () => TRUE,
        reason: Object.freeze({
          directive: d.id,
          rule: r.id,
          effect: r.effect,
          authority: d.authority,
          title: d.title,
          source: d.source ?? null,
        }),
        exempts: r.exempts ?? [],
        region: r.require?.region,
        models: untargeted ? new Set() : targetsOf(r),
      });
    }
  }
  // An exemption without targets of its own applies to the models of the denies it lifts.
  for (const ref of untargetedExempts) {
    const rule = rules.get(ref)!;
    for (const lifted of rule.exempts) for (const m of rules.get(lifted)?.models ?? []) rule.models.add(m);
  }

  const rulesOf = new Map<string, CompiledRule[]>(modelIds.map((id) => [id, []]));
  for (const rule of rules.values()) for (const id of rule.models) rulesOf.get(id)?.push(rule);

  const models = new Map<string, CompiledModel>();
  for (const id of modelIds) {
    const m = doc.models[id]!;
    const mine = rulesOf.get(id)!;
    const exemptsByDeny = new Map<string, CompiledRule[]>();
    for (const r of mine) {
      if (r.effect !== "exempt") continue;
      for (const lifted of r.exempts) {
        const list = exemptsByDeny.get(lifted);
        if (list) list.push(r);
        else exemptsByDeny.set(lifted, [r]);
      }
    }
    const instants = new Set<number>();
    for (const r of mine) {
      instants.add(r.from);
      if (Number.isFinite(r.to)) instants.add(r.to);
    }
    const deny = mine.filter((r) => r.effect === "deny");
    const allow = mine.filter((r) => r.effect === "allow");
    const require = mine.filter((r) => r.effect === "require");
    models.set(id, {
      id,
      provider: m.provider,
      default: m.default ?? "allow",
      capabilities: m.capabilities ?? [],
      fallbacks: m.fallbacks ?? [],
      openWeights: m.open_weights ?? false,
      deny,
      allow,
      require,
      exemptsByDeny,
      instants: [...instants].sort((a, b) => a - b),
      table: buildMatchTable(mine),
    });
  }

  const cohortsByOrg = new Map<string, string[]>();
  for (const [cohort, c] of Object.entries(doc.cohorts ?? {})) {
    for (const org of c.members) cohortsByOrg.set(org, [...(cohortsByOrg.get(org) ?? []), cohort]);
  }

  return {
    hash: sha256(canonicalJson(doc)),
    doc,
    models,
    directives,
    rules,
    cohortsByOrg,
    jurisdictions,
  };
}

/** Builds a closure for a condition tree; tests on list attributes hold when any element matches. */
function compileTest(c: Condition): CompiledRule["test"] {
  if (c.kind !== "test") {
    const tests = c.items.map(compileTest);
    const stop: Tri = c.kind === "all" ? FALSE : TRUE;
    const otherwise: Tri = c.kind === "all" ? TRUE : FALSE;
    return (facts, cohorts) => {
      let result: Tri = otherwise;
      for (let i = 0; i < tests.length; i++) {
        const r = tests[i]!(facts, cohorts);
        if (r === stop) return stop;
        if (r === UNKNOWN) result = UNKNOWN;
      }
      return result;
    };
  }
  const { attribute, op, set } = c;
  const read =
    attribute === "org.cohorts"
      ? (_facts: Facts, cohorts: readonly string[] | undefined) => cohorts
      : (facts: Facts) => facts[attribute];
  if (op === "exists") {
    const want = c.values[0] === true;
    return (facts, cohorts) => (((read(facts, cohorts) ?? undefined) !== undefined) === want ? TRUE : FALSE);
  }
  const negate = op === "not_in";
  if (isListType(ATTRIBUTES[attribute])) {
    return (facts, cohorts) => {
      const v = read(facts, cohorts) as readonly string[] | undefined | null;
      if (v === undefined || v === null) return UNKNOWN;
      let found = false;
      for (let i = 0; i < v.length; i++) {
        if (set.has(v[i])) {
          found = true;
          break;
        }
      }
      return found !== negate ? TRUE : FALSE;
    };
  }
  return (facts) => {
    const v = facts[attribute];
    if (v === undefined || v === null) return UNKNOWN;
    return set.has(v) !== negate ? TRUE : FALSE;
  };
}
