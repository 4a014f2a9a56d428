import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NoticeBoard } from "../../src/admin/index.ts";
import { type Demo, startDemo } from "../../src/demo/demo.ts";

// What `npm start` runs, end to end: a directive goes through the admin API's two-person
// lifecycle, the gateway enforces the published version within a second, and the org about to
// lose access sees the notice on its API responses.

let demo: Demo;
const token = (role: string) => demo.adminTokens.find((t) => t.role === role)!.token;

async function admin(role: string, method: "GET" | "POST", path: string, body?: unknown) {
  const res = await request(`${demo.gateway.admin!.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token(role)}`,
      ...(body ? { "content-type": "application/json" } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
}

async function models(key: string) {
  const res = await request(`${demo.gateway.url}/v1/models`, {
    headers: { authorization: `Bearer ${key}`, "x-clearance-user": "carol" },
  });
  const body = (await res.body.json()) as { data: { id: string }[] };
  return { headers: res.headers, ids: body.data.map((m) => m.id) };
}

// Acme loses glm-5.2 from 2030 on, with thirty days' notice.
const amendment = `
  - id: acme-glm-2030
    authority: Provider policy
    title: glm-5.2 withdrawn from Acme
    issued: 2026-11-01
    effective: 2030-01-01
    notice: P30D
    rules:
      - id: acme
        effect: deny
        models: [glm-5.2]
        when: { org.id: { eq: acme } }
`;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "clearance-demo-"));
  demo = await startDemo({ port: 0, adminPort: 0, storeFile: join(dir, "demo.db"), logger: false });
});
afterAll(async () => demo?.close());

describe("the demo: publish a directive through the admin API", () => {
  it("starts with the example policy as version 1 and an admin API beside the gateway", async () => {
    const versions = await admin("editor", "GET", "/policy/versions");
    expect(versions.status).toBe(200);
    expect((versions.body.items as unknown[]).length).toBe(1);
    expect((await models("clr_demo_acme_us")).ids).toContain("glm-5.2");
  });

  it("runs draft → validate → impact → approve (second person) → publish, then enforces and notifies", async () => {
    const document = `${readFileSync("examples/policies/us-2026-frontier.yaml", "utf8")}${amendment}`;
    const draft = await admin("editor", "POST", "/drafts", {
      title: "glm-5.2 withdrawn from Acme",
      document,
    });
    expect(draft.status).toBe(201);
    const id = draft.body.id as string;
    expect((await admin("editor", "POST", `/drafts/${id}/validate`)).status).toBe(200);
    const impact = await admin("editor", "POST", `/drafts/${id}/impact`);
    expect(impact.status).toBe(200);
    expect(JSON.stringify(impact.body)).toContain("acme");
    // The editor cannot approve; the approver can.
    const byEditor = await admin("editor", "POST", `/drafts/${id}/approve`, {});
    expect(byEditor.status).toBe(403);
    expect(
      (await admin("approver", "POST", `/drafts/${id}/approve`, { comment: "matches the letter" })).status,
    ).toBe(200);
    const firstPolicy = (await models("clr_demo_acme_us")).headers["x-clearance-policy"];
    const published = await admin("approver", "POST", `/drafts/${id}/publish`);
    expect(published.status).toBe(200);

    // Every gateway node picks the new version up within a second.
    const deadline = Date.now() + 3_000;
    let seen: Awaited<ReturnType<typeof models>> | undefined;
    while (Date.now() < deadline) {
      await (demo.gateway.runtime.notices as NoticeBoard).refresh();
      seen = await models("clr_demo_acme_us");
      if (seen.headers["x-clearance-notice"] && seen.headers["x-clearance-policy"] !== firstPolicy) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(seen?.headers["x-clearance-policy"]).toBe(demo.gateway.runtime.policy?.hash);
    expect(demo.gateway.runtime.policy?.directives.has("acme-glm-2030")).toBe(true);
    // Until 2030 Acme keeps glm-5.2, and its responses say the change is coming.
    expect(seen?.ids).toContain("glm-5.2");
    expect(String(seen?.headers["x-clearance-notice"])).toMatch(
      /models="glm-5.2"; effective="2030-01-01T00:00:00.000Z"; grace="P30D"/,
    );
    // Other organisations get no notice.
    expect((await models("clr_demo_annex_a_partner")).headers["x-clearance-notice"]).toBeUndefined();

    const history = await admin("editor", "GET", "/history?directive=acme-glm-2030");
    expect(JSON.stringify(history.body)).toMatch(/approved/);
  });
});
