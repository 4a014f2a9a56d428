import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Decision, decide, decideReference, type Facts, loadPolicy } from "../../src/policy/index.ts";

// Property tests of the laws in docs/policy.md, over random policies, facts and instants.

const MODELS = ["m0", "m1", "m2"];
const COHORTS = ["c0", "c1"];
const ORGS = ["o0", "o1", "o2"];
const DATES = ["2026-01-01", "2026-03-01", "2026-06-01", "2026-09-01"];
const INSTANTS = ["2025-12-31", ...DATES, "2026-04-15", "2026-12-31"].map((d) =>
  Date.parse(`${d}T00:00:00Z`),
);
const COUNTRIES = ["US", "FR", "DE", "CN"];

type Cond = Record<string, unknown>;

const leaf: fc.Arbitrary<Cond> = fc.oneof(
  fc.record({ "user.nationality": fc.record({ not_in: fc.subarray(COUNTRIES, { minLength: 1 }) }) }),
  fc.record({ "user.nationality": fc.record({ in: fc.subarray(COUNTRIES, { minLength: 1 }) }) }),
  fc.record({ "request.country": fc.record({ in: fc.subarray([...COUNTRIES, "EU"], { minLength: 1 }) }) }),
  fc.record({ "org.country": fc.record({ eq: fc.constantFrom(...COUNTRIES) }) }),
  fc.record({ "org.cohorts": fc.record({ contains: fc.constantFrom(...COHORTS) }) }),
  fc.record({ "org.cohorts": fc.record({ not_in: fc.subarray(COHORTS, { minLength: 1 }) }) }),
  fc.record({ "org.verified": fc.record({ eq: fc.boolean() }) }),
  fc.record({ "org.sector": fc.record({ eq: fc.constantFrom("public", "private") }) }),
);
const condition: fc.Arbitrary<Cond> = fc.oneof(
  { weight: 3, arbitrary: leaf },
  { weight: 1, arbitrary: fc.record({ any: fc.array(leaf, { minLength: 1, maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ all: fc.array(leaf, { minLength: 1, maxLength: 3 }) }) },
);

const window = fc
  .tuple(
    fc.integer({ min: 0, max: DATES.length - 1 }),
    fc.option(fc.integer({ min: 1, max: DATES.length }), { nil: undefined }),
  )
  .map(([from, span]) => {
    const to = span === undefined ? undefined : from + span;
    return {
      effective: DATES[from]!,
      expires: to !== undefined && to < DATES.length ? DATES[to] : undefined,
    };
  });

interface RuleSpec {
  effect: "deny" | "allow" | "exempt" | "require";
  models: string[];
  when?: Cond;
  exemptIndex: number;
  region: string[];
}

const ruleSpec: fc.Arbitrary<RuleSpec> = fc.record({
  effect: fc.constantFrom("deny", "deny", "allow", "exempt", "require"),
  models: fc.subarray(MODELS, { minLength: 1 }),
  when: fc.option(condition, { nil: undefined }),
  exemptIndex: fc.nat(),
  region: fc.subarray(["eu", "us"], { minLength: 1 }),
});

interface PolicySpec {
  defaults: ("allow" | "deny")[];
  members: string[][];
  directives: { window: { effective: string; expires?: string }; rules: RuleSpec[] }[];
}

const policySpec: fc.Arbitrary<PolicySpec> = fc.record({
  defaults: fc.array(fc.constantFrom("allow", "deny"), { minLength: 3, maxLength: 3 }),
  members: fc.array(fc.subarray(ORGS), { minLength: 2, maxLength: 2 }),
  directives: fc.array(fc.record({ window, rules: fc.array(ruleSpec, { minLength: 1, maxLength: 4 }) }), {
    maxLength: 5,
  }),
});

type Directive = Record<string, unknown>;

/** Every generated document has this deny, so an exemption always has something to name. */
const BASE_DIRECTIVE = {
  id: "base",
  authority: "B",
  title: "Base",
  issued: "2026-01-01",
  effective: "2026-01-01",
  rules: [
    { id: "deny", effect: "deny", models: ["m0", "m1"], when: { "user.nationality": { not_in: ["US"] } } },
  ],
};

/** Builds directives; exemptions name the base deny or a deny among these directives. */
function toDirectives(spec: Pick<PolicySpec, "directives">, prefix = "d"): Directive[] {
  const denyRefs = ["base/deny"];
  spec.directives.forEach((d, i) =>
    d.rules.forEach((r, j) => {
      if (r.effect === "deny") denyRefs.push(`${prefix}${i}/r${j}`);
    }),
  );
  return spec.directives.map((d, i) => ({
    id: `${prefix}${i}`,
    authority: "A",
    title: `T${i}`,
    issued: "2026-01-01",
    effective: d.window.effective,
    ...(d.window.expires ? { expires: d.window.expires } : {}),
    rules: d.rules.map((r, j) => rule(r, `r${j}`, denyRefs)),
  }));
}

function rule(r: RuleSpec, id: string, denyRefs: readonly string[]): Record<string, unknown> {
  return {
    id,
    effect: r.effect,
    models: r.models,
    ...(r.when ? { when: r.when } : {}),
    ...(r.effect === "exempt" ? { exempts: [denyRefs[r.exemptIndex % denyRefs.length]] } : {}),
    ...(r.effect === "require" ? { require: { region: r.region } } : {}),
  };
}

function document(spec: PolicySpec, directives: Directive[]) {
  return {
    version: 1,
    jurisdictions: { EU: ["FR", "DE"] },
    models: Object.fromEntries(
      MODELS.map((m, i) => [m, { provider: "p", default: spec.defaults[i], capabilities: ["c"] }]),
    ),
    cohorts: Object.fromEntries(COHORTS.map((c, i) => [c, { members: spec.members[i] }])),
    directives: [BASE_DIRECTIVE, ...directives],
  };
}

function compile(doc: unknown) {
  const { policy, diagnostics } = loadPolicy(JSON.stringify(doc));
  if (!policy) throw new Error(`generated an invalid policy: ${JSON.stringify(diagnostics)}`);
  return policy;
}

const facts: fc.Arbitrary<Facts> = fc.record(
  {
    "org.id": fc.constantFrom(...ORGS, "o9"),
    "org.country": fc.constantFrom(...COUNTRIES),
    "org.sector": fc.constantFrom("public", "private"),
    "org.verified": fc.boolean(),
    "org.cohorts": fc.subarray(COHORTS),
    "user.nationality": fc.subarray(COUNTRIES),
    "request.country": fc.constantFrom(...COUNTRIES),
  },
  { requiredKeys: [] },
);

const allows = (d: Decision) => d.decision === "allow";
const outcome = (d: Decision) => ({
  decision: d.decision,
  requirements: d.requirements,
  reasons: d.reasons,
  unknown: d.unknown,
});

function forEveryQuery(check: (model: string, at: number) => void) {
  for (const model of MODELS) for (const at of INSTANTS) check(model, at);
}

const RUNS = { numRuns: Number(process.env.LAW_RUNS ?? 150) };

describe("laws of the evaluator", () => {
  it("adding a deny rule never grants access", () => {
    fc.assert(
      fc.property(policySpec, ruleSpec, window, facts, (spec, extra, w, f) => {
        const base = toDirectives(spec);
        const p = compile(document(spec, base));
        const extraDirective = {
          id: "extra",
          authority: "X",
          title: "Extra",
          issued: "2026-01-01",
          ...w,
          rules: [rule({ ...extra, effect: "deny" }, "deny", ["base/deny"])],
        };
        const q = compile(document(spec, [...base, extraDirective]));
        forEveryQuery((model, at) => {
          if (!allows(decide(p, { model, facts: f }, at))) {
            expect(allows(decide(q, { model, facts: f }, at))).toBe(false);
          }
        });
      }),
      RUNS,
    );
  });

  it("adding an allow or exempt rule never removes access", () => {
    fc.assert(
      fc.property(
        policySpec,
        ruleSpec,
        fc.constantFrom("allow", "exempt"),
        window,
        facts,
        (spec, extra, effect, w, f) => {
          const base = toDirectives(spec);
          const denyRefs = [BASE_DIRECTIVE, ...base].flatMap((d) =>
            (d.rules as { id: string; effect: string }[])
              .filter((r) => r.effect === "deny")
              .map((r) => `${d.id}/${r.id}`),
          );
          const p = compile(document(spec, base));
          const extraDirective = {
            id: "extra",
            authority: "X",
            title: "Extra",
            issued: "2026-01-01",
            ...w,
            rules: [rule({ ...extra, effect: effect as "allow" | "exempt" }, "grant", denyRefs)],
          };
          const q = compile(document(spec, [...base, extraDirective]));
          forEveryQuery((model, at) => {
            if (allows(decide(p, { model, facts: f }, at))) {
              expect(allows(decide(q, { model, facts: f }, at))).toBe(true);
            }
          });
        },
      ),
      RUNS,
    );
  });

  it("a directive outside its window changes nothing", () => {
    fc.assert(
      fc.property(
        policySpec,
        fc.array(ruleSpec, { minLength: 1, maxLength: 4 }),
        window,
        facts,
        (spec, extra, w, f) => {
          const base = toDirectives(spec);
          const p = compile(document(spec, base));
          const added = toDirectives({ directives: [{ window: w, rules: extra }] }, "x");
          const q = compile(document(spec, [...base, ...added]));
          const from = Date.parse(`${w.effective}T00:00:00Z`);
          const to = w.expires ? Date.parse(`${w.expires}T00:00:00Z`) : Number.POSITIVE_INFINITY;
          forEveryQuery((model, at) => {
            if (at >= from && at < to) return;
            expect(outcome(decide(q, { model, facts: f }, at))).toEqual(
              outcome(decide(p, { model, facts: f }, at)),
            );
          });
        },
      ),
      RUNS,
    );
  });

  it("replacing a known attribute by unknown never grants access", () => {
    fc.assert(
      fc.property(policySpec, facts, (spec, f) => {
        const p = compile(document(spec, toDirectives(spec)));
        for (const key of Object.keys(f) as (keyof Facts)[]) {
          // While org.id is known, org.cohorts is derived from the policy's member lists and so is
          // never unknown (docs/policy.md, 14): dropping the supplied list is not making it unknown.
          if (key === "org.cohorts" && f["org.id"] !== undefined) continue;
          const fewer = { ...f };
          delete fewer[key];
          forEveryQuery((model, at) => {
            if (!allows(decide(p, { model, facts: f }, at))) {
              expect(allows(decide(p, { model, facts: fewer }, at))).toBe(false);
            }
          });
        }
      }),
      RUNS,
    );
  });
});

describe("match tables", () => {
  it("decide agrees with the rule-by-rule reference evaluator on every decision", () => {
    fc.assert(
      fc.property(policySpec, facts, (spec, f) => {
        const p = compile(document(spec, toDirectives(spec)));
        forEveryQuery((model, at) => {
          expect(decide(p, { model, facts: f }, at)).toEqual(decideReference(p, { model, facts: f }, at));
        });
      }),
      { numRuns: RUNS.numRuns * 4 },
    );
  });
});

describe("fuzzed documents", () => {
  it("malformed documents give diagnostics, never exceptions", () => {
    const json = fc.jsonValue({ maxDepth: 5 });
    const mutatedExample = fc.tuple(fc.string(), fc.nat(), fc.nat({ max: 40 })).map(([insert, at, cut]) => {
      const text = `version: 1\nmodels:\n  m: { provider: p, default: deny }\ndirectives:\n  - { id: d, authority: A, title: T, issued: 2026-01-01, effective: 2026-01-01, rules: [ { id: r, effect: deny, when: { org.id: { in: [a] } } } ] }\n`;
      const i = at % text.length;
      return text.slice(0, i) + insert + text.slice(i + cut);
    });
    fc.assert(
      fc.property(
        fc.oneof(
          json.map((v) => JSON.stringify(v)),
          fc.string(),
          mutatedExample,
        ),
        (text) => {
          const result = loadPolicy(text, "fuzz.yaml");
          if (!result.policy) expect(result.diagnostics.some((d) => d.severity === "error")).toBe(true);
          for (const d of result.diagnostics) {
            expect(typeof d.message).toBe("string");
            expect(d.message).not.toContain("\n");
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("documents with random structure in the right places give diagnostics, never exceptions", () => {
    const anything = fc.anything({ maxDepth: 3 });
    fc.assert(
      fc.property(anything, anything, anything, (a, b, c) => {
        const doc = {
          version: 1,
          jurisdictions: a,
          models: { m: { provider: "p", capabilities: b } },
          directives: [
            {
              id: "d",
              authority: "A",
              title: "T",
              issued: "2026-01-01",
              effective: "2026-01-01",
              rules: [{ id: "r", effect: "deny", when: c }],
            },
          ],
        };
        let text: string;
        try {
          text = JSON.stringify(doc);
        } catch {
          return;
        }
        expect(() => loadPolicy(text)).not.toThrow();
      }),
      { numRuns: 500 },
    );
  });
});
