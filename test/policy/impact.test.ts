import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decide, type Facts, impact, type Principal } from "../../src/policy/index.ts";
import { at, EXAMPLE_POLICY, policyFrom } from "./helpers.ts";

const example = readFileSync(EXAMPLE_POLICY, "utf8");
// The policy as it stood on 25 June: the letter of 26 June not yet encoded.
const beforeLift = policyFrom(
  example.replace(/ {2}- id: us-2026-06-26[\s\S]*?(?= {2}- id: cyber-preview-2026)/, ""),
);
const current = policyFrom(example);

const person = (org: string, user: string, nationality: string[], extra: Facts = {}): Principal => ({
  org,
  user,
  facts: {
    "org.id": org,
    "user.id": user,
    "user.nationality": nationality,
    "user.permanent_residency": [],
    ...extra,
  },
});

const directory: Principal[] = [
  person("org-a", "anna", ["DE"], { "org.country": "DE" }),
  person("org-a", "bob", ["US"], { "org.country": "DE" }),
  person("org-b", "chen", ["CN"], { "org.country": "FR" }),
  person("acme", "dora", ["FR"], { "org.country": "US" }),
  person("frontier-labs", "emil", ["SE"], { "org.country": "US" }),
];

describe("impact analysis", () => {
  it("lists who gains access when the 26 June partial lift lands, with the rule that makes the difference", () => {
    const report = impact(beforeLift, current, directory, { at: at("2026-06-26") });
    expect(report.entries.every((e) => e.change === "gain" && e.model === "claude-mythos-5")).toBe(true);
    const gained = report.entries.flatMap((e) => e.principals.map((p) => p.user)).sort();
    expect(gained).toEqual(["anna", "chen", "emil"]); // Annex A foreign nationals and provider staff
    const annex = report.entries.find((e) => e.principals.some((p) => p.user === "anna"))!;
    expect(annex.because.added.map((r) => `${r.directive}/${r.rule}`)).toContain(
      "us-2026-06-26/annex-a-mythos",
    );
    expect(annex.before.decision).toBe("deny");
    expect(report.byModel["claude-mythos-5"]).toEqual({ gains: 3, losses: 0, requirements: 0 });
    expect(report.byCountry).toMatchObject({ DE: { gains: 1 }, FR: { gains: 1 }, US: { gains: 1 } });
    expect(report.byCohort["annex-a"]).toMatchObject({ gains: 2 });
    expect(report.byOrg["org-a"]).toMatchObject({ gains: 1 });
  });

  it("lists who loses access, the other way round", () => {
    const report = impact(current, beforeLift, directory, { at: at("2026-07-01") });
    expect(report.entries.map((e) => e.change)).toEqual(expect.arrayContaining(["loss"]));
    expect(report.byModel["claude-mythos-5"]?.losses).toBe(3);
    expect(report.entries[0]!.because.removed[0]).toMatchObject({ effect: "exempt" });
  });

  it("reports requirement changes for those who keep access", () => {
    const noHosting = policyFrom(example.replace(/ {2}- id: eu-2026-hosting[\s\S]*$/, ""));
    const euBody = person("at-ministry", "fritz", ["US"], { "org.country": "AT", "org.sector": "public" });
    const report = impact(noHosting, current, [euBody, ...directory], { at: at("2026-09-01") });
    const changes = report.entries.filter((e) => e.principals.includes(euBody));
    expect(changes.map((e) => [e.model, e.change]).sort()).toEqual([
      ["claude-mythos-5", "requirements"],
      ["fable-5", "requirements"],
    ]);
    expect(changes[0]!.after.requirements).toEqual({ region: ["eu"] });
  });

  it("changes nothing when the two policies are the same, and compares only models whose rules changed", () => {
    const report = impact(current, current, directory, { at: at("2026-07-01") });
    expect(report.entries).toEqual([]);
    expect(report.changedModels).toEqual([]);
    expect(impact(beforeLift, current, directory, { at: at("2026-07-01") }).changedModels).toEqual([
      "claude-mythos-5",
    ]);
  });

  it("assumes a request comes from the user's residence, else the organisation's country", () => {
    const geo = (extra: string) =>
      policyFrom(`version: 1
models:
  m: { provider: p }
directives:
  - { id: d, authority: A, title: T, issued: 2026-01-01, effective: 2026-01-01, rules: [ ${extra} ] }
`);
    const none = geo("");
    const banned = geo("{ id: r, effect: deny, when: { request.country: { in: [CN] } } }");
    const people: Principal[] = [
      {
        org: "o",
        user: "lives-in-cn",
        facts: { "org.id": "o", "org.country": "US", "user.residence": "CN" },
      },
      {
        org: "o",
        user: "lives-in-us",
        facts: { "org.id": "o", "org.country": "CN", "user.residence": "US" },
      },
      { org: "cn-org", user: "no-residence", facts: { "org.id": "cn-org", "org.country": "CN" } },
      { org: "x", user: "nothing-known", facts: { "org.id": "x" } },
    ];
    const report = impact(none, banned, people, { at: at("2026-02-01") });
    expect(report.entries.flatMap((e) => e.principals.map((p) => p.user)).sort()).toEqual([
      "lives-in-cn",
      "no-residence",
      "nothing-known",
    ]);
    expect(report.assumptions[0]).toContain("residence");
    const fromFrance = impact(none, banned, people, {
      at: at("2026-02-01"),
      request: { "request.country": "FR" },
    });
    expect(fromFrance.entries).toEqual([]);
  });

  it("groups principals the policies cannot tell apart, and decides each group once", () => {
    const many = Array.from({ length: 500 }, (_, i) =>
      person(i % 2 ? "org-a" : "acme", `u${i}`, [["FR", "DE", "IT", "US"][i % 4]!], { "org.country": "FR" }),
    );
    const report = impact(beforeLift, current, many, { at: at("2026-07-01") });
    // Only the lift changed, and it can hold only at org-a (Annex A): acme's users are never
    // grouped. At org-a, FR, DE and IT nationals are all "not US" to every rule: two groups.
    expect(report.groups).toBe(2);
    expect(report.byModel["claude-mythos-5"]?.gains).toBe(125); // org-a has odd i: half DE, half US
    expect(report.principals).toBe(500);
  });

  it("agrees with deciding every principal one by one", () => {
    const nationality = fc.subarray(["US", "FR", "DE", "CN", "SE"], { maxLength: 2 });
    const principal = fc.record({
      org: fc.constantFrom("org-a", "org-b", "org-c", "acme", "frontier-labs", "at-ministry"),
      nationality: fc.option(nationality, { nil: undefined }),
      country: fc.option(fc.constantFrom("AT", "US", "DE"), { nil: undefined }),
      sector: fc.option(fc.constantFrom("public", "private"), { nil: undefined }),
      verified: fc.option(fc.boolean(), { nil: undefined }),
    });
    fc.assert(
      fc.property(
        fc.array(principal, { maxLength: 30 }),
        fc.constantFrom("2026-06-20", "2026-07-20", "2026-09-02"),
        (ps, day) => {
          const principals: Principal[] = ps.map((p, i) => {
            const facts: Facts = { "org.id": p.org, "user.permanent_residency": [] };
            if (p.nationality) facts["user.nationality"] = p.nationality;
            if (p.country) facts["org.country"] = p.country;
            if (p.sector) facts["org.sector"] = p.sector;
            if (p.verified !== undefined) facts["org.verified"] = p.verified;
            return { org: p.org, user: `u${i}`, facts };
          });
          const when = at(day);
          const report = impact(beforeLift, current, principals, { at: when, request: {} });
          const fromReport = new Set(
            report.entries.flatMap((e) => e.principals.map((p) => `${p.user}:${e.model}:${e.change}`)),
          );
          const expected = new Set<string>();
          for (const p of principals) {
            for (const model of current.models.keys()) {
              const b = decide(beforeLift, { model, facts: p.facts }, when);
              const a = decide(current, { model, facts: p.facts }, when);
              if (b.decision !== a.decision)
                expected.add(`${p.user}:${model}:${a.decision === "allow" ? "gain" : "loss"}`);
              else if (
                a.decision === "allow" &&
                JSON.stringify(a.requirements) !== JSON.stringify(b.requirements)
              ) {
                expected.add(`${p.user}:${model}:requirements`);
              }
            }
          }
          expect(fromReport).toEqual(expected);
        },
      ),
      { numRuns: 200 },
    );
  });
});
