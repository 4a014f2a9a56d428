import { ATTRIBUTES, type Attribute, type Facts, isListType } from "./attributes.ts";
import type { CompiledRule, Condition } from "./compile.ts";

/**
 * Match tables: which of a model's rules hold for a principal, found with one table look-up per
 * attribute rather than one test per rule. Rule i of the model is bit i of a bit set.
 *
 * A rule whose condition is a conjunction of `in`/`not_in`/`eq`/`contains` tests is "simple": for
 * each attribute it reads, the table gives the rules whose tests on it fail for a given value.
 * Every other rule (`any`, nested `all`, `exists`) is tested directly. The result is two bit sets:
 * rules that fail (a known fact contradicts them) and rules that are unknown (they read a fact
 * that is missing). A rule holds when it is in neither; it could hold when it does not fail.
 *
 * `decideReference` in reference.ts states the same semantics rule by rule; a property test
 * checks that both always agree.
 */
export interface MatchTable {
  rules: CompiledRule[];
  words: number;
  /** Segment i holds the rules in force from starts[i] (inclusive) until starts[i + 1]. */
  starts: number[];
  inForce: Int32Array[];
  deny: Int32Array;
  allow: Int32Array;
  exempt: Int32Array;
  require: Int32Array;
  /** Rules tested directly. */
  direct: Int32Array;
  attributes: AttributeTable[];
  /** For each deny bit, the exempt bits that lift it. */
  liftedBy: Map<number, Int32Array>;
  /**
   * Scratch bit sets reused by every match: allocating typed arrays per decision costs more than
   * the look-ups. Safe because a decision is synchronous and never nests another.
   */
  scratch: { fail: Int32Array; unknown: Int32Array; satisfied: Int32Array };
}

interface AttributeTable {
  attribute: Attribute;
  isList: boolean;
  /** Simple rules that test this attribute: unknown when the fact is missing. */
  uses: Int32Array;
  /** Scalar: value → rules whose tests fail for it; `failOther` for any value not listed. */
  failFor: Map<unknown, Int32Array>;
  failOther: Int32Array;
  /** List: rules with an `in`/`contains` test, and by element the rules such an element satisfies. */
  wants: Int32Array;
  satisfiedBy: Map<unknown, Int32Array>;
  /** List: by element, the rules whose `not_in` the element breaks. */
  brokenBy: Map<unknown, Int32Array>;
}

type Test = Condition & { kind: "test" };

/** The tests of a simple rule grouped by attribute; undefined when the rule must be tested directly. */
function simpleTests(rule: CompiledRule): Map<Attribute, Test[]> | undefined {
  const c = rule.condition;
  const tests = !c ? [] : c.kind === "test" ? [c] : c.kind === "all" ? c.items : undefined;
  if (!tests) return undefined;
  const byAttribute = new Map<Attribute, Test[]>();
  for (const t of tests) {
    if (t.kind !== "test" || t.op === "exists") return undefined;
    byAttribute.set(t.attribute, [...(byAttribute.get(t.attribute) ?? []), t]);
  }
  for (const [attribute, ts] of byAttribute) {
    // A list attribute with two positive tests (any element in S1 and any in S2) is tested directly.
    if (isListType(ATTRIBUTES[attribute]) && ts.filter((t) => t.op !== "not_in").length > 1) return undefined;
  }
  return byAttribute;
}

const setBit = (bits: Int32Array, i: number) => {
  bits[i >>> 5]! |= 1 << (i & 31);
};

export function buildMatchTable(modelRules: readonly CompiledRule[]): MatchTable {
  const rules = [...modelRules].sort((a, b) => a.ordinal - b.ordinal);
  const words = Math.max(1, Math.ceil(rules.length / 32));
  const bits = () => new Int32Array(words);
  const table: MatchTable = {
    rules,
    words,
    starts: [],
    inForce: [],
    deny: bits(),
    allow: bits(),
    exempt: bits(),
    require: bits(),
    direct: bits(),
    attributes: [],
    liftedBy: new Map(),
    scratch: { fail: bits(), unknown: bits(), satisfied: bits() },
  };
  const byAttribute = new Map<Attribute, { table: AttributeTable; tests: Map<number, Test[]> }>();
  rules.forEach((rule, i) => {
    setBit(table[rule.effect], i);
    const simple = simpleTests(rule);
    if (!simple) {
      setBit(table.direct, i);
      return;
    }
    for (const [attribute, tests] of simple) {
      let entry = byAttribute.get(attribute);
      if (!entry) {
        entry = {
          table: {
            attribute,
            isList: isListType(ATTRIBUTES[attribute]),
            uses: bits(),
            failFor: new Map(),
            failOther: bits(),
            wants: bits(),
            satisfiedBy: new Map(),
            brokenBy: new Map(),
          },
          tests: new Map(),
        };
        byAttribute.set(attribute, entry);
      }
      setBit(entry.table.uses, i);
      entry.tests.set(i, tests);
    }
  });

  for (const { table: t, tests } of byAttribute.values()) {
    const at = (map: Map<unknown, Int32Array>, value: unknown) => {
      const b = map.get(value) ?? bits();
      map.set(value, b);
      return b;
    };
    if (t.isList) {
      for (const [i, ts] of tests) {
        for (const test of ts) {
          if (test.op === "not_in") for (const v of test.set) setBit(at(t.brokenBy, v), i);
          else {
            setBit(t.wants, i);
            for (const v of test.set) setBit(at(t.satisfiedBy, v), i);
          }
        }
      }
    } else {
      const mentioned = new Set<unknown>();
      for (const ts of tests.values()) for (const test of ts) for (const v of test.set) mentioned.add(v);
      const holdsFor = (ts: Test[], v: unknown) =>
        ts.every((test) => test.set.has(v) !== (test.op === "not_in"));
      // Every mentioned value gets an entry, even when no rule fails for it.
      for (const v of mentioned) at(t.failFor, v);
      for (const [i, ts] of tests) {
        for (const v of mentioned) if (!holdsFor(ts, v)) setBit(at(t.failFor, v), i);
        // A value no test mentions passes only `not_in` tests.
        if (ts.some((test) => test.op !== "not_in")) setBit(t.failOther, i);
      }
    }
    table.attributes.push(t);
  }

  const refs = new Map(rules.map((r, i) => [r.ref, i]));
  rules.forEach((rule, i) => {
    if (rule.effect !== "exempt") return;
    for (const lifted of rule.exempts) {
      const denyBit = refs.get(lifted);
      if (denyBit === undefined) continue;
      const b = table.liftedBy.get(denyBit) ?? bits();
      table.liftedBy.set(denyBit, b);
      setBit(b, i);
    }
  });

  const bounds = new Set<number>();
  for (const r of rules) {
    bounds.add(r.from);
    if (Number.isFinite(r.to)) bounds.add(r.to);
  }
  table.starts = [Number.NEGATIVE_INFINITY, ...[...bounds].sort((a, b) => a - b)];
  table.inForce = table.starts.map((start) => {
    const b = bits();
    rules.forEach((r, i) => {
      if (r.from <= start && start < r.to) setBit(b, i);
    });
    return b;
  });
  return table;
}

/** Rules that fail and rules that are unknown for these facts; `inForce` for the instant. */
export interface Match {
  inForce: Int32Array;
  fail: Int32Array;
  unknown: Int32Array;
}

export function match(
  table: MatchTable,
  facts: Facts,
  cohorts: readonly string[] | undefined,
  at: number,
): Match {
  const { starts, words } = table;
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= at) lo = mid;
    else hi = mid - 1;
  }
  const inForce = table.inForce[lo]!;
  const { fail, unknown, satisfied } = table.scratch;
  for (let w = 0; w < words; w++) {
    fail[w] = 0;
    unknown[w] = 0;
  }
  for (const t of table.attributes) {
    const value = t.attribute === "org.cohorts" ? cohorts : facts[t.attribute];
    if (value === undefined || value === null) {
      or(unknown, t.uses);
    } else if (t.isList) {
      // Fails: wants an element in S but none is, or an element is in a `not_in` set.
      for (let w = 0; w < words; w++) satisfied[w] = 0;
      const list = value as readonly string[];
      for (let k = 0; k < list.length; k++) {
        const v = list[k];
        const s = t.satisfiedBy.get(v);
        if (s) or(satisfied, s);
        const b = t.brokenBy.get(v);
        if (b) or(fail, b);
      }
      for (let w = 0; w < words; w++) fail[w]! |= t.wants[w]! & ~satisfied[w]!;
    } else {
      or(fail, t.failFor.get(value) ?? t.failOther);
    }
  }
  // Rules outside the tables: test them one by one.
  for (let w = 0; w < words; w++) {
    let direct = table.direct[w]! & inForce[w]!;
    while (direct !== 0) {
      const bit = 31 - Math.clz32(direct & -direct);
      direct &= direct - 1;
      const result = table.rules[w * 32 + bit]!.test(facts, cohorts);
      if (result === 0) fail[w]! |= 1 << bit;
      else if (result === 2) unknown[w]! |= 1 << bit;
    }
  }
  return { inForce, fail, unknown };
}

function or(into: Int32Array, from: Int32Array): void {
  for (let w = 0; w < into.length; w++) into[w]! |= from[w]!;
}
