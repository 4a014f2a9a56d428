import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { issueAdminToken } from "../../src/admin/tokens.ts";
import { verifyAudit } from "../../src/store/index.ts";
import { PG_SKIP, postgresDatabase, sqliteDatabase, type TestDatabase } from "../helpers/databases.ts";
import {
  type AdminHarness,
  EXAMPLE,
  NOW,
  publish,
  seedDirectory,
  startAdmin,
  WITHDRAWAL,
} from "./helpers.ts";

describe.each([
  { name: "sqlite", open: sqliteDatabase, skip: undefined },
  { name: "postgres", open: () => postgresDatabase(), skip: PG_SKIP },
])("admin lifecycle on $name", ({ name, open, skip }) => {
  let db: TestDatabase;
  let h: AdminHarness;
  beforeEach(async () => {
    if (skip) return;
    db = await open();
    h = await startAdmin(db);
    await seedDirectory(h);
  });
  afterEach(async () => {
    if (skip) return;
    await h.close();
    await db.drop();
  });

  it.skipIf(skip !== undefined)(
    `draft → validated → impact → approved by a second person → published (${name}${skip ? `: skipped, ${skip}` : ""})`,
    async () => {
      const v1 = await publish(h, EXAMPLE, "The 2026 frontier directives");
      expect(v1.published).toMatchObject({ version: 1 });

      const created = await h.call("POST", "/admin/v1/drafts", {
        token: h.tokens.editor,
        body: { title: "fable-5 withdrawal", document: WITHDRAWAL },
      });
      const id = created.json.id;
      expect(created.headers.get("etag")).toBe('"r1"');
      // Steps out of order are refused with the state they need.
      const early = await h.call("POST", `/admin/v1/drafts/${id}/approve`, { token: h.tokens.approver });
      expect(early).toMatchObject({ status: 409, json: { error: { code: "ADMIN_DRAFT_STATE" } } });
      expect(early.json.error.message).toMatch(/needs `impact_computed`/);

      const validated = await h.call("POST", `/admin/v1/drafts/${id}/validate`, { token: h.tokens.editor });
      expect(validated.json).toMatchObject({
        state: "validated",
        directives: ["us-2026-08-01"],
        baseVersion: 1,
      });

      const impact = await h.call("POST", `/admin/v1/drafts/${id}/impact`, { token: h.tokens.editor });
      expect(impact.status).toBe(200);
      const report = impact.json.impact;
      expect(report.at).toBe("2026-08-01T00:00:00.000Z");
      expect(report.changedModels).toEqual(["fable-5"]);
      // ben lives in DE (requests from there); ann and gus in the US; amy was already denied (foreign person).
      expect(report.entries).toMatchObject([
        {
          model: "fable-5",
          change: "loss",
          count: 1,
          orgs: ["acme"],
          principals: [{ org: "acme", user: "ben" }],
          because: { added: [{ directive: "us-2026-08-01", rule: "fable-outside-us" }] },
        },
      ]);
      expect(report.losses).toEqual({ acme: ["fable-5"] });
      expect(report.byCountry.US).toEqual({ gains: 0, losses: 1, requirements: 0 });
      expect(
        (await h.call("GET", `/admin/v1/drafts/${id}/impact`, { token: h.tokens.viewer })).json.totals,
      ).toEqual({
        gains: 0,
        losses: 1,
        requirements: 0,
      });

      // The author may not approve, even with an approver token of their own.
      const own = (
        await issueAdminToken(h.store, { name: "eddie", role: "approver", createdBy: null, at: NOW })
      ).token;
      const self = await h.call("POST", `/admin/v1/drafts/${id}/approve`, { token: own });
      expect(self).toMatchObject({ status: 403, json: { error: { code: "ADMIN_SELF_APPROVAL" } } });
      const wrongRole = await h.call("POST", `/admin/v1/drafts/${id}/approve`, { token: h.tokens.editor2 });
      expect(wrongRole).toMatchObject({ status: 403, json: { error: { code: "ADMIN_FORBIDDEN" } } });
      expect(wrongRole.json.error.message).toMatch(/needs role `approver`; this token has role `editor`/);

      const approved = await h.call("POST", `/admin/v1/drafts/${id}/approve`, {
        token: h.tokens.approver,
        body: { comment: "matches the letter" },
      });
      expect(approved.json).toMatchObject({ state: "approved" });
      const published = await h.call("POST", `/admin/v1/drafts/${id}/publish`, { token: h.tokens.approver });
      expect(published.json).toMatchObject({
        version: 2,
        effectiveAt: "2026-08-01T00:00:00.000Z",
        notices: [{ org: "acme", models: ["fable-5"], grace: "P30D" }],
      });
      // Published is final: no edit, no second publication.
      const edit = await h.call("PUT", `/admin/v1/drafts/${id}`, {
        token: h.tokens.editor,
        body: { document: EXAMPLE },
      });
      expect(edit).toMatchObject({ status: 409, json: { error: { code: "ADMIN_DRAFT_STATE" } } });
      expect((await h.store.latestPolicy())?.version).toBe(2);

      // The history of the directive reads as a story.
      const story = (
        await h.call("GET", "/admin/v1/history?directive=us-2026-08-01", { token: h.tokens.viewer })
      ).json.items.map((e: { story: string }) => e.story);
      expect(story).toEqual([
        expect.stringMatching(/eddie \(editor\) wrote draft `drf_\w+` “fable-5 withdrawal”/),
        expect.stringMatching(/eddie \(editor\) validated draft `drf_\w+`: valid; changes `us-2026-08-01`/),
        expect.stringMatching(
          /eddie \(editor\) computed the impact of draft `drf_\w+` at 2026-08-01T00:00:00.000Z: 0 gain, 1 lose access/,
        ),
        expect.stringMatching(/april \(approver\) approved draft `drf_\w+`: “matches the letter”/),
        expect.stringMatching(
          /april \(approver\) published draft `drf_\w+` as version 2, in force 2026-08-01T00:00:00.000Z; 1 org\(s\) notified/,
        ),
      ]);

      // Rollback publishes version 1's document as version 3.
      const rolled = await h.call("POST", "/admin/v1/policy/rollback", {
        token: h.tokens.approver2,
        body: { version: 1, reason: "letter withdrawn" },
      });
      expect(rolled.json).toMatchObject({ version: 3, restored: 1, directives: ["us-2026-08-01"] });
      const versions = (await h.call("GET", "/admin/v1/policy/versions", { token: h.tokens.viewer })).json
        .items;
      expect(versions.map((v: { version: number; sha256: string }) => v.version)).toEqual([1, 2, 3]);
      expect(versions[2].sha256).toBe(versions[0].sha256);
      const after = (
        await h.call("GET", "/admin/v1/history?directive=us-2026-08-01", { token: h.tokens.viewer })
      ).json.items;
      expect(after.at(-1).story).toMatch(
        /abel \(approver\) rolled the policy back from version 2 to the document of version 1, published as version 3: “letter withdrawn”/,
      );

      // Every admin action is in the audit log, chained; verify still passes.
      const audit = await h.call("GET", "/admin/v1/audit?limit=1000", { token: h.tokens.auditor });
      const actions = audit.json.items.map(
        (i: { record: { action: string; status: number } }) => `${i.record.action} ${i.record.status}`,
      );
      expect(actions).toContain("POST /admin/v1/drafts/:id/publish 200");
      expect(actions).toContain("POST /admin/v1/drafts/:id/approve 403");
      expect(await verifyAudit(h.store)).toMatchObject({ ok: true });
    },
  );

  it.skipIf(skip !== undefined)(
    "a version published after the impact was computed makes approval stale",
    async () => {
      await publish(h, EXAMPLE, "v1");
      const a = (
        await h.call("POST", "/admin/v1/drafts", {
          token: h.tokens.editor,
          body: { title: "a", document: WITHDRAWAL },
        })
      ).json.id;
      await h.call("POST", `/admin/v1/drafts/${a}/validate`, { token: h.tokens.editor });
      await h.call("POST", `/admin/v1/drafts/${a}/impact`, { token: h.tokens.editor });
      await publish(h, EXAMPLE.replace("Licence required", "A licence required"), "v2");
      const stale = await h.call("POST", `/admin/v1/drafts/${a}/approve`, { token: h.tokens.approver });
      expect(stale).toMatchObject({ status: 409, json: { error: { code: "ADMIN_STALE_BASE" } } });
      const again = await h.call("POST", `/admin/v1/drafts/${a}/impact`, { token: h.tokens.editor });
      expect(again.json.draft.baseVersion).toBe(2);
      expect(
        (await h.call("POST", `/admin/v1/drafts/${a}/approve`, { token: h.tokens.approver })).status,
      ).toBe(200);

      // Two drafts approved on one base, published at once by two admin processes (two apps, two
      // connections, two audit chains): one wins, the other must be recomputed.
      const h2 = await startAdmin(db, { auditNode: "admin-2" });
      const b = (
        await h.call("POST", "/admin/v1/drafts", {
          token: h.tokens.editor,
          body: { title: "b", document: EXAMPLE },
        })
      ).json.id;
      await h.call("POST", `/admin/v1/drafts/${b}/validate`, { token: h.tokens.editor });
      await h.call("POST", `/admin/v1/drafts/${b}/impact`, { token: h.tokens.editor });
      await h.call("POST", `/admin/v1/drafts/${b}/approve`, { token: h.tokens.approver });
      const results = await Promise.all([
        h.call("POST", `/admin/v1/drafts/${a}/publish`, { token: h.tokens.approver }),
        h2.call("POST", `/admin/v1/drafts/${b}/publish`, { token: h2.tokens.approver2 }),
      ]);
      await h2.close();
      expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
      expect(results.find((r) => r.status === 409)?.json.error.code).toBe("ADMIN_STALE_BASE");
      expect((await h.store.listPolicyVersions()).map((v) => v.version)).toEqual([1, 2, 3]);
      expect(await verifyAudit(h.store)).toMatchObject({ ok: true });
    },
  );
});
