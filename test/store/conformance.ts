import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type AdminEventV1,
  type AuditDecisionV1,
  AuditUnavailableError,
  AuditWriter,
  chainRecords,
  type Draft,
  LATEST_SCHEMA,
  type OpenOptions,
  openStore,
  type Store,
  seedDirectory,
  verifyAudit,
} from "../../src/store/index.ts";
import type { TestDatabase } from "../helpers/databases.ts";

/**
 * The one conformance suite every store adapter passes (Hono's `runTest({ newRouter })` style):
 * `open` gives a fresh empty database; the cases only use the Store port.
 */
export interface ConformanceOptions {
  name: string;
  open: () => Promise<TestDatabase>;
  /** A reason to skip the whole suite (a server not configured). */
  skip?: string | undefined;
}

const NOW = Date.parse("2026-07-01T12:00:00Z");
const HASH = (c: string) => c.repeat(64);

export function decision(i: number, over: Partial<AuditDecisionV1> = {}): AuditDecisionV1 {
  return {
    v: 1,
    time: new Date(NOW + i * 1000).toISOString(),
    decision_id: `d-${i}`,
    key_id: "k1",
    org: i % 2 === 0 ? "acme" : "globex",
    user: `u${i % 3}`,
    request_country: "DE",
    source_ip: "192.0.2.1",
    requested_model: i % 4 === 0 ? "claude-mythos-5" : "glm-5.2",
    decision: i % 5 === 0 ? "deny" : "allow",
    reasons: [
      {
        directive: "us-2026-06-12",
        rule: "foreign-persons",
        effect: "deny",
        authority: "BIS",
        title: "t",
        source: null,
      },
    ],
    unknown: [],
    policy: HASH("a"),
    ...over,
  };
}

export const outcome = {
  served_model: "glm-5.2",
  deployment: "eu-1",
  upstream_status: 200,
  status: 200,
  added_latency_ms: 1.5,
};

export function runStoreConformance({ name, open, skip }: ConformanceOptions): void {
  describe.skipIf(skip !== undefined)(
    `store conformance: ${name}${skip ? ` (skipped: ${skip})` : ""}`,
    () => {
      let db: TestDatabase;
      let store: Store;
      const stores: Store[] = [];
      const openIt = async (options: OpenOptions = {}) => {
        const s = await openStore(db.url, { now: () => NOW, ...options });
        stores.push(s);
        return s;
      };

      beforeEach(async () => {
        db = await open();
        store = await openIt();
      });
      afterEach(async () => {
        for (const s of stores.splice(0)) await s.close().catch(() => {});
        await db.drop();
      });

      describe("migrations", () => {
        it("brings a new database to the latest schema, and reopening is a no-op", async () => {
          expect(store.schemaVersion).toBe(LATEST_SCHEMA);
          const again = await openIt();
          expect(again.schemaVersion).toBe(LATEST_SCHEMA);
        });

        it("refuses a database whose schema is newer than this build, with STORE_SCHEMA_TOO_NEW", async () => {
          await db.exec(
            `INSERT INTO schema_migrations (version, name, applied_at) VALUES (${LATEST_SCHEMA + 1}, 'future', '2030-01-01T00:00:00.000Z')`,
          );
          await expect(openIt()).rejects.toMatchObject({
            code: "STORE_SCHEMA_TOO_NEW",
            message: expect.stringMatching(
              /schema is version \d+ but this clearance knows at most version \d+/,
            ),
          });
        });
      });

      describe("directory", () => {
        beforeEach(async () => {
          await store.upsertOrg({
            id: "acme",
            name: "Acme",
            country: "DE",
            sector: "research",
            verified: true,
            settings: { fallback: true, requestsPerMinute: 60 },
          });
          await store.upsertOrg({ id: "globex", country: "US" });
          await store.upsertUser({
            orgId: "acme",
            id: "ana",
            nationality: ["FR", "DE"],
            permanentResidency: [],
            residence: "DE",
          });
          await store.upsertUser({ orgId: "acme", id: "bo" });
          await store.addCohortMember({ cohort: "trusted-partners", orgId: "acme", since: "2026-06-26" });
          await store.addCohortMember({ cohort: "future-preview", orgId: "acme", since: "2027-01-01" });
        });

        it("returns orgs with their settings and the cohorts they are members of now (since <= now)", async () => {
          expect(await store.getOrg("acme")).toEqual({
            id: "acme",
            name: "Acme",
            country: "DE",
            sector: "research",
            verified: true,
            cohorts: ["trusted-partners"],
            settings: { fallback: true, requestsPerMinute: 60 },
          });
          expect(await store.getOrg("globex")).toEqual({ id: "globex", country: "US", cohorts: [] });
          expect(await store.getOrg("nobody")).toBeUndefined();
          expect((await store.listOrgs()).map((o) => o.id)).toEqual(["acme", "globex"]);
        });

        it("keeps unknown user attributes unknown and known-empty lists empty", async () => {
          expect(await store.getUser("acme", "ana")).toEqual({
            orgId: "acme",
            id: "ana",
            nationality: ["FR", "DE"],
            permanentResidency: [],
            residence: "DE",
          });
          expect(await store.getUser("acme", "bo")).toEqual({ orgId: "acme", id: "bo" });
          expect(await store.getUser("globex", "ana")).toBeUndefined();
        });

        it("updates an org in place and moves a membership's since date", async () => {
          await store.upsertOrg({ id: "globex", country: "GB", verified: false });
          expect(await store.getOrg("globex")).toMatchObject({ country: "GB", verified: false });
          await store.addCohortMember({
            cohort: "future-preview",
            orgId: "acme",
            since: "2026-06-01T00:00:00Z",
          });
          expect((await store.getOrg("acme"))?.cohorts).toEqual(["future-preview", "trusted-partners"]);
          expect(await store.listCohortMembers("future-preview")).toEqual([
            { cohort: "future-preview", orgId: "acme", since: "2026-06-01T00:00:00.000Z" },
          ]);
        });

        it("refuses a user or membership of an unknown org with STORE_NOT_FOUND", async () => {
          await expect(store.upsertUser({ orgId: "nobody", id: "x" })).rejects.toMatchObject({
            code: "STORE_NOT_FOUND",
          });
          await expect(
            store.addCohortMember({ cohort: "c", orgId: "nobody", since: "2026-01-01" }),
          ).rejects.toMatchObject({
            code: "STORE_NOT_FOUND",
          });
          await expect(
            store.addCohortMember({ cohort: "c", orgId: "acme", since: "yesterday" }),
          ).rejects.toMatchObject({
            code: "STORE_INVALID",
          });
        });
      });

      describe("seeding", () => {
        it("puts a directory in once (first start) and leaves a non-empty store alone", async () => {
          const data = {
            orgs: [{ id: "org-a", country: "DE", cohorts: ["annex-a"] }],
            users: [{ orgId: "org-a", id: "alice", nationality: ["US"] }],
            keys: [
              {
                id: "key-a",
                orgId: "org-a",
                prefix: "clr_demo_a",
                hash: HASH("d"),
                createdAt: "2026-06-01",
                revokedAt: null,
              },
            ],
          };
          expect(await seedDirectory(store, data)).toEqual({ seeded: true, orgs: 1, users: 1, keys: 1 });
          expect(await store.getOrg("org-a")).toEqual({ id: "org-a", country: "DE", cohorts: ["annex-a"] });
          expect((await store.findKeyByHash(HASH("d")))?.orgId).toBe("org-a");
          expect(await seedDirectory(store, data)).toMatchObject({ seeded: false });
        });
      });

      describe("transactions", () => {
        it("commit everything or nothing", async () => {
          await expect(
            store.transaction(async (tx) => {
              await tx.upsertOrg({ id: "a" });
              await tx.upsertUser({ orgId: "a", id: "u" });
              throw new Error("boom");
            }),
          ).rejects.toThrow("boom");
          expect(await store.getOrg("a")).toBeUndefined();
          await store.transaction(async (tx) => {
            await tx.upsertOrg({ id: "a" });
            await tx.upsertUser({ orgId: "a", id: "u" });
          });
          expect(await store.getUser("a", "u")).toEqual({ orgId: "a", id: "u" });
        });
      });

      describe("api keys", () => {
        beforeEach(() => store.upsertOrg({ id: "acme" }));

        it("are found by hash, listed per org, and revoked", async () => {
          const created = await store.createApiKey({
            id: "key_1",
            orgId: "acme",
            prefix: "clr_abcd",
            hash: HASH("b"),
            name: "ci",
            createdAt: "2026-07-01T00:00:00Z",
          });
          expect(created).toEqual({
            id: "key_1",
            orgId: "acme",
            prefix: "clr_abcd",
            hash: HASH("b"),
            name: "ci",
            createdAt: "2026-07-01T00:00:00.000Z",
            revokedAt: null,
          });
          expect(await store.findKeyByHash(HASH("b"))).toEqual(created);
          expect(await store.findKeyByHash(HASH("c"))).toBeUndefined();
          expect(await store.listApiKeys("acme")).toEqual([created]);
          const revoked = await store.revokeApiKey("acme", "key_1", "2026-07-02T00:00:00Z");
          expect(revoked.revokedAt).toBe("2026-07-02T00:00:00.000Z");
          expect((await store.findKeyByHash(HASH("b")))?.revokedAt).toBe("2026-07-02T00:00:00.000Z");
        });

        it("refuse an unknown org, a duplicate hash, a bad hash and an unknown key with stable codes", async () => {
          const key = { id: "key_1", orgId: "acme", prefix: "p", hash: HASH("b"), createdAt: "2026-07-01" };
          await expect(store.createApiKey({ ...key, orgId: "nobody" })).rejects.toMatchObject({
            code: "STORE_NOT_FOUND",
          });
          await store.createApiKey(key);
          await expect(store.createApiKey({ ...key, id: "key_2" })).rejects.toMatchObject({
            code: "STORE_CONFLICT",
          });
          await expect(store.createApiKey({ ...key, id: "key_3", hash: "secret" })).rejects.toMatchObject({
            code: "STORE_INVALID",
          });
          await expect(store.revokeApiKey("acme", "key_9", "2026-07-02")).rejects.toMatchObject({
            code: "STORE_NOT_FOUND",
          });
        });
      });

      describe("policy versions", () => {
        it("are numbered 1, 2, 3 … and the latest is the newest", async () => {
          expect(await store.latestPolicy()).toBeUndefined();
          const v1 = await store.publishPolicy({
            document: "version: 1\n",
            sha256: HASH("1"),
            publishedBy: "alice",
            publishedAt: "2026-06-12T09:00:00Z",
          });
          const v2 = await store.publishPolicy({
            document: "version: 1\n# v2\n",
            sha256: HASH("2"),
            publishedBy: "bob",
            publishedAt: "2026-06-26T09:00:00Z",
          });
          expect([v1.version, v2.version]).toEqual([1, 2]);
          expect(await store.latestPolicy()).toEqual(v2);
          expect(await store.getPolicyVersion(1)).toEqual({ ...v1, publishedAt: "2026-06-12T09:00:00.000Z" });
          expect(await store.listPolicyVersions()).toEqual([
            { version: 1, sha256: HASH("1"), publishedBy: "alice", publishedAt: "2026-06-12T09:00:00.000Z" },
            { version: 2, sha256: HASH("2"), publishedBy: "bob", publishedAt: "2026-06-26T09:00:00.000Z" },
          ]);
          await expect(
            store.publishPolicy({
              document: "x",
              sha256: "nope",
              publishedBy: "a",
              publishedAt: "2026-01-01",
            }),
          ).rejects.toMatchObject({
            code: "STORE_INVALID",
          });
        });
      });

      describe("audit log", () => {
        const records = (from: number, to: number) =>
          Array.from({ length: to - from }, (_, k) => ({ ...decision(from + k), ...outcome }));

        it("appends chained records, moves the head, and refuses a stale head with STORE_CONFLICT", async () => {
          const rows = chainRecords("node-a", null, records(0, 3));
          await store.appendAudit("node-a", null, rows);
          const head = await store.chainHead("node-a");
          expect(head).toEqual({ node: "node-a", seq: 3, hash: rows[2]!.hash });
          await expect(
            store.appendAudit("node-a", null, chainRecords("node-a", null, records(3, 4))),
          ).rejects.toMatchObject({
            code: "STORE_CONFLICT",
          });
          await store.appendAudit("node-a", head, chainRecords("node-a", head, records(3, 4)));
          expect((await verifyAudit(store)).ok).toBe(true);
        });

        it("answers queries by org, user, model, decision and time range, in pages", async () => {
          await store.appendAudit("n", null, chainRecords("n", null, records(0, 40)));
          const all = async (filter: Parameters<Store["queryAudit"]>[0]) => {
            const out: string[] = [];
            let page = await store.queryAudit(filter, 7);
            out.push(...page.rows.map((r) => r.decisionId));
            while (page.next) {
              page = await store.queryAudit(filter, 7, page.next);
              out.push(...page.rows.map((r) => r.decisionId));
            }
            return out;
          };
          expect(await all({})).toHaveLength(40);
          expect(await all({ org: "acme", decision: "deny" })).toEqual(["d-0", "d-10", "d-20", "d-30"]);
          expect(await all({ model: "claude-mythos-5", user: "u0" })).toEqual([
            "d-0",
            "d-12",
            "d-24",
            "d-36",
          ]);
          expect(
            await all({ from: new Date(NOW + 5000).toISOString(), to: new Date(NOW + 8000).toISOString() }),
          ).toEqual(["d-5", "d-6", "d-7"]);
        });

        it("verify names the first edited, removed or reordered record", async () => {
          await store.appendAudit("n", null, chainRecords("n", null, records(0, 10)));
          expect(await verifyAudit(store)).toMatchObject({ ok: true, records: 10 });

          await db.exec(
            'UPDATE audit_log SET record = replace(record, \'"decision":"allow"\', \'"decision":"deny"\') WHERE seq = 4',
          );
          expect((await verifyAudit(store)).chains[0]).toMatchObject({
            ok: false,
            broken: { seq: 4, decisionId: "d-3", reason: expect.stringMatching(/edited/) },
          });

          await db.exec("DELETE FROM audit_log WHERE seq = 4");
          expect((await verifyAudit(store)).chains[0]).toMatchObject({
            ok: false,
            broken: { seq: 4, reason: expect.stringMatching(/removed/) },
          });
        });

        it("verify detects an edited query column and removed newest records", async () => {
          await store.appendAudit("n", null, chainRecords("n", null, records(0, 5)));
          await db.exec("UPDATE audit_log SET org = 'initech' WHERE seq = 2");
          expect((await verifyAudit(store)).chains[0]?.broken).toMatchObject({
            seq: 2,
            reason: expect.stringMatching(/`org`/),
          });
          await db.exec("UPDATE audit_log SET org = 'globex' WHERE seq = 2");
          expect((await verifyAudit(store)).ok).toBe(true);
          await db.exec("DELETE FROM audit_log WHERE seq = 5");
          expect((await verifyAudit(store)).chains[0]?.broken).toMatchObject({
            seq: 5,
            reason: expect.stringMatching(/newest records were removed/),
          });
        });

        it("the writer commits concurrent records in group commits, one chain per node, verifiable", async () => {
          const a = await AuditWriter.start(store, { node: "gw-a" });
          const b = await AuditWriter.start(store, { node: "gw-b" });
          expect(a.ready).toBe(true);
          const commits = Array.from({ length: 600 }, (_, i) =>
            (i % 2 ? a : b).open(decision(i)).commit(outcome),
          );
          await Promise.all(commits);
          expect(a.stats.committed + b.stats.committed).toBe(600);
          expect(a.stats.batches).toBeLessThan(300 / 10);
          await a.close();
          await b.close();
          const report = await verifyAudit(store);
          expect(report).toMatchObject({ ok: true, records: 600 });
          expect(report.chains.map((c) => [c.node, c.records])).toEqual([
            ["gw-a", 300],
            ["gw-b", 300],
          ]);
          const again = await AuditWriter.start(store, { node: "gw-a" });
          await again.open(decision(1000)).commit(outcome);
          expect((await store.chainHead("gw-a"))?.seq).toBe(301);
          expect((await verifyAudit(store)).ok).toBe(true);
          await again.close();
        });

        it("the writer stores exactly the record's fields, never a prompt", async () => {
          const w = await AuditWriter.start(store, { node: "n" });
          const sneaky = {
            ...decision(1),
            prompt: "secret prompt",
            messages: [{ content: "secret" }],
          } as AuditDecisionV1;
          await w.open(sneaky).commit({ ...outcome, completion: "secret completion" } as typeof outcome);
          await w.close();
          const [row] = (await store.queryAudit({}, 10)).rows;
          expect(row?.record).not.toMatch(/secret/);
          expect(Object.keys(JSON.parse(row!.record)).sort()).toEqual(
            [
              "added_latency_ms",
              "decision",
              "decision_id",
              "deployment",
              "error_code",
              "key_id",
              "org",
              "policy",
              "reasons",
              "request_country",
              "requested_model",
              "served_model",
              "source_ip",
              "status",
              "time",
              "unknown",
              "upstream_status",
              "user",
              "v",
            ].sort(),
          );
        });

        it("a decision id already stored with another record is refused; the rest of the batch commits", async () => {
          const w = await AuditWriter.start(store, { node: "n" });
          await w.open(decision(1)).commit(outcome);
          const results = await Promise.allSettled([
            w.open(decision(2)).commit(outcome),
            w.open(decision(1, { org: "other" })).commit(outcome),
            w.open(decision(3)).commit(outcome),
          ]);
          expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
          expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(
            /`d-1` is already in the audit log/,
          );
          expect(w.ready).toBe(true);
          await w.close();
          expect(await verifyAudit(store)).toMatchObject({ ok: true, records: 3 });
        });

        it("a full queue makes the writer not ready and open() throw AuditUnavailableError", async () => {
          const w = await AuditWriter.start(store, { node: "n", maxQueue: 3 });
          const entries = [w.open(decision(1)), w.open(decision(2)), w.open(decision(3))];
          expect(w.ready).toBe(false);
          expect(() => w.open(decision(4))).toThrow(AuditUnavailableError);
          await Promise.all(entries.map((e) => e.commit(outcome)));
          expect(w.ready).toBe(true);
          await w.close();
        });
      });

      describe("admin (schema 2)", () => {
        const draft = (over: Partial<Draft> = {}): Draft => ({
          id: "drf_1",
          title: "fable-5 lift",
          document: "version: 1",
          sha256: null,
          author: "tok_ed",
          state: "draft",
          baseVersion: null,
          directives: ["us-2026-08-01"],
          effectiveAt: null,
          impact: null,
          approvedBy: null,
          publishedVersion: null,
          createdAt: "2026-07-01T00:00:00.000Z",
          updatedAt: "2026-07-01T00:00:00.000Z",
          revision: 1,
          ...over,
        });

        it("keeps admin tokens by hash, lists and revokes them", async () => {
          await store.createAdminToken({
            id: "tok_a",
            name: "alice",
            role: "approver",
            hash: HASH("c"),
            createdBy: null,
            createdAt: "2026-07-01",
            revokedAt: null,
          });
          expect(await store.findAdminTokenByHash(HASH("c"))).toMatchObject({
            id: "tok_a",
            role: "approver",
          });
          expect(await store.findAdminTokenByHash(HASH("d"))).toBeUndefined();
          expect((await store.revokeAdminToken("tok_a", "2026-07-02")).revokedAt).toBe(
            "2026-07-02T00:00:00.000Z",
          );
          expect((await store.listAdminTokens())[0]?.revokedAt).toBe("2026-07-02T00:00:00.000Z");
          await expect(store.revokeAdminToken("nope", "2026-07-02")).rejects.toMatchObject({
            code: "STORE_NOT_FOUND",
          });
          await expect(
            store.createAdminToken({
              id: "tok_b",
              name: "b",
              role: "viewer",
              hash: HASH("c"),
              createdBy: null,
              createdAt: "2026-07-01",
              revokedAt: null,
            }),
          ).rejects.toMatchObject({ code: "STORE_CONFLICT" });
        });

        it("stores drafts with optimistic revisions: a stale revision is STORE_CONFLICT", async () => {
          await store.createDraft(draft());
          expect(await store.getDraft("drf_1")).toEqual(draft());
          await store.updateDraft(draft({ state: "validated", sha256: HASH("e"), revision: 2 }), 1);
          expect(await store.getDraft("drf_1")).toMatchObject({ state: "validated", revision: 2 });
          await expect(store.updateDraft(draft({ revision: 2 }), 1)).rejects.toMatchObject({
            code: "STORE_CONFLICT",
          });
          await expect(store.updateDraft(draft({ id: "drf_x", revision: 2 }), 1)).rejects.toMatchObject({
            code: "STORE_NOT_FOUND",
          });
          expect((await store.listDrafts()).map((d) => d.id)).toEqual(["drf_1"]);
        });

        it("lists lifecycle events oldest first, by draft or by directive", async () => {
          await store.addLifecycleEvent({
            draftId: "drf_1",
            directives: ["a"],
            action: "created",
            actor: "tok_ed",
            at: "2026-07-01",
            policyVersion: null,
            detail: { title: "t" },
          });
          await store.addLifecycleEvent({
            draftId: "drf_2",
            directives: ["b"],
            action: "created",
            actor: "tok_ed",
            at: "2026-07-02",
            policyVersion: null,
            detail: {},
          });
          await store.addLifecycleEvent({
            draftId: "drf_1",
            directives: ["a"],
            action: "published",
            actor: "tok_ap",
            at: "2026-07-03",
            policyVersion: 2,
            detail: {},
          });
          expect((await store.listLifecycleEvents()).map((e) => e.action)).toEqual([
            "created",
            "created",
            "published",
          ]);
          expect(await store.listLifecycleEvents({ directive: "a" })).toMatchObject([
            { draftId: "drf_1", action: "created", at: "2026-07-01T00:00:00.000Z", detail: { title: "t" } },
            { action: "published", policyVersion: 2 },
          ]);
          expect((await store.listLifecycleEvents({ draftId: "drf_2" })).length).toBe(1);
        });

        it("keeps notices, the active ones until their effective instant, and a webhook delivery log", async () => {
          const notice = {
            id: "ntc_1",
            orgId: "acme",
            policyVersion: 3,
            draftId: "drf_1",
            directives: ["d"],
            models: ["fable-5"],
            effectiveAt: "2026-08-01",
            grace: "P30D",
            createdAt: "2026-07-01",
            payload: "{}",
            state: "pending" as const,
            attempts: 0,
          };
          await store.createNotice(notice);
          expect(await store.getNotice("ntc_1")).toMatchObject({ effectiveAt: "2026-08-01T00:00:00.000Z" });
          expect((await store.activeNotices("2026-07-31T23:59:59Z")).map((n) => n.id)).toEqual(["ntc_1"]);
          expect(await store.activeNotices("2026-08-01")).toEqual([]);
          await store.addWebhookDelivery({
            noticeId: "ntc_1",
            orgId: "acme",
            url: "http://127.0.0.1:1/h",
            attempt: 1,
            at: "2026-07-01",
            status: 500,
            ok: false,
            error: "http 500",
          });
          await store.setNoticeState("ntc_1", "delivered", 2);
          expect(await store.listNotices({ state: "delivered" })).toMatchObject([
            { id: "ntc_1", attempts: 2 },
          ]);
          expect(await store.listNotices({ orgId: "other" })).toEqual([]);
          expect(await store.listWebhookDeliveries("ntc_1")).toMatchObject([
            { attempt: 1, status: 500, ok: false },
          ]);
          await expect(store.setNoticeState("nope", "failed", 1)).rejects.toMatchObject({
            code: "STORE_NOT_FOUND",
          });
        });

        it("pages orgs by id with filters, pages users, deletes a user", async () => {
          for (const id of ["a", "b", "c", "d"])
            await store.upsertOrg({ id, country: id === "c" ? "FR" : "DE", sector: "x" });
          await store.addCohortMember({ cohort: "k", orgId: "b", since: "2026-01-01" });
          await store.addCohortMember({ cohort: "k", orgId: "d", since: "2027-01-01" });
          expect((await store.pageOrgs({}, 2)).map((o) => o.id)).toEqual(["a", "b"]);
          expect((await store.pageOrgs({}, 2, "b")).map((o) => o.id)).toEqual(["c", "d"]);
          expect((await store.pageOrgs({ country: "DE" }, 10, "a")).map((o) => o.id)).toEqual(["b", "d"]);
          expect(await store.pageOrgs({ cohort: "k" }, 10)).toMatchObject([{ id: "b", cohorts: ["k"] }]);
          for (const id of ["u1", "u2", "u3"]) await store.upsertUser({ orgId: "a", id });
          expect((await store.pageUsers("a", 2, "u1")).map((u) => u.id)).toEqual(["u2", "u3"]);
          expect(await store.deleteUser("a", "u2")).toBe(true);
          expect(await store.deleteUser("a", "u2")).toBe(false);
          await expect(store.deleteOrg("a")).rejects.toMatchObject({
            code: "STORE_CONFLICT",
            message: "organisation `a` still has 2 users; remove them first",
          });
          expect(await store.deleteOrg("c")).toBe(true);
          expect(await store.deleteOrg("c")).toBe(false);
          expect(await store.getOrg("c")).toBeUndefined();
        });

        it("chains admin events in the audit log next to decisions, and verify passes", async () => {
          const event: AdminEventV1 = {
            v: 1,
            kind: "admin",
            time: "2026-07-01T00:00:00.000Z",
            decision_id: "adm_1",
            actor: "tok_a",
            role: "approver",
            action: "POST /admin/v1/drafts/:id/approve",
            target: "draft:drf_1",
            org: null,
            user: null,
            requested_model: null,
            decision: "admin",
            reasons: [],
            unknown: [],
            status: 200,
            error_code: null,
            detail: {},
          };
          await store.appendAudit("admin", null, chainRecords("admin", null, [event]));
          const head = await store.chainHead("admin");
          await store.appendAudit(
            "admin",
            head,
            chainRecords("admin", head, [{ ...event, decision_id: "adm_2" }]),
          );
          expect(await verifyAudit(store)).toMatchObject({ ok: true, records: 2 });
          expect((await store.queryAudit({ decision: "allow" }, 10)).rows).toEqual([]);
        });
      });
    },
  );
}
