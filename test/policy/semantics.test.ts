import { describe, expect, it } from "vitest";
import { decide } from "../../src/policy/index.ts";
import { decideAt, policyFrom, withDirectives } from "./helpers.ts";

// One test per numbered sentence of docs/policy.md § Semantics.

const foreignPersonsDeny = `  - id: ban
    authority: A
    title: Ban
    issued: 2026-06-12
    effective: 2026-06-12
    rules:
      - id: foreign
        effect: deny
        models: [m1, m2]
        when: { user.nationality: { not_in: [US] } }
`;
const partnerLift = `  - id: lift
    authority: A
    title: Lift
    issued: 2026-06-26
    effective: 2026-06-26
    rules:
      - id: partners
        effect: exempt
        exempts: [ban/foreign]
        models: [m1]
        when: { org.cohorts: { contains: partners } }
`;
const previewGrant = `  - id: preview
    authority: P
    title: Preview
    issued: 2026-01-01
    effective: 2026-01-01
    rules:
      - id: grant
        effect: allow
        models: [preview]
        when: { org.verified: { eq: true } }
`;
const FR = { "user.nationality": ["FR"] };

describe("policy semantics (docs/policy.md)", () => {
  it("1. access = (default allow or an allow applies) and no unlifted deny applies", () => {
    const p = withDirectives(foreignPersonsDeny + partnerLift + previewGrant);
    expect(decideAt(p, "m2", { "user.nationality": ["US"] }, "2026-07-01").decision).toBe("allow");
    expect(decideAt(p, "m2", FR, "2026-07-01").decision).toBe("deny");
    expect(decideAt(p, "m1", { ...FR, "org.id": "org-a" }, "2026-07-01").decision).toBe("allow");
    expect(decideAt(p, "preview", { "org.verified": false }, "2026-07-01").decision).toBe("deny");
    expect(decideAt(p, "preview", { "org.verified": true }, "2026-07-01").decision).toBe("allow");
  });

  it("2. an allow rule does not lift a deny", () => {
    const denyPreview = `  - id: stop
    authority: B
    title: Stop preview
    issued: 2026-01-01
    effective: 2026-01-01
    rules:
      - { id: all, effect: deny, models: [preview] }
`;
    const p = withDirectives(previewGrant + denyPreview);
    const d = decideAt(p, "preview", { "org.verified": true }, "2026-07-01");
    expect(d.decision).toBe("deny");
    expect(d.reasons.map((r) => r.rule)).toEqual(["all"]);
  });

  it("3. an exemption lifts only the denies it names, for its models, where its condition holds", () => {
    const p = withDirectives(foreignPersonsDeny + partnerLift);
    const partner = { ...FR, "org.id": "org-a" };
    expect(decideAt(p, "m1", partner, "2026-07-01").decision).toBe("allow");
    expect(decideAt(p, "m2", partner, "2026-07-01").decision).toBe("deny"); // not a target of the lift
    expect(decideAt(p, "m1", { ...FR, "org.id": "org-z" }, "2026-07-01").decision).toBe("deny");
  });

  it("4. a directive changes nothing outside effective <= t < expires", () => {
    const windowed = foreignPersonsDeny.replace(
      "effective: 2026-06-12",
      "effective: 2026-06-12\n    expires: 2026-07-01",
    );
    const p = withDirectives(windowed);
    expect(decideAt(p, "m2", FR, "2026-06-11T23:59:59.999Z").decision).toBe("allow");
    expect(decideAt(p, "m2", FR, "2026-06-12").decision).toBe("deny");
    expect(decideAt(p, "m2", FR, "2026-06-30T23:59:59Z").decision).toBe("deny");
    expect(decideAt(p, "m2", FR, "2026-07-01").decision).toBe("allow");
  });

  it("5. for a list attribute, `in` holds when any element is in the set", () => {
    const p = withDirectives(`  - id: d
    authority: A
    title: T
    issued: 2026-01-01
    effective: 2026-01-01
    rules:
      - { id: r, effect: deny, models: [m1], when: { user.nationality: { in: [CN] } } }
`);
    expect(decideAt(p, "m1", { "user.nationality": ["US", "CN"] }, "2026-02-01").decision).toBe("deny");
    expect(decideAt(p, "m1", { "user.nationality": ["US", "FR"] }, "2026-02-01").decision).toBe("allow");
  });

  it("6. `not_in` holds when no element is in the set: a US+FR dual national is not caught", () => {
    const p = withDirectives(foreignPersonsDeny);
    expect(decideAt(p, "m1", { "user.nationality": ["US", "FR"] }, "2026-07-01").decision).toBe("allow");
    expect(decideAt(p, "m1", { "user.nationality": ["DE", "FR"] }, "2026-07-01").decision).toBe("deny");
  });

  it("7. an empty list is known to be empty: `not_in` holds, `in` does not, nothing is unknown", () => {
    const p = withDirectives(foreignPersonsDeny);
    const d = decideAt(p, "m1", { "user.nationality": [] }, "2026-07-01");
    expect(d.decision).toBe("deny");
    expect(d.unknown).toEqual([]);
  });

  it("8. a deny or require rule whose condition could hold on unknown facts is treated as holding", () => {
    const requireEu = `  - id: eu
    authority: EC
    title: EU hosting
    issued: 2026-01-01
    effective: 2026-01-01
    rules:
      - { id: region, effect: require, require: { region: [eu] }, models: [m1], when: { org.country: { in: [EU] } } }
`;
    const p = withDirectives(foreignPersonsDeny + requireEu);
    const d = decideAt(p, "m1", {}, "2026-07-01");
    expect(d.decision).toBe("deny");
    expect(d.requirements.region).toEqual(["eu"]);
    const us = decideAt(p, "m1", { "user.nationality": ["US"], "org.country": "US" }, "2026-07-01");
    expect(us).toMatchObject({ decision: "allow", requirements: {} });
  });

  it("9. an allow or exempt rule that depends on an unknown fact does not apply", () => {
    const p = withDirectives(foreignPersonsDeny + partnerLift + previewGrant);
    // org.id unknown → org.cohorts unknown → the exemption cannot apply
    expect(decideAt(p, "m1", FR, "2026-07-01").decision).toBe("deny");
    // org.verified unknown → the grant cannot apply
    expect(decideAt(p, "preview", {}, "2026-07-01").decision).toBe("deny");
  });

  it("10. the decision lists the unknown attributes that changed it, and only those", () => {
    const p = withDirectives(foreignPersonsDeny + partnerLift + previewGrant);
    expect(decideAt(p, "m1", {}, "2026-07-01").unknown).toEqual(["org.cohorts", "user.nationality"]);
    expect(decideAt(p, "preview", {}, "2026-07-01").unknown).toEqual(["org.verified"]);
    // the exemption holds, so the unknown nationality changed nothing
    expect(decideAt(p, "m1", { "org.id": "org-a" }, "2026-07-01").unknown).toEqual([]);
    // a US national is not denied; nothing unknown mattered
    expect(decideAt(p, "m1", { "user.nationality": ["US"] }, "2026-07-01").unknown).toEqual([]);
  });

  it("11. a deny names every deny rule that applies", () => {
    const second = `  - id: other
    authority: B
    title: Other
    issued: 2026-01-01
    effective: 2026-01-01
    rules:
      - { id: all-m1, effect: deny, capabilities: [cyber] }
`;
    const p = withDirectives(foreignPersonsDeny + second);
    const d = decideAt(p, "m1", FR, "2026-07-01");
    expect(d.reasons.map((r) => `${r.directive}/${r.rule}`).sort()).toEqual(["ban/foreign", "other/all-m1"]);
    expect(d.reasons.every((r) => r.effect === "deny" && r.authority && r.title)).toBe(true);
    const preview = decideAt(withDirectives("  []"), "preview", {}, "2026-07-01");
    expect(preview.reasons).toEqual([expect.objectContaining({ effect: "default", directive: null })]);
  });

  it("12. an allow names the exemption and the deny it lifted, or the allow rule, or the default", () => {
    const p = withDirectives(foreignPersonsDeny + partnerLift + previewGrant);
    const lifted = decideAt(p, "m1", { ...FR, "org.id": "org-a" }, "2026-07-01");
    expect(lifted.reasons).toEqual([
      expect.objectContaining({
        directive: "lift",
        rule: "partners",
        effect: "exempt",
        lifts: ["ban/foreign"],
      }),
      expect.objectContaining({
        directive: "ban",
        rule: "foreign",
        effect: "deny",
        lifted_by: ["lift/partners"],
      }),
    ]);
    const granted = decideAt(p, "preview", { "org.verified": true }, "2026-07-01");
    expect(granted.reasons).toEqual([
      expect.objectContaining({ directive: "preview", rule: "grant", effect: "allow" }),
    ]);
    const plain = decideAt(p, "m2", { "user.nationality": ["US"] }, "2026-07-01");
    expect(plain.reasons).toEqual([expect.objectContaining({ effect: "default" })]);
  });

  it("13. requirements are collected and intersected; an empty intersection cannot be served", () => {
    const two = `  - id: eu
    authority: EC
    title: EU hosting
    issued: 2026-01-01
    effective: 2026-01-01
    rules:
      - { id: a, effect: require, require: { region: [eu, ch] }, models: [m2] }
      - { id: b, effect: require, require: { region: [eu, us] }, models: [m2] }
      - { id: c, effect: require, require: { region: [us] }, models: [m2], when: { org.sector: { eq: defence } } }
`;
    const p = withDirectives(two);
    const d = decideAt(p, "m2", { "org.sector": "health" }, "2026-07-01");
    expect(d).toMatchObject({ decision: "allow", requirements: { region: ["eu"] } });
    expect(d.reasons.filter((r) => r.effect === "require").map((r) => r.rule)).toEqual(["a", "b"]);
    const impossible = decideAt(p, "m2", { "org.sector": "defence" }, "2026-07-01");
    expect(impossible).toMatchObject({ decision: "deny", requirements: { region: [] } });
  });

  it("14. org.cohorts includes every cohort whose members list org.id, plus any supplied", () => {
    const p = withDirectives(foreignPersonsDeny + partnerLift);
    expect(decideAt(p, "m1", { ...FR, "org.id": "org-a" }, "2026-07-01").decision).toBe("allow");
    expect(
      decideAt(p, "m1", { ...FR, "org.id": "org-z", "org.cohorts": ["partners"] }, "2026-07-01").decision,
    ).toBe("allow");
    expect(decideAt(p, "m1", { ...FR, "org.id": "org-z", "org.cohorts": [] }, "2026-07-01").decision).toBe(
      "deny",
    );
  });

  it("15. a jurisdiction group stands for all its countries, recursively", () => {
    const p = policyFrom(`version: 1
jurisdictions:
  EU: [FR, DE]
  EEA: [EU, NO]
models:
  m: { provider: p }
directives:
  - id: d
    authority: A
    title: T
    issued: 2026-01-01
    effective: 2026-01-01
    rules:
      - { id: r, effect: deny, models: [m], when: { request.country: { in: [EEA] }, user.nationality: { contains: EU } } }
`);
    const facts = (country: string, nationality: string) => ({
      "request.country": country,
      "user.nationality": [nationality],
    });
    expect(decideAt(p, "m", facts("FR", "DE"), "2026-02-01").decision).toBe("deny"); // EEA → EU → FR
    expect(decideAt(p, "m", facts("NO", "FR"), "2026-02-01").decision).toBe("deny");
    expect(decideAt(p, "m", facts("CH", "FR"), "2026-02-01").decision).toBe("allow");
    expect(decideAt(p, "m", facts("FR", "NO"), "2026-02-01").decision).toBe("allow"); // NO is EEA, not EU
  });

  it("16. evaluation never reads the clock: the same inputs give the same decision", () => {
    const p = withDirectives(foreignPersonsDeny);
    const realNow = Date.now;
    try {
      Date.now = () => {
        throw new Error("the evaluator read the clock");
      };
      const a = decide(p, { model: "m1", facts: FR }, Date.UTC(2026, 6, 1));
      const b = decide(p, { model: "m1", facts: FR }, Date.UTC(2026, 6, 1));
      expect(a).toEqual(b);
    } finally {
      Date.now = realNow;
    }
  });
});
