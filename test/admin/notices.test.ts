import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NoticeBoard } from "../../src/admin/notice-board.ts";
import { verifyWebhook } from "../../src/admin/notices.ts";
import { sqliteDatabase, type TestDatabase } from "../helpers/databases.ts";
import {
  type AdminHarness,
  EXAMPLE,
  NOW,
  publish,
  seedDirectory,
  startAdmin,
  WITHDRAWAL,
} from "./helpers.ts";

interface Received {
  at: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A real webhook receiver on 127.0.0.1 that answers `statuses` in turn (then 200). */
async function receiver(statuses: number[]): Promise<{ url: string; got: Received[]; server: Server }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      got.push({ at: performance.now(), headers: req.headers, body });
      res.writeHead(statuses.shift() ?? 200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/clearance`, got, server };
}

const ORG_SECRET = "acme-webhook-secret-0001";
const CONFIGURED = "configured-webhook-secret";

describe("notices at publication", () => {
  let db: TestDatabase;
  let h: AdminHarness;
  const servers: Server[] = [];
  beforeEach(async () => {
    db = await sqliteDatabase();
    h = await startAdmin(db, { webhooks: { secret: CONFIGURED, baseDelayMs: 25, maxAttempts: 4 } });
    await seedDirectory(h);
  });
  afterEach(async () => {
    await h.close();
    for (const s of servers.splice(0)) s.close();
    await db.drop();
  });

  it("each org losing access gets a signed webhook with an idempotency key; a receiver failing twice gets it on the 3rd attempt, with backoff", async () => {
    const flaky = await receiver([500, 503]);
    const steady = await receiver([]);
    const dead = await receiver([500, 500, 500, 500, 500]);
    servers.push(flaky.server, steady.server, dead.server);
    await h.store.upsertOrg({
      id: "acme",
      name: "Acme",
      country: "US",
      sector: "private",
      verified: true,
      settings: { webhookUrl: flaky.url, webhookSecret: ORG_SECRET },
    });
    await h.store.upsertOrg({ id: "initech", country: "US", settings: { webhookUrl: steady.url } });
    await h.store.upsertUser({
      orgId: "initech",
      id: "ian",
      nationality: ["US"],
      permanentResidency: [],
      residence: "GB",
    });
    await h.store.upsertOrg({ id: "umbrella", country: "US", settings: { webhookUrl: dead.url } });
    await h.store.upsertUser({
      orgId: "umbrella",
      id: "uma",
      nationality: ["US"],
      permanentResidency: [],
      residence: "JP",
    });
    await h.store.upsertOrg({ id: "hooli", country: "US" }); // loses access, has no webhook
    await h.store.upsertUser({
      orgId: "hooli",
      id: "hal",
      nationality: ["US"],
      permanentResidency: [],
      residence: "CA",
    });

    await publish(h, EXAMPLE, "v1");
    expect((await h.store.listNotices()).length).toBe(0); // nobody loses anything they had
    const { published } = await publish(h, WITHDRAWAL, "fable-5 withdrawal");
    expect(published.notices.map((n: { org: string }) => n.org).sort()).toEqual([
      "acme",
      "hooli",
      "initech",
      "umbrella",
    ]);
    await h.app.notices.idle();

    // acme: two failures, then delivered; same idempotency key; signed with the org's own secret.
    expect(flaky.got.length).toBe(3);
    const keys = new Set(flaky.got.map((g) => g.headers["idempotency-key"]));
    expect(keys.size).toBe(1);
    expect(flaky.got.map((g) => g.headers["x-clearance-delivery-attempt"])).toEqual(["1", "2", "3"]);
    for (const g of flaky.got) {
      expect(verifyWebhook(ORG_SECRET, g.body, String(g.headers["x-clearance-signature"]))).toBe(true);
      expect(verifyWebhook(CONFIGURED, g.body, String(g.headers["x-clearance-signature"]))).toBe(false);
      expect(g.headers["content-type"]).toBe("application/json");
    }
    expect(flaky.got[1]!.at - flaky.got[0]!.at).toBeGreaterThanOrEqual(20);
    expect(flaky.got[2]!.at - flaky.got[1]!.at).toBeGreaterThanOrEqual(45);
    const body = JSON.parse(flaky.got[0]!.body);
    expect(body).toMatchObject({
      type: "clearance.access_notice",
      notice_id: [...keys][0],
      org: "acme",
      change: "loss",
      models: ["fable-5"],
      directives: [{ id: "us-2026-08-01", authority: "US Department of Commerce" }],
      policy_version: 2,
      published_at: new Date(NOW).toISOString(),
      effective_at: "2026-08-01T00:00:00.000Z",
      grace: "P30D",
    });

    // initech: the configured secret; delivered at once.
    expect(steady.got.length).toBe(1);
    expect(
      verifyWebhook(CONFIGURED, steady.got[0]!.body, String(steady.got[0]!.headers["x-clearance-signature"])),
    ).toBe(true);

    // The delivery log and the notice states.
    const notices = (await h.call("GET", "/admin/v1/notices", { token: h.tokens.viewer })).json.items;
    const state = Object.fromEntries(
      notices.map((n: { orgId: string; state: string; attempts: number }) => [
        n.orgId,
        `${n.state}/${n.attempts}`,
      ]),
    );
    expect(state).toEqual({
      acme: "delivered/3",
      initech: "delivered/1",
      umbrella: "failed/4",
      hooli: "no_webhook/0",
    });
    const acme = notices.find((n: { orgId: string }) => n.orgId === "acme");
    const log = (await h.call("GET", `/admin/v1/notices/${acme.id}/deliveries`, { token: h.tokens.viewer }))
      .json.items;
    expect(
      log.map((d: { attempt: number; status: number; ok: boolean }) => [d.attempt, d.status, d.ok]),
    ).toEqual([
      [1, 500, false],
      [2, 503, false],
      [3, 200, true],
    ]);
    expect(dead.got.length).toBe(4);

    // The gateway's header until the change is in force.
    const board = await NoticeBoard.start(h.store, { now: () => NOW, refreshMs: 60_000 });
    try {
      expect(board.noticesFor("acme", NOW)).toBe(
        `${acme.id}; models="fable-5"; effective="2026-08-01T00:00:00.000Z"; grace="P30D"`,
      );
      expect(board.noticesFor("acme", Date.parse("2026-08-01T00:00:00Z"))).toBeUndefined();
      expect(board.noticesFor("globex", NOW)).toBeUndefined();
    } finally {
      board.close();
    }
  });

  it("publishing later than a directive's notice allows is flagged in the response and the history", async () => {
    await publish(h, EXAMPLE, "v1");
    h.clock.now = Date.parse("2026-07-20T00:00:00Z"); // 12 days before the 1 August withdrawal, P30D asked
    const { published, id } = await publish(h, WITHDRAWAL, "late withdrawal");
    expect(published.warnings).toEqual([
      "`acme` gets 12 days' notice of losing fable-5, less than the P30D that `us-2026-08-01` states",
    ]);
    const story = (await h.call("GET", `/admin/v1/history?draft=${id}`, { token: h.tokens.viewer })).json
      .items;
    expect(story.at(-1).story).toMatch(/1 org\(s\) notified \(warning: `acme` gets 12 days' notice/);
  });
});
