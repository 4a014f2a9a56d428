import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type Diagnostic, formatDiagnostic, formatPath, loadPolicy } from "../../src/policy/index.ts";
import { EXAMPLE_POLICY } from "./helpers.ts";

const example = readFileSync(EXAMPLE_POLICY, "utf8");

function errors(text: string): Diagnostic[] {
  const { policy, diagnostics } = loadPolicy(text, "p.yaml");
  const errs = diagnostics.filter((d) => d.severity === "error");
  if (errs.length > 0) expect(policy).toBeUndefined();
  return errs;
}

function only(text: string): Diagnostic {
  const errs = errors(text);
  expect(errs.map(formatDiagnostic)).toHaveLength(1);
  return errs[0]!;
}

const base = (directives: string, head = "") => `version: 1
${head}models:
  m1: { provider: p, capabilities: [cyber] }
  m2: { provider: p }
cohorts:
  partners: { members: [org-a] }
directives:
  - id: d1
    authority: A
    title: T
    issued: 2026-01-01
    effective: 2026-01-01
    rules:
      - id: deny-all
        effect: deny
        models: [m1]
${directives}`;

const rule = (body: string) =>
  base(`  - id: d2
    authority: A
    title: T2
    issued: 2026-02-01
    effective: 2026-02-01
    rules:
      - id: r
${body}`);

describe("validation: located errors", () => {
  it("accepts the example policy without errors or warnings", () => {
    expect(loadPolicy(example, "x.yaml").diagnostics).toEqual([]);
  });

  it("names file:line:column and the path for an unknown exempted rule", () => {
    const text = example.replace("exempts: [us-2026-06-12/foreign-persons]", "exempts: [us-2026-06-12/foo]");
    const d = errors(text)[0]!;
    const line = text.split("\n").findIndex((l) => l.includes("us-2026-06-12/foo")) + 1;
    expect(d).toMatchObject({ code: "POLICY_UNKNOWN_RULE", file: "p.yaml", line });
    expect(formatPath(d.path)).toBe("directives[1].rules[0].exempts[0]");
    expect(formatDiagnostic(d)).toMatch(
      new RegExp(
        `^p\\.yaml:${line}:\\d+: error POLICY_UNKNOWN_RULE directives\\[1\\]\\.rules\\[0\\]\\.exempts\\[0\\]: unknown rule \`us-2026-06-12/foo\``,
      ),
    );
  });

  it("reports malformed YAML with its position", () => {
    const d = only("version: 1\nmodels: [a\n");
    expect(d.code).toBe("POLICY_SYNTAX");
    expect(d.line).toBeGreaterThan(0);
  });

  it("reports malformed JSON with its position", () => {
    const d = errors('{ "version": 1, "models": { "m": { "provider": "p" } }, "directives": [ }')[0]!;
    expect(d).toMatchObject({ code: "POLICY_SYNTAX", line: 1 });
  });

  it("reads JSON documents", () => {
    const json = JSON.stringify({ version: 1, models: { m: { provider: "p" } }, directives: [] }, null, "\t");
    expect(loadPolicy(json).policy?.models.has("m")).toBe(true);
  });

  it("reports duplicate mapping keys as a syntax error", () => {
    expect(
      only("version: 1\nmodels:\n  m: { provider: p }\n  m: { provider: q }\ndirectives: []\n").code,
    ).toBe("POLICY_SYNTAX");
  });

  it("reports unknown keys at the key", () => {
    const d = only(rule("        effect: deny\n        modles: [m1]\n"));
    expect(d).toMatchObject({ code: "POLICY_UNKNOWN_KEY", message: "unknown key `modles`" });
    expect(formatPath(d.path)).toBe("directives[1].rules[0].modles");
    expect(d.column).toBe(9);
  });

  it("reports missing required fields", () => {
    const d = only(base("").replace("    title: T\n", ""));
    expect(d).toMatchObject({ code: "POLICY_MISSING_FIELD", message: "missing required field `title`" });
  });

  it("reports an unsupported version", () => {
    expect(only(base("").replace("version: 1", "version: 2")).code).toBe("POLICY_UNSUPPORTED_VERSION");
  });

  it("reports unknown models, with a suggestion", () => {
    const d = only(rule("        effect: deny\n        models: [m3]\n"));
    expect(d).toMatchObject({ code: "POLICY_UNKNOWN_MODEL" });
    expect(d.message).toContain("did you mean `m1`?");
  });

  it("reports unknown capabilities", () => {
    expect(only(rule("        effect: deny\n        capabilities: [bio]\n")).code).toBe(
      "POLICY_UNKNOWN_CAPABILITY",
    );
  });

  it("reports unknown cohorts", () => {
    expect(
      only(rule("        effect: deny\n        when: { org.cohorts: { contains: partner } }\n")).message,
    ).toBe("unknown cohort `partner`; did you mean `partners`?");
  });

  it("reports unknown jurisdictions and invalid country codes", () => {
    const d = only(rule("        effect: deny\n        when: { request.country: { in: [US, UK] } }\n"));
    expect(d).toMatchObject({ code: "POLICY_UNKNOWN_COUNTRY" });
    expect(d.message).toContain("`GB`");
    expect(formatPath(d.path)).toBe('directives[1].rules[0].when["request.country"].in[1]');
    expect(only(rule("        effect: deny\n        when: { org.country: { eq: EUROPE } }\n")).code).toBe(
      "POLICY_UNKNOWN_COUNTRY",
    );
    expect(only(base("", "jurisdictions:\n  EU: [FR, XX]\n")).code).toBe("POLICY_UNKNOWN_COUNTRY");
  });

  it("reports unknown attributes and operators", () => {
    expect(
      only(rule("        effect: deny\n        when: { user.nationalty: { in: [US] } }\n")).message,
    ).toBe("unknown attribute `user.nationalty`; did you mean `user.nationality`?");
    expect(
      only(rule("        effect: deny\n        when: { user.nationality: { notin: [US] } }\n")).message,
    ).toBe("unknown operator `notin`; did you mean `not_in`?");
  });

  it("reports operators that do not fit the attribute's type", () => {
    expect(only(rule("        effect: deny\n        when: { user.nationality: { eq: US } }\n")).code).toBe(
      "POLICY_OPERATOR_TYPE",
    );
    expect(only(rule("        effect: deny\n        when: { org.verified: { eq: yes } }\n")).code).toBe(
      "POLICY_TYPE",
    );
  });

  it("checks conditions nested in any/all", () => {
    const d = only(
      rule(
        "        effect: deny\n        when: { any: [ { org.sector: { eq: public } }, { all: [ { org.bogus: { exists: true } } ] } ] }\n",
      ),
    );
    expect(d.code).toBe("POLICY_UNKNOWN_ATTRIBUTE");
    expect(formatPath(d.path)).toBe('directives[1].rules[0].when.any[1].all[0]["org.bogus"]');
  });

  it("reports duplicate directive and rule ids", () => {
    const dupDirective = base(`  - id: d1
    authority: A
    title: T
    issued: 2026-01-01
    effective: 2026-01-01
    rules: [ { id: x, effect: deny } ]
`);
    expect(only(dupDirective)).toMatchObject({ code: "POLICY_DUPLICATE_ID", path: ["directives", 1, "id"] });
    const dupRule = base("      - { id: deny-all, effect: deny }\n");
    expect(only(dupRule)).toMatchObject({
      code: "POLICY_DUPLICATE_ID",
      path: ["directives", 0, "rules", 1, "id"],
    });
  });

  it("reports `exempts` naming a rule that is not a deny", () => {
    const text = base(`  - id: d2
    authority: A
    title: T2
    issued: 2026-02-01
    effective: 2026-02-01
    rules:
      - { id: grant, effect: allow, models: [m1] }
      - { id: lift, effect: exempt, exempts: [d2/grant] }
`);
    expect(errors(text).map((d) => d.code)).toContain("POLICY_EXEMPT_NOT_DENY");
  });

  it("reports effect-specific fields that are missing or misplaced", () => {
    expect(only(rule("        effect: exempt\n")).code).toBe("POLICY_EFFECT_FIELD");
    expect(only(rule("        effect: require\n")).code).toBe("POLICY_EFFECT_FIELD");
    expect(only(rule("        effect: deny\n        exempts: [d1/deny-all]\n")).code).toBe(
      "POLICY_EFFECT_FIELD",
    );
    expect(only(rule("        effect: forbid\n")).message).toContain("`forbid` is not one of");
  });

  it("reports expires <= effective, bad dates and bad durations", () => {
    expect(
      only(base("").replace("effective: 2026-01-01", "effective: 2026-01-01\n    expires: 2026-01-01")).code,
    ).toBe("POLICY_BAD_WINDOW");
    expect(only(base("").replace("effective: 2026-01-01", "effective: 2026-02-30")).code).toBe(
      "POLICY_BAD_INSTANT",
    );
    expect(
      only(base("").replace("effective: 2026-01-01", "effective: 2026-01-01\n    notice: 30 days")).code,
    ).toBe("POLICY_BAD_DURATION");
  });

  it("reports cycles in jurisdiction groups and groups named like countries", () => {
    const cycle = only(base("", "jurisdictions:\n  A1: [B1, FR]\n  B1: [A1]\n"));
    expect(cycle).toMatchObject({ code: "POLICY_JURISDICTION_CYCLE" });
    expect(cycle.message).toContain("`A1` → `B1` → `A1`");
    expect(only(base("", "jurisdictions:\n  FR: [DE]\n")).code).toBe("POLICY_JURISDICTION_NAME");
  });

  it("reports wrong value types", () => {
    const d = only(base("").replace("title: T", "title: [T]"));
    expect(d).toMatchObject({ code: "POLICY_TYPE", message: "expected a string, got a list" });
    expect(only(base("").replace("models: [m1]", "models: m1")).message).toBe(
      "expected a list, got a string",
    );
  });

  it("reports every error at once, in document order", () => {
    const text = rule(
      "        effect: deny\n        models: [nope]\n        when: { user.nationality: { in: [XX] }, org.cohorts: { contains: nobody } }\n",
    ).replace("title: T2", "title: 5");
    const errs = errors(text);
    expect(errs.map((d) => d.code)).toEqual([
      "POLICY_TYPE",
      "POLICY_UNKNOWN_MODEL",
      "POLICY_UNKNOWN_COUNTRY",
      "POLICY_UNKNOWN_COHORT",
    ]);
    const lines = errs.map((d) => d.line ?? 0);
    expect([...lines].sort((a, b) => a - b)).toEqual(lines);
  });

  it("warns about rules that can never apply, without rejecting the policy", () => {
    const text = base(`  - id: d2
    authority: A
    title: T2
    issued: 2026-02-01
    effective: 2026-02-01
    rules:
      - { id: lift, effect: exempt, exempts: [d1/deny-all], models: [m2] }
      - { id: grant, effect: allow, models: [m2] }
      - { id: empty, effect: deny, when: { org.id: { in: [] } } }
`);
    const { policy, diagnostics } = loadPolicy(text);
    expect(policy).toBeDefined();
    expect(diagnostics.map((d) => [d.severity, d.code, formatPath(d.path)])).toEqual([
      ["warning", "POLICY_NEVER_APPLIES", "directives[1].rules[0].exempts[0]"],
      ["warning", "POLICY_NEVER_APPLIES", "directives[1].rules[1]"],
      ["warning", "POLICY_NEVER_APPLIES", 'directives[1].rules[2].when["org.id"].in'],
    ]);
  });

  it("never throws on non-document input", () => {
    for (const text of [
      "",
      "42",
      "- a\n- b",
      "null",
      "version: 1",
      "{}",
      "\u0000\u0001",
      "*x",
      "a: &a [*a]",
    ]) {
      const { policy, diagnostics } = loadPolicy(text);
      expect(policy).toBeUndefined();
      expect(diagnostics.length).toBeGreaterThan(0);
    }
  });
});
