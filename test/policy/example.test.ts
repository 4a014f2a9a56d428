import { describe, expect, it } from "vitest";
import type { Facts } from "../../src/policy/index.ts";
import { decideAt, examplePolicy } from "./helpers.ts";

// The 2026 events of DESIGN.md, as encoded in examples/policies/us-2026-frontier.yaml:
// before, on and after each change.
const policy = examplePolicy();

const us: Facts = { "org.id": "acme", "user.nationality": ["US"], "user.permanent_residency": [] };
const greenCardHolder: Facts = {
  "org.id": "acme",
  "user.nationality": ["IN"],
  "user.permanent_residency": ["US"],
};
const dualNational: Facts = {
  "org.id": "acme",
  "user.nationality": ["US", "FR"],
  "user.permanent_residency": [],
};
const frenchAtAcme: Facts = { "org.id": "acme", "user.nationality": ["FR"], "user.permanent_residency": [] };
const frenchAtAnnexA: Facts = { ...frenchAtAcme, "org.id": "org-a" };
const providerStaff: Facts = { ...frenchAtAcme, "org.id": "frontier-labs" };

const decision = (model: string, facts: Facts, when: string) => decideAt(policy, model, facts, when).decision;

describe("12 June: licence required for foreign persons (claude-mythos-5, fable-5)", () => {
  it("before: foreign persons use both models", () => {
    expect(decision("claude-mythos-5", frenchAtAcme, "2026-06-11T23:59:59Z")).toBe("allow");
    expect(decision("fable-5", frenchAtAcme, "2026-06-11T23:59:59Z")).toBe("allow");
  });
  it("on 12 June: a foreign person is denied both models, wherever located", () => {
    for (const model of ["claude-mythos-5", "fable-5"]) {
      for (const country of ["US", "FR", "AT"]) {
        const d = decideAt(policy, model, { ...frenchAtAcme, "request.country": country }, "2026-06-12");
        expect(d.decision).toBe("deny");
        expect(d.reasons[0]).toMatchObject({
          directive: "us-2026-06-12",
          rule: "foreign-persons",
          authority: "US Department of Commerce",
        });
      }
    }
  });
  it("on 12 June: US nationals, US permanent residents and US dual nationals keep access", () => {
    for (const facts of [us, greenCardHolder, dualNational]) {
      expect(decision("claude-mythos-5", facts, "2026-06-12")).toBe("allow");
      expect(decision("fable-5", facts, "2026-06-12")).toBe("allow");
    }
  });
  it("on 12 June: the provider's own foreign-national staff are denied too", () => {
    expect(decision("claude-mythos-5", providerStaff, "2026-06-12")).toBe("deny");
  });
  it("a user whose nationality is unknown is denied, and the decision says so", () => {
    const d = decideAt(policy, "fable-5", { "org.id": "acme" }, "2026-06-20");
    expect(d.decision).toBe("deny");
    expect(d.unknown).toEqual(["user.nationality", "user.permanent_residency"]);
  });
  it("the open-weight fallback glm-5.2 is not restricted", () => {
    expect(decision("glm-5.2", frenchAtAcme, "2026-06-20")).toBe("allow");
    expect(policy.models.get("fable-5")?.fallbacks).toEqual(["glm-5.2"]);
  });
});

describe("26 June: partial lift of claude-mythos-5 for Annex A partners and provider staff", () => {
  it("before (25 June): Annex A partners' foreign-national staff are still denied", () => {
    expect(decision("claude-mythos-5", frenchAtAnnexA, "2026-06-25T23:59:59Z")).toBe("deny");
  });
  it("on 26 June: Annex A partners' foreign-national employees get claude-mythos-5 back", () => {
    const d = decideAt(policy, "claude-mythos-5", frenchAtAnnexA, "2026-06-26");
    expect(d.decision).toBe("allow");
    expect(d.reasons).toContainEqual(
      expect.objectContaining({
        rule: "annex-a-mythos",
        effect: "exempt",
        lifts: ["us-2026-06-12/foreign-persons"],
      }),
    );
  });
  it("on 26 June: the provider's own foreign-national employees get claude-mythos-5 back", () => {
    expect(decision("claude-mythos-5", providerStaff, "2026-06-26")).toBe("allow");
  });
  it("after: fable-5 stays blocked for everyone foreign, Annex A included", () => {
    for (const facts of [frenchAtAnnexA, providerStaff, frenchAtAcme]) {
      expect(decision("fable-5", facts, "2026-08-01")).toBe("deny");
    }
  });
  it("after: organisations outside Annex A stay blocked from claude-mythos-5", () => {
    expect(decision("claude-mythos-5", frenchAtAcme, "2026-08-01")).toBe("deny");
  });
});

describe("limited preview: cyber-preview for disclosed, verified trusted partners", () => {
  const partner: Facts = { "org.id": "org-c", "org.verified": true };
  it("before 15 July: nobody has cyber-preview (default deny)", () => {
    const d = decideAt(policy, "cyber-preview", partner, "2026-07-14");
    expect(d.decision).toBe("deny");
    expect(d.reasons).toEqual([expect.objectContaining({ effect: "default" })]);
  });
  it("from 15 July: verified cohort members have it", () => {
    expect(decision("cyber-preview", partner, "2026-07-15")).toBe("allow");
  });
  it("from 15 July: non-members, unverified members and unknown verification are denied", () => {
    expect(decision("cyber-preview", { "org.id": "acme", "org.verified": true }, "2026-08-01")).toBe("deny");
    expect(decision("cyber-preview", { "org.id": "org-c", "org.verified": false }, "2026-08-01")).toBe(
      "deny",
    );
    const unknown = decideAt(policy, "cyber-preview", { "org.id": "org-c" }, "2026-08-01");
    expect(unknown).toMatchObject({ decision: "deny", unknown: ["org.verified"] });
  });
  it("the cohort is disclosed to the authority", () => {
    expect(policy.doc.cohorts?.["cyber-preview-partners"]?.disclosed_to).toBe("US Department of Commerce");
  });
});

describe("1 September: EU public bodies served from EU-hosted deployments", () => {
  const euPublic: Facts = { ...us, "org.country": "AT", "org.sector": "public" };
  it("before: no region requirement", () => {
    expect(decideAt(policy, "fable-5", euPublic, "2026-08-31T23:59:59Z").requirements).toEqual({});
  });
  it("on 1 September: an EU public body must be served from region eu", () => {
    const d = decideAt(policy, "fable-5", euPublic, "2026-09-01");
    expect(d).toMatchObject({ decision: "allow", requirements: { region: ["eu"] } });
    expect(d.reasons).toContainEqual(
      expect.objectContaining({ rule: "eu-region", authority: "European Commission" }),
    );
  });
  it("after: EU private companies and non-EU public bodies have no requirement", () => {
    expect(
      decideAt(policy, "fable-5", { ...euPublic, "org.sector": "private" }, "2026-10-01").requirements,
    ).toEqual({});
    expect(
      decideAt(policy, "fable-5", { ...euPublic, "org.country": "CH" }, "2026-10-01").requirements,
    ).toEqual({});
  });
  it("the requirement does not lift the foreign-persons ban", () => {
    expect(
      decision("fable-5", { ...frenchAtAcme, "org.country": "FR", "org.sector": "public" }, "2026-10-01"),
    ).toBe("deny");
  });
});
