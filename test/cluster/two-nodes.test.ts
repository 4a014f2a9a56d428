import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publishPolicyText } from "../../src/gateway/store-policy.ts";
import { type AuditRecordV1, type Store, verifyAudit } from "../../src/store/index.ts";
import { eventually, type Harness, KEYS, startHarness } from "../gateway/harness.ts";
import {
  PG_SKIP,
  PG_URL,
  postgresDatabase,
  REDIS_SKIP,
  REDIS_URL,
  type TestDatabase,
} from "../helpers/databases.ts";
import { demoStore } from "../helpers/demo-store.ts";

const SKIP = PG_SKIP ?? REDIS_SKIP;
const ask = { messages: [{ role: "user" as const, content: "hi" }] };

/**
 * Two gateway nodes (real HTTP on 127.0.0.1) sharing one PostgreSQL schema and one Redis key
 * prefix, as in docs/deployment.md.
 */
describe.skipIf(SKIP !== undefined)(
  `two gateway nodes on PostgreSQL and Redis${SKIP ? ` (skipped: ${SKIP})` : ""}`,
  () => {
    let db: TestDatabase;
    let store: Store;
    let policy: string;
    const nodes: Harness[] = [];
    const prefix = `clearance-test:${process.pid}:${Date.now()}`;

    beforeAll(async () => {
      db = await postgresDatabase(PG_URL);
      ({ store, policy } = await demoStore(db.url));
      for (const name of ["node-a", "node-b"]) {
        nodes.push(
          await startHarness({
            sources: `store: "${db.url}"\npolicy: { store: true }\naudit: { store: true, node: ${name} }`,
            extra: `reload: { enabled: false }\nlimits: { redis: "${REDIS_URL}", key_prefix: "${prefix}" }`,
          }),
        );
      }
    });
    afterAll(async () => {
      for (const n of nodes) await n.close();
      await store?.close();
      await db?.drop();
    });

    const openai = (h: Harness, key: string) =>
      new OpenAI({ apiKey: key, baseURL: `${h.url}/v1`, maxRetries: 0 });
    const status = (h: Harness, key: string, user: string) =>
      openai(h, key)
        .chat.completions.create({ model: "claude-mythos-5", user, ...ask })
        .then(
          () => 200,
          (e: { status?: number }) => e.status ?? 0,
        );

    /** Sets an org's limits in the store, then keeps clear of a one-minute window boundary. */
    const limitOrg = async (id: string, limits: { requestsPerMinute?: number; tokensPerMinute?: number }) => {
      const org = (await store.listOrgs()).find((o) => o.id === id)!;
      await store.upsertOrg({ ...org, settings: { ...org.settings, ...limits } });
      // Fixed one-minute windows: a count reset mid-test would let the N+1th request through.
      const intoMinute = Date.now() % 60_000;
      if (intoMinute > 55_000) await new Promise((r) => setTimeout(r, 60_500 - intoMinute));
      // The directory cache (1 s) must see the new settings on both nodes.
      await new Promise((r) => setTimeout(r, 1_100));
    };

    it("a policy version published on node A's store is enforced on node B within a second", async () => {
      const [a, b] = nodes as [Harness, Harness];
      expect(await status(b, KEYS.acme, "farid")).toBe(403);
      await publishPolicyText(
        store,
        policy.replace("members: [org-a, org-b]", "members: [org-a, org-b, acme]"),
        "annex-a-plus-acme.yaml",
        "node-a admin",
      );
      const t0 = Date.now();
      await eventually(async () => (await status(b, KEYS.acme, "farid")) === 200, 1500);
      expect(Date.now() - t0).toBeLessThan(1000);
      expect(await status(a, KEYS.acme, "farid")).toBe(200);
    });

    it("an org's request limit is shared: the N+1th request across both nodes gets 429 in the caller's format", async () => {
      const [a, b] = nodes as [Harness, Harness];
      await limitOrg("org-a", { requestsPerMinute: 4 });

      const served = [];
      for (const h of [a, b, a, b]) served.push(await status(h, KEYS.orgA, "alice"));
      expect(served).toEqual([200, 200, 200, 200]);

      const res = await fetch(`${b.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${KEYS.orgA}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "claude-mythos-5", user: "alice", ...ask }),
      });
      expect(res.status).toBe(429);
      const retryAfter = Number(res.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      const body = (await res.json()) as { error: { type: string; code: string; message: string } };
      expect(body.error).toMatchObject({ type: "rate_limit_error", code: "rate_limited" });
      expect(body.error.message).toMatch(/organisation `org-a` has made its 4 requests per minute/);

      const anthropic = new Anthropic({ apiKey: KEYS.orgA, baseURL: a.url, maxRetries: 0 });
      const err = await anthropic.messages
        .create({ model: "claude-mythos-5", max_tokens: 8, metadata: { user_id: "alice" }, ...ask })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(Anthropic.RateLimitError);
      expect((err as InstanceType<typeof Anthropic.RateLimitError>).error).toMatchObject({
        type: "error",
        error: { type: "rate_limit_error" },
      });

      // The refusal is audited, and both nodes' chains verify.
      const id = res.headers.get("x-clearance-decision-id")!;
      const record = JSON.parse((await store.findAuditRecords([id])).get(id)!) as AuditRecordV1;
      expect(record).toMatchObject({
        decision: "deny",
        status: 429,
        error_code: "rate_limited",
        org: "org-a",
      });
      const report = await verifyAudit(store);
      expect(report.ok).toBe(true);
      expect(report.chains.map((c) => c.node)).toEqual(["node-a", "node-b"]);
    });

    it("an org's token limit is shared: tokens reported by responses on either node count, then 429", async () => {
      const [a, b] = nodes as [Harness, Harness];
      await limitOrg("org-b", { tokensPerMinute: 30 });
      // Each mock response reports 12 tokens: admitted while fewer than 30 are used (0, 12, 24).
      // The second is an Anthropic stream: its usage is read from message_start and message_delta.
      expect(await status(a, KEYS.euBody, "eva")).toBe(200);
      const stream = await new Anthropic({
        apiKey: KEYS.euBody,
        baseURL: b.url,
        maxRetries: 0,
      }).messages.create({
        model: "claude-mythos-5",
        max_tokens: 8,
        metadata: { user_id: "eva" },
        stream: true,
        ...ask,
      });
      for await (const _event of stream);
      expect(await status(a, KEYS.euBody, "eva")).toBe(200);
      const refused = await openai(b, KEYS.euBody)
        .chat.completions.create({ model: "claude-mythos-5", user: "eva", ...ask })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
      expect((refused as InstanceType<typeof OpenAI.RateLimitError>).message).toMatch(
        /organisation `org-b` has used its 30 tokens per minute/,
      );
    });
  },
);
