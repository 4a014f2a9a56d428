import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditWriter } from "../../src/store/index.ts";
import { sqliteDatabase, type TestDatabase } from "../helpers/databases.ts";
import { decision, outcome } from "../store/conformance.ts";
import { type AdminHarness, EXAMPLE, publish, seedDirectory, startAdmin } from "./helpers.ts";

describe("reports", () => {
  let db: TestDatabase;
  let h: AdminHarness;
  beforeAll(async () => {
    db = await sqliteDatabase();
    h = await startAdmin(db);
    await seedDirectory(h);
    await h.store.upsertOrg({ id: "org-b", name: "Org B", country: "DE" });
    await publish(h, EXAMPLE, "v1"); // names org-a and org-b in annex-a, published 2026-07-01T12:00Z
    await h.store.upsertOrg({ id: "frontier-labs", name: "Frontier Labs", country: "US" });
    await h.store.addCohortMember({ cohort: "annex-a", orgId: "acme", since: "2026-06-26" });
    const w = await AuditWriter.start(h.store, { node: "gw-1" });
    const at = (iso: string, i: number, over: Parameters<typeof decision>[1]) =>
      w
        .open(
          decision(i, {
            time: new Date(Date.parse(iso) + i * 1000).toISOString(),
            decision_id: `r-${iso}-${i}`,
            ...over,
          }),
        )
        .commit(outcome);
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 3; i++)
      writes.push(
        at("2026-07-02T00:00:00Z", i, {
          org: "org-a",
          requested_model: "claude-mythos-5",
          decision: "allow",
        }),
      );
    writes.push(
      at("2026-07-03T00:00:00Z", 0, { org: "org-a", requested_model: "fable-5", decision: "deny" }),
    );
    for (let i = 0; i < 2; i++)
      writes.push(
        at("2026-08-05T00:00:00Z", i, {
          org: "org-a",
          requested_model: "claude-mythos-5",
          decision: "allow",
        }),
      );
    writes.push(
      at("2026-06-20T00:00:00Z", 0, { org: "org-a", requested_model: "claude-mythos-5", decision: "allow" }),
    ); // before membership
    writes.push(
      at("2026-07-10T00:00:00Z", 0, { org: "acme", requested_model: "glm-5.2", decision: "allow" }),
    );
    await Promise.all(writes);
    await w.close();
    h.clock.now = Date.parse("2026-09-01T00:00:00Z");
  });
  afterAll(async () => {
    await h.close();
    await db.drop();
  });

  it("cohort participation as JSON: members since when, requests by model per month from the audit log", async () => {
    const res = await h.call(
      "GET",
      "/admin/v1/reports/cohort?cohort=annex-a&authority=US%20Department%20of%20Commerce",
      { token: h.tokens.auditor },
    );
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      cohort: "annex-a",
      disclosedTo: "US Department of Commerce",
      authority: "US Department of Commerce",
      policyVersion: 1,
      to: "2026-09-01T00:00:00.000Z",
    });
    expect(res.json.members).toEqual([
      {
        org: "acme",
        name: "Acme",
        country: "US",
        since: "2026-06-26T00:00:00.000Z",
        source: "directory",
        requests: [{ month: "2026-07", model: "glm-5.2", requests: 1, allowed: 1, denied: 0 }],
      },
      {
        org: "org-a",
        name: "Org A",
        country: "FR",
        since: "2026-07-01T12:00:00.000Z",
        source: "policy",
        requests: [
          { month: "2026-07", model: "claude-mythos-5", requests: 3, allowed: 3, denied: 0 },
          { month: "2026-07", model: "fable-5", requests: 1, allowed: 0, denied: 1 },
          { month: "2026-08", model: "claude-mythos-5", requests: 2, allowed: 2, denied: 0 },
        ],
      },
      {
        org: "org-b",
        name: "Org B",
        country: "DE",
        since: "2026-07-01T12:00:00.000Z",
        source: "policy",
        requests: [],
      },
    ]);
  });

  it("as CSV and as a printable HTML page; only for auditors", async () => {
    const csv = await h.call("GET", "/admin/v1/reports/cohort?cohort=annex-a&format=csv", {
      token: h.tokens.auditor,
    });
    expect(csv.headers.get("content-type")).toMatch(/^text\/csv/);
    expect(csv.text.split("\n").slice(0, 3)).toEqual([
      "cohort,org,name,country,since,month,model,requests,allowed,denied",
      "annex-a,acme,Acme,US,2026-06-26T00:00:00.000Z,2026-07,glm-5.2,1,1,0",
      "annex-a,org-a,Org A,FR,2026-07-01T12:00:00.000Z,2026-07,claude-mythos-5,3,3,0",
    ]);
    expect(csv.text).toContain("annex-a,org-b,Org B,DE,2026-07-01T12:00:00.000Z,,,0,0,0");
    const html = await h.call("GET", "/admin/v1/reports/cohort?cohort=annex-a&format=html", {
      token: h.tokens.auditor,
    });
    expect(html.headers.get("content-type")).toMatch(/^text\/html/);
    expect(html.text).toMatch(/<h1>Cohort participation report: annex-a<\/h1>/);
    expect(html.text).toContain('<td>claude-mythos-5</td><td class="n">3</td>');
    expect(html.text).toContain("@media print");
    expect(html.text).not.toMatch(/<script/);
    expect(
      (await h.call("GET", "/admin/v1/reports/cohort?cohort=annex-a", { token: h.tokens.viewer })).status,
    ).toBe(403);
    expect(
      (await h.call("GET", "/admin/v1/reports/cohort?cohort=nope", { token: h.tokens.auditor })).json.error
        .code,
    ).toBe("ADMIN_NOT_FOUND");
  });

  it("the access matrix as of an instant: model × country (× cohort), JSON and CSV", async () => {
    const m = (
      await h.call("GET", "/admin/v1/reports/access-matrix?at=2026-07-01&cohorts=true", {
        token: h.tokens.viewer,
      })
    ).json;
    expect(m.models).toEqual(["claude-mythos-5", "cyber-preview", "fable-5", "glm-5.2"]);
    expect(m.cohorts).toEqual([null, "annex-a", "cyber-preview-partners", "provider-staff"]);
    const cell = (model: string, country: string, cohort: string | null) =>
      m.cells.find(
        (c: { model: string; country: string; cohort: string | null }) =>
          c.model === model && c.country === country && c.cohort === cohort,
      );
    expect(cell("claude-mythos-5", "US", null).decision).toBe("allow");
    expect(cell("claude-mythos-5", "FR", null)).toMatchObject({
      decision: "deny",
      reasons: ["deny:us-2026-06-12/foreign-persons"],
    });
    expect(cell("claude-mythos-5", "FR", "annex-a").decision).toBe("allow");
    expect(cell("fable-5", "FR", "annex-a").decision).toBe("deny");
    expect(cell("cyber-preview", "FR", "cyber-preview-partners").decision).toBe("deny"); // the preview starts 15 July
    const sept = (
      await h.call("GET", "/admin/v1/reports/access-matrix?at=2026-09-01&sector=public&cohorts=true", {
        token: h.tokens.viewer,
      })
    ).json;
    const later = (model: string, country: string, cohort: string | null) =>
      sept.cells.find(
        (c: { model: string; country: string; cohort: string | null }) =>
          c.model === model && c.country === country && c.cohort === cohort,
      );
    expect(later("cyber-preview", "FR", "cyber-preview-partners").decision).toBe("allow");
    expect(later("claude-mythos-5", "AT", "annex-a")).toMatchObject({
      decision: "allow",
      requirements: { region: ["eu"] },
    });
    const csv = await h.call("GET", "/admin/v1/reports/access-matrix?at=2026-07-01&format=csv", {
      token: h.tokens.viewer,
    });
    expect(csv.text.split("\n")[0]).toBe("model,country,cohort,decision,requirements,reasons");
    expect(csv.text).toContain("claude-mythos-5,FR,,deny,,deny:us-2026-06-12/foreign-persons");
  });
});
