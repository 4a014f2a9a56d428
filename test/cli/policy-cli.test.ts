import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { clearance } from "./run.ts";

const POLICY = "examples/policies/us-2026-frontier.yaml";
const foreign = ["--attr", "user.nationality=FR", "--attr", "user.permanent_residency="];

describe("clearance validate", () => {
  it("exits 0 for a valid policy and prints its hash", () => {
    const r = clearance(["validate", POLICY]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/valid \(4 directives, 5 rules, 4 models\) policy [0-9a-f]{64}/);
  });

  it("exits 1 with every located error for an invalid policy, and no stack trace", () => {
    const dir = mkdtempSync(join(tmpdir(), "clearance-"));
    const file = join(dir, "bad.yaml");
    writeFileSync(
      file,
      "version: 1\nmodels:\n  m: { provider: p }\ndirectives:\n  - id: d\n    authority: A\n    title: T\n    issued: 2026-01-01\n    effective: 2026-13-01\n    rules:\n      - { id: r, effect: deny, models: [x] }\n",
    );
    const r = clearance(["validate", file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}:9:16: error POLICY_BAD_INSTANT directives[0].effective`);
    expect(r.stderr).toContain(
      "error POLICY_UNKNOWN_MODEL directives[0].rules[0].models[0]: unknown model `x`",
    );
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("exits 2 on usage errors", () => {
    expect(clearance(["validate"]).code).toBe(2);
    expect(clearance(["frobnicate"]).code).toBe(2);
  });
});

describe("clearance check", () => {
  it("exits 1 on deny and explains each reason in a sentence", () => {
    const r = clearance([
      "check",
      "--policy",
      POLICY,
      "--model",
      "fable-5",
      "--at",
      "2026-07-01",
      ...foreign,
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("DENY  fable-5 at 2026-07-01T00:00:00.000Z");
    expect(r.stdout).toContain(
      "Denied by `us-2026-06-12/foreign-persons`: “Licence required for foreign persons”",
    );
  });

  it("exits 0 on allow; dual nationals given as a comma list", () => {
    const r = clearance([
      "check",
      "--policy",
      POLICY,
      "--model",
      "fable-5",
      "--at",
      "2026-07-01",
      "--attr",
      "user.nationality=US,FR",
      "--attr",
      "user.permanent_residency=",
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ALLOW/);
  });

  it("--json prints exactly the decision object", () => {
    const r = clearance([
      "check",
      "--policy",
      POLICY,
      "--model",
      "cyber-preview",
      "--at",
      "2026-08-01T12:00:00+02:00",
      "--attr",
      "org.id=org-c",
      "--attr",
      "org.verified=true",
      "--json",
    ]);
    expect(r.code).toBe(0);
    const decision = JSON.parse(r.stdout);
    expect(Object.keys(decision).sort()).toEqual([
      "at",
      "decision",
      "model",
      "policy",
      "reasons",
      "requirements",
      "unknown",
    ]);
    expect(decision).toMatchObject({ decision: "allow", at: "2026-08-01T10:00:00.000Z", unknown: [] });
    expect(decision.reasons[0]).toMatchObject({
      directive: "cyber-preview-2026",
      rule: "trusted-partners",
      effect: "allow",
    });
  });

  it("exits 2 with one clear line for an unknown model, a bad attribute or a bad date", () => {
    for (const args of [
      ["--model", "gpt-9"],
      ["--model", "fable-5", "--attr", "user.nationalty=FR"],
      ["--model", "fable-5", "--attr", "org.verified=maybe"],
      ["--model", "fable-5", "--at", "yesterday"],
    ]) {
      const r = clearance(["check", "--policy", POLICY, ...args]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(/^clearance: /);
    }
  });

  it("exits 2 when the policy file is missing", () => {
    const r = clearance(["check", "--policy", "nope.yaml", "--model", "fable-5"]);
    expect(r).toMatchObject({ code: 2, stderr: "clearance: cannot read `nope.yaml`: no such file\n" });
  });
});

describe("clearance timeline", () => {
  it("prints one line per instant at which the decision changes", () => {
    const r = clearance([
      "timeline",
      "--policy",
      POLICY,
      "--model",
      "claude-mythos-5",
      ...foreign,
      "--attr",
      "org.id=org-a",
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual([
      "before      ALLOW default",
      "2026-06-12  DENY  us-2026-06-12/foreign-persons",
      "2026-06-26  ALLOW us-2026-06-26/annex-a-mythos",
      "2026-09-01  ALLOW us-2026-06-26/annex-a-mythos  region eu  unknown: org.country, org.sector",
    ]);
  });

  it("--json gives the decisions with the instant each takes effect", () => {
    const r = clearance(["timeline", "--policy", POLICY, "--model", "fable-5", ...foreign, "--json"]);
    const entries = JSON.parse(r.stdout);
    expect(entries.map((e: { from: string | null; decision: string }) => [e.from, e.decision])).toEqual([
      [null, "allow"],
      ["2026-06-12T00:00:00.000Z", "deny"],
      ["2026-09-01T00:00:00.000Z", "deny"],
    ]);
  });
});
