import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_CODES } from "../../src/admin/errors.ts";
import { verifyAudit } from "../../src/store/index.ts";
import { sqliteDatabase, type TestDatabase } from "../helpers/databases.ts";
import { type AdminHarness, EXAMPLE, publish, seedDirectory, startAdmin } from "./helpers.ts";

describe("admin API: directory, decisions, roles, OpenAPI", () => {
  let db: TestDatabase;
  let h: AdminHarness;
  beforeAll(async () => {
    db = await sqliteDatabase();
    h = await startAdmin(db, { bodyLimit: 64 * 1024 });
    await seedDirectory(h);
    await publish(h, EXAMPLE, "v1");
  });
  afterAll(async () => {
    await h.close();
    await db.drop();
  });

  it("creates, reads and replaces orgs with ETags; a stale If-Match is 409 and writes nothing", async () => {
    const created = await h.call("PUT", "/admin/v1/orgs/initech", {
      body: {
        name: "Initech",
        country: "de",
        sector: "private",
        settings: { webhookUrl: "http://127.0.0.1:9/h", webhookSecret: "s".repeat(20) },
      },
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ id: "initech", country: "DE", settings: { webhookSecret: "***" } });
    const etag = created.headers.get("etag")!;
    expect(
      (await h.call("GET", "/admin/v1/orgs/initech", { token: h.tokens.viewer })).headers.get("etag"),
    ).toBe(etag);

    const updated = await h.call("PUT", "/admin/v1/orgs/initech", {
      headers: { "if-match": etag },
      body: { name: "Initech AG", country: "DE", settings: { webhookUrl: "http://127.0.0.1:9/h" } },
    });
    expect(updated.status).toBe(200);
    expect(updated.headers.get("etag")).not.toBe(etag);
    expect((await h.store.getOrg("initech"))?.settings?.webhookSecret).toBe("s".repeat(20)); // kept, never shown

    const stale = await h.call("PUT", "/admin/v1/orgs/initech", {
      headers: { "if-match": etag },
      body: { name: "Lost update" },
    });
    expect(stale).toMatchObject({ status: 409, json: { error: { code: "ADMIN_STALE_ETAG" } } });
    expect((await h.store.getOrg("initech"))?.name).toBe("Initech AG");

    const busy = await h.call("DELETE", "/admin/v1/orgs/acme");
    expect(busy).toMatchObject({ status: 409, json: { error: { code: "ADMIN_CONFLICT" } } });
    expect(busy.json.error.message).toMatch(/still has 2 users/);
    await h.call("PUT", "/admin/v1/orgs/tmp", { body: {} });
    expect((await h.call("DELETE", "/admin/v1/orgs/tmp")).status).toBe(204);
    expect((await h.call("DELETE", "/admin/v1/orgs/tmp")).status).toBe(404);
  });

  it("pages and filters orgs, pages users", async () => {
    const first = await h.call("GET", "/admin/v1/orgs?limit=2", { token: h.tokens.viewer });
    expect(first.json.items.map((o: { id: string }) => o.id)).toEqual(["acme", "globex"]);
    const second = await h.call("GET", `/admin/v1/orgs?limit=2&after=${first.json.next}`, {
      token: h.tokens.viewer,
    });
    expect(second.json.items.map((o: { id: string }) => o.id)).toEqual(["initech", "org-a"]);
    const fr = await h.call("GET", "/admin/v1/orgs?country=FR", { token: h.tokens.viewer });
    expect(fr.json).toEqual({ items: [expect.objectContaining({ id: "org-a" })] });
    const users = await h.call("GET", "/admin/v1/orgs/acme/users?limit=1", { token: h.tokens.viewer });
    expect(users.json).toMatchObject({ items: [{ id: "ann" }], next: "ann" });
  });

  it("manages users, cohort memberships and API keys (the key shown once)", async () => {
    const put = await h.call("PUT", "/admin/v1/orgs/acme/users/cid", {
      body: { nationality: ["fr"], permanent_residency: [], residence: "FR" },
    });
    expect(put).toMatchObject({ status: 201, json: { orgId: "acme", id: "cid", nationality: ["FR"] } });
    const etag = put.headers.get("etag")!;
    const gone = await h.call("DELETE", "/admin/v1/orgs/acme/users/cid", {
      headers: { "if-match": '"stale"' },
    });
    expect(gone).toMatchObject({ status: 409, json: { error: { code: "ADMIN_STALE_ETAG" } } });
    expect(
      (await h.call("DELETE", "/admin/v1/orgs/acme/users/cid", { headers: { "if-match": etag } })).status,
    ).toBe(204);

    expect(
      (await h.call("PUT", "/admin/v1/cohorts/annex-a/members/acme", { body: { since: "2026-06-26" } })).json,
    ).toEqual({
      cohort: "annex-a",
      orgId: "acme",
      since: "2026-06-26T00:00:00.000Z",
    });
    expect(
      (await h.call("GET", "/admin/v1/cohorts?cohort=annex-a", { token: h.tokens.viewer })).json.items,
    ).toEqual([{ cohort: "annex-a", members: [{ org: "acme", since: "2026-06-26T00:00:00.000Z" }] }]);
    const key = await h.call("POST", "/admin/v1/orgs/acme/keys", { body: { name: "ci" } });
    expect(key.status).toBe(201);
    expect(key.json.key).toMatch(/^clr_/);
    expect(key.json.hash).toBeUndefined();
    const listed = await h.call("GET", "/admin/v1/orgs/acme/keys");
    expect(listed.json.items).toEqual([
      expect.objectContaining({ id: key.json.id, name: "ci", revokedAt: null }),
    ]);
    expect(JSON.stringify(listed.json)).not.toContain(key.json.key);
    expect((await h.call("DELETE", `/admin/v1/orgs/acme/keys/${key.json.id}`)).json.revokedAt).not.toBeNull();
    expect((await h.call("DELETE", "/admin/v1/cohorts/annex-a/members/acme")).status).toBe(204);
  });

  it("decides what-if for a principal from the directory, and gives its timeline", async () => {
    const d = await h.call("POST", "/admin/v1/decide", {
      token: h.tokens.viewer,
      body: { org: "org-a", user: "amy", model: "fable-5", at: "2026-07-01" },
    });
    expect(d.json).toMatchObject({
      policy: "version:1",
      decision: { decision: "deny", reasons: [{ directive: "us-2026-06-12", rule: "foreign-persons" }] },
    });
    expect(d.json.explanation[0]).toMatch(/Licence required/);
    const overridden = await h.call("POST", "/admin/v1/decide", {
      token: h.tokens.viewer,
      body: {
        org: "org-a",
        model: "claude-mythos-5",
        at: "2026-07-01",
        facts: { "user.nationality": ["US"], "user.permanent_residency": [] },
      },
    });
    expect(overridden.json.decision.decision).toBe("allow");
    const t = await h.call("GET", "/admin/v1/timeline?org=org-a&user=amy&model=claude-mythos-5", {
      token: h.tokens.viewer,
    });
    expect(
      t.json.entries.map((e: { from: string | null; decision: { decision: string } }) => [
        e.from,
        e.decision.decision,
      ]),
    ).toEqual([
      [null, "allow"],
      ["2026-06-12T00:00:00.000Z", "deny"],
      ["2026-06-26T00:00:00.000Z", "allow"],
    ]);
  });

  it("answers every bad input with a specific 4xx and a stable code, never a stack trace", async () => {
    const cases: [
      string,
      Promise<{ status: number; json: { error: { code: string; message: string } } }>,
      number,
      string,
    ][] = [
      ["no token", h.call("GET", "/admin/v1/orgs", { token: null }), 401, "ADMIN_UNAUTHENTICATED"],
      ["unknown token", h.call("GET", "/admin/v1/orgs", { token: "cla_nope" }), 401, "ADMIN_UNAUTHENTICATED"],
      [
        "wrong role",
        h.call("PUT", "/admin/v1/orgs/x", { token: h.tokens.editor, body: {} }),
        403,
        "ADMIN_FORBIDDEN",
      ],
      ["auditor only", h.call("GET", "/admin/v1/audit", { token: h.tokens.admin }), 403, "ADMIN_FORBIDDEN"],
      [
        "unknown org",
        h.call("GET", "/admin/v1/orgs/nope", { token: h.tokens.viewer }),
        404,
        "ADMIN_NOT_FOUND",
      ],
      [
        "unknown draft",
        h.call("POST", "/admin/v1/drafts/drf_nope/validate", { token: h.tokens.editor }),
        404,
        "ADMIN_NOT_FOUND",
      ],
      [
        "unknown version",
        h.call("POST", "/admin/v1/policy/rollback", { token: h.tokens.approver, body: { version: 99 } }),
        404,
        "ADMIN_NOT_FOUND",
      ],
      ["unknown route", h.call("GET", "/admin/v1/nothing-here"), 404, "ADMIN_NOT_FOUND"],
      [
        "user of unknown org",
        h.call("PUT", "/admin/v1/orgs/nope/users/u", { body: {} }),
        404,
        "ADMIN_NOT_FOUND",
      ],
      [
        "malformed JSON",
        h.call("PUT", "/admin/v1/orgs/x", { raw: '{"name": "x",' }),
        400,
        "ADMIN_MALFORMED_JSON",
      ],
      ["empty JSON", h.call("PUT", "/admin/v1/orgs/x", { raw: "" }), 400, "ADMIN_MALFORMED_JSON"],
      [
        "not JSON",
        h.call("PUT", "/admin/v1/orgs/x", {
          raw: "name=x",
          headers: { "content-type": "application/x-www-form-urlencoded" },
        }),
        415,
        "ADMIN_UNSUPPORTED_MEDIA_TYPE",
      ],
      [
        "oversized",
        h.call("POST", "/admin/v1/drafts", {
          token: h.tokens.editor,
          body: { title: "big", document: "x".repeat(100_000) },
        }),
        413,
        "ADMIN_BODY_TOO_LARGE",
      ],
      [
        "unknown field",
        h.call("PUT", "/admin/v1/orgs/x", { body: { nme: "typo" } }),
        400,
        "ADMIN_BAD_REQUEST",
      ],
      [
        "wrong type",
        h.call("PUT", "/admin/v1/orgs/x", { body: { verified: "yes" } }),
        400,
        "ADMIN_BAD_REQUEST",
      ],
      [
        "bad country",
        h.call("PUT", "/admin/v1/orgs/x", { body: { country: "Germany" } }),
        400,
        "ADMIN_BAD_REQUEST",
      ],
      [
        "bad id",
        h.call("GET", "/admin/v1/orgs/has%20space", { token: h.tokens.viewer }),
        400,
        "ADMIN_BAD_REQUEST",
      ],
      [
        "bad role",
        h.call("POST", "/admin/v1/tokens", { body: { name: "x", role: "root" } }),
        400,
        "ADMIN_BAD_REQUEST",
      ],
      [
        "bad page size",
        h.call("GET", "/admin/v1/orgs?limit=0", { token: h.tokens.viewer }),
        400,
        "ADMIN_BAD_REQUEST",
      ],
      [
        "unknown model",
        h.call("POST", "/admin/v1/decide", { token: h.tokens.viewer, body: { model: "gpt-9", org: "acme" } }),
        422,
        "DECIDE_UNKNOWN_MODEL",
      ],
      [
        "bad instant",
        h.call("POST", "/admin/v1/decide", {
          token: h.tokens.viewer,
          body: { model: "fable-5", at: "yesterday" },
        }),
        422,
        "DECIDE_BAD_INSTANT",
      ],
      [
        "bad fact",
        h.call("POST", "/admin/v1/decide", {
          token: h.tokens.viewer,
          body: { model: "fable-5", facts: { "user.shoe": 4 } },
        }),
        422,
        "FACTS_UNKNOWN_ATTRIBUTE",
      ],
      [
        "stale If-Match",
        h.call("PUT", "/admin/v1/orgs/acme", { headers: { "if-match": '"0"' }, body: {} }),
        409,
        "ADMIN_STALE_ETAG",
      ],
      [
        "If-Match on nothing",
        h.call("PUT", "/admin/v1/orgs/newco", { headers: { "if-match": "*" }, body: {} }),
        409,
        "ADMIN_STALE_ETAG",
      ],
      [
        "not disclosed",
        h.call("GET", "/admin/v1/reports/cohort?cohort=annex-a&authority=Someone%20Else", {
          token: h.tokens.auditor,
        }),
        422,
        "ADMIN_NOT_DISCLOSED",
      ],
    ];
    for (const [name, pending, status, code] of cases) {
      const res = await pending;
      expect({ name, status: res.status, code: res.json?.error?.code }).toEqual({ name, status, code });
      expect(res.json.error.message).not.toMatch(/\n| {4}at /);
      if (code.startsWith("ADMIN_")) expect(ADMIN_CODES).toHaveProperty(code);
    }
    // Nothing half-written: no org `x` or `newco`.
    expect(await h.store.getOrg("x")).toBeUndefined();
    expect(await h.store.getOrg("newco")).toBeUndefined();
  });

  it("an invalid draft gets 422 with every error located, stays a draft, and the failure is recorded", async () => {
    const bad = `${EXAMPLE}\n  - id: broken\n    authority: X\n    title: t\n    issued: 2026-13-01\n    effective: 2026-07-01\n    rules:\n      - { id: r, effect: deny, models: [gpt-9] }\n`;
    const id = (
      await h.call("POST", "/admin/v1/drafts", {
        token: h.tokens.editor,
        body: { title: "bad", document: bad },
      })
    ).json.id;
    const res = await h.call("POST", `/admin/v1/drafts/${id}/validate`, { token: h.tokens.editor });
    expect(res.status).toBe(422);
    expect(res.json.error.code).toBe("ADMIN_DRAFT_INVALID");
    expect(res.json.error.diagnostics).toEqual([
      expect.stringMatching(new RegExp(`^${id}\\.yaml:134:\\d+: error POLICY_BAD_INSTANT`)),
      expect.stringMatching(new RegExp(`^${id}\\.yaml:137:\\d+: error POLICY_UNKNOWN_MODEL`)),
    ]);
    expect((await h.store.getDraft(id))?.state).toBe("draft");
    const story = (await h.call("GET", `/admin/v1/history?draft=${id}`, { token: h.tokens.viewer })).json
      .items;
    expect(story.at(-1).story).toMatch(/validated draft \(it has errors\).*: 2 error\(s\)/);
    // A stale edit is refused.
    const edit = await h.call("PUT", `/admin/v1/drafts/${id}`, {
      token: h.tokens.editor,
      headers: { "if-match": '"r0"' },
      body: { document: EXAMPLE },
    });
    expect(edit).toMatchObject({ status: 409, json: { error: { code: "ADMIN_STALE_ETAG" } } });
  });

  it("issues and revokes admin tokens; a revoked token is refused", async () => {
    const issued = await h.call("POST", "/admin/v1/tokens", { body: { name: "temp", role: "viewer" } });
    expect(issued.status).toBe(201);
    expect((await h.call("GET", "/admin/v1/orgs", { token: issued.json.token })).status).toBe(200);
    expect((await h.call("DELETE", `/admin/v1/tokens/${issued.json.id}`)).json.revokedAt).not.toBeNull();
    expect((await h.call("GET", "/admin/v1/orgs", { token: issued.json.token })).status).toBe(401);
    expect(JSON.stringify((await h.call("GET", "/admin/v1/tokens")).json)).not.toMatch(/cla_|"hash"/);
  });

  it("serves an OpenAPI 3.1 document describing every route with its roles", async () => {
    const doc = (await h.call("GET", "/admin/v1/openapi.json", { token: null })).json;
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.paths["/admin/v1/drafts/{id}/approve"].post["x-roles"]).toEqual(["approver"]);
    expect(doc.paths["/admin/v1/orgs"].get.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(["limit", "after", "country", "cohort"]),
    );
    expect(
      doc.paths["/admin/v1/orgs/{org}"].put.requestBody.content["application/json"].schema.properties,
    ).toHaveProperty("country");
    expect(Object.keys(doc.paths).length).toBeGreaterThanOrEqual(20);
  });

  it("writes every request, refusals included, to the audit log, which still verifies", async () => {
    const rows = (await h.call("GET", "/admin/v1/audit?limit=1000", { token: h.tokens.auditor })).json.items;
    const records = rows.map(
      (r: { record: { kind: string; action: string; status: number; error_code: string | null } }) =>
        r.record,
    );
    expect(records.every((r: { kind: string }) => r.kind === "admin")).toBe(true);
    expect(records).toContainEqual(
      expect.objectContaining({
        action: "PUT /admin/v1/orgs/:org",
        status: 409,
        error_code: "ADMIN_STALE_ETAG",
      }),
    );
    expect(records).toContainEqual(
      expect.objectContaining({ action: "GET /admin/v1/orgs", status: 401, actor: null }),
    );
    expect(records).toContainEqual(
      expect.objectContaining({ action: "POST /admin/v1/orgs/:org/keys", status: 201, org: "acme" }),
    );
    const first = await h.call("GET", "/admin/v1/audit?limit=5", { token: h.tokens.auditor });
    const second = await h.call(
      "GET",
      `/admin/v1/audit?limit=5&after=${encodeURIComponent(first.json.next)}`,
      {
        token: h.tokens.auditor,
      },
    );
    expect(second.json.items[0].seq).toBe(first.json.items[4].seq + 1);
    expect(await verifyAudit(h.store)).toMatchObject({ ok: true });
  });
});

describe("admin API when the store is down", () => {
  it("answers 503 ADMIN_UNAVAILABLE, one line, and does nothing (fail closed)", async () => {
    const db = await sqliteDatabase();
    const h = await startAdmin(db);
    try {
      await h.store.close();
      for (const [method, path] of [
        ["GET", "/admin/v1/orgs"],
        ["PUT", "/admin/v1/orgs/acme"],
      ] as const) {
        const res = await h.call(method, path, method === "PUT" ? { body: {} } : {});
        expect(res.status).toBe(503);
        expect(res.json.error.code).toBe("ADMIN_UNAVAILABLE");
        expect(res.text).not.toMatch(/\n|at .*\.ts/);
      }
    } finally {
      await h.close();
      await db.drop();
    }
  });
});
