import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/gateway/config.ts";
import { publishPolicyText } from "../../src/gateway/store-policy.ts";
import { FileInvalidError, formatFileDiagnostic } from "../../src/shared/located.ts";
import { type AuditRecordV1, type Store, verifyAudit } from "../../src/store/index.ts";
import { clearance } from "../cli/run.ts";
import { demoStore } from "../helpers/demo-store.ts";
import { eventually, type Harness, KEYS, startHarness } from "./harness.ts";

/** A SQLite store seeded with the demo directory and the example policy, as `npm start` has it. */
async function seededStore(dir: string): Promise<{ url: string; store: Store; policy: string }> {
  const url = `sqlite:${join(dir, "clearance.db")}`;
  return { url, ...(await demoStore(url)) };
}

const ask = { messages: [{ role: "user" as const, content: "hi" }] };

describe("gateway on a SQLite store (directory, audit chain, published policy)", () => {
  let dir: string;
  let store: Store;
  let policy: string;
  let url: string;
  let h: Harness;
  const client = (key: string) => new OpenAI({ apiKey: key, baseURL: `${h.url}/v1`, maxRetries: 0 });
  const call = (key: string, user: string, model = "claude-mythos-5") =>
    client(key)
      .chat.completions.create({ model, user, ...ask })
      .withResponse()
      .then(
        ({ response }) => ({ status: response.status, id: response.headers.get("x-clearance-decision-id") }),
        (e: { status?: number; headers?: Headers }) => ({
          status: e.status ?? 0,
          id: e.headers?.get("x-clearance-decision-id") ?? null,
        }),
      );

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "clearance-storegw-"));
    const seeded = await seededStore(dir);
    store = seeded.store;
    policy = seeded.policy;
    url = seeded.url;
    h = await startHarness({
      sources: `store: "${seeded.url}"\npolicy: { store: true }\naudit: { store: true, node: node-a }`,
      extra: "reload: { enabled: false }",
    });
  });
  afterAll(async () => {
    await h?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("reads keys, organisations and user facts from the store; a key revoked in the store gets 401 within a second", async () => {
    expect((await call(KEYS.orgA, "alice")).status).toBe(200);
    expect((await call(KEYS.acme, "dana")).status).toBe(200);
    expect((await call(KEYS.acme, "farid")).status).toBe(403); // nationality IN, read from the store
    expect((await call(KEYS.revoked, "dana")).status).toBe(401);
    expect((await call("clr_not_a_key", "dana")).status).toBe(401);

    const [key] = (await store.listApiKeys("frontier-labs")).filter((k) => !k.revokedAt);
    expect((await call(KEYS.frontier, "kenji")).status).toBe(200);
    await store.revokeApiKey("frontier-labs", key!.id, new Date().toISOString());
    const took = await eventually(async () => (await call(KEYS.frontier, "kenji")).status === 401, 1500);
    expect(took).toBeLessThan(1000 + 100); // `directory_cache_ms`, default 1 s
  });

  it("writes every decision, allowed or refused, to this node's hash chain, which verifies", async () => {
    const results = await Promise.all([
      call(KEYS.orgA, "alice"),
      call(KEYS.acme, "farid"),
      call(KEYS.revoked, "x"),
      call(KEYS.orgA, "bruno", "no-such-model"),
    ]);
    expect(results.map((r) => r.status)).toEqual([200, 403, 401, 404]);
    const stored = await store.findAuditRecords(results.map((r) => r.id!));
    expect(stored.size).toBe(4);
    const records = results.map((r) => JSON.parse(stored.get(r.id!)!) as AuditRecordV1);
    expect(records.map((r) => [r.decision, r.status, r.error_code ?? null])).toEqual([
      ["allow", 200, null],
      ["deny", 403, "model_not_permitted"],
      ["deny", 401, "invalid_api_key"],
      ["deny", 404, "model_not_found"],
    ]);
    const report = await verifyAudit(store);
    expect(report.ok).toBe(true);
    expect(report.chains.map((c) => c.node)).toEqual(["node-a"]);
    const ready = (await fetch(`${h.url}/readyz`).then((r) => r.json())) as { checks: unknown };
    expect(ready.checks).toEqual({ policy: true, directory: true, audit: true });
  });

  it("enforces a newly published policy version within a second; a broken one is rejected and the last good one stays", async () => {
    expect((await call(KEYS.acme, "farid")).status).toBe(403);
    await publishPolicyText(
      store,
      policy.replace("members: [org-a, org-b]", "members: [org-a, org-b, acme]"),
      "annex-a-plus-acme.yaml",
      "test",
    );
    const took = await eventually(async () => (await call(KEYS.acme, "farid")).status === 200, 1500);
    expect(took).toBeLessThan(1000);

    const good = h.gw.runtime.policy?.hash;
    const broken = await store.publishPolicy({
      document: "version: 1\nmodels: [this is not\n",
      sha256: "0".repeat(64),
      publishedBy: "someone",
      publishedAt: new Date().toISOString(),
    });
    await eventually(async () => {
      const metrics = await fetch(`${h.url}/metrics`).then((r) => r.text());
      return /clearance_reloads_total\{kind="policy",result="rejected"\} 1/.test(metrics);
    }, 1500);
    expect(broken.version).toBe(3);
    expect(h.gw.runtime.policy?.hash).toBe(good);
    expect((await call(KEYS.acme, "farid")).status).toBe(200);
  });

  it("`clearance publish` publishes a valid file as the next version and refuses one with errors", async () => {
    const ok = clearance(["publish", "examples/policies/us-2026-frontier.yaml", "--by", "ops", "--db", url]);
    expect(ok.stdout).toMatch(/^published version 4 \(policy [0-9a-f]{12}\) by ops$/m);
    const bad = clearance(["publish", "package.json", "--db", url]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/package\.json:\d+:\d+: error POLICY_/);
    expect((await store.latestPolicy())?.version).toBe(4);
  });

  it("refuses to publish a document with errors, naming them", async () => {
    await expect(
      publishPolicyText(store, "version: 1\nmodels: []\nbogus: 1\n", "p.yaml", "t"),
    ).rejects.toThrow(/p\.yaml:3:1: error POLICY_UNKNOWN_KEY/);
  });
});

describe("rate limits when Redis does not answer", () => {
  let dir: string;
  let store: Store;
  let url: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "clearance-limits-"));
    ({ store, url } = await seededStore(dir));
    const org = (await store.listOrgs()).find((o) => o.id === "org-a")!;
    await store.upsertOrg({ ...org, settings: { requestsPerMinute: 100 } });
  });
  afterAll(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const fail of ["closed", "open"] as const) {
    it(`fail ${fail}: ${fail === "closed" ? "503 rate_limit_unavailable with retry-after, audited" : "served without limits"}; orgs without limits are unaffected`, async () => {
      const h = await startHarness({
        sources: `store: "${url}"\npolicy: { store: true }\naudit: { store: true, node: ${fail} }`,
        extra: `reload: { enabled: false }\nlimits: { redis: "redis://127.0.0.1:1", fail: ${fail}, redis_timeout_ms: 50 }`,
      });
      try {
        const post = (key: string, user: string) =>
          fetch(`${h.url}/v1/messages`, {
            method: "POST",
            headers: { "x-api-key": key, "content-type": "application/json" },
            body: JSON.stringify({
              model: "claude-mythos-5",
              max_tokens: 8,
              metadata: { user_id: user },
              ...ask,
            }),
          });
        const limited = await post(KEYS.orgA, "alice");
        expect((await post(KEYS.acme, "dana")).status).toBe(200); // acme has no limits
        if (fail === "open") {
          expect(limited.status).toBe(200);
          return;
        }
        expect(limited.status).toBe(503);
        expect(limited.headers.get("retry-after")).toBe("1");
        expect(await limited.json()).toMatchObject({
          type: "error",
          error: { type: "api_error", details: { error_code: "rate_limit_unavailable" } },
        });
        const id = limited.headers.get("x-clearance-decision-id")!;
        expect(JSON.parse((await store.findAuditRecords([id])).get(id)!)).toMatchObject({
          status: 503,
          error_code: "rate_limit_unavailable",
        });
      } finally {
        await h.close();
      }
    });
  }
});

describe("store and limits configuration", () => {
  const deployments = `deployments:
  glm-5.2:
    - { provider: openai, base_url: "https://example.test/v1", region: eu }
`;
  const errorsOf = (text: string) => {
    try {
      parseConfig(text, "gw.yaml", {}, "/srv");
    } catch (err) {
      if (!(err instanceof FileInvalidError)) throw err;
      return err.diagnostics.map(formatFileDiagnostic);
    }
    return [];
  };

  it("resolves a relative SQLite path against the config's folder and defaults the node id and limits", () => {
    const c = parseConfig(
      `store: sqlite:data/c.db\npolicy: { store: true }\naudit: { store: true }\n${deployments}`,
      "gw.yaml",
      {},
      "/srv",
    );
    expect(c).toMatchObject({
      storeUrl: "sqlite:/srv/data/c.db",
      policyFile: undefined,
      directoryFile: undefined,
      auditFile: undefined,
      limits: undefined,
    });
    expect(c.auditNode).toMatch(/-\d+$/);
    const l = parseConfig(
      `store: postgres://db/clearance\npolicy: p.yaml\naudit: { store: true, node: gw-1 }\nlimits: { redis: "redis://127.0.0.1:6379" }\n${deployments}`,
      "gw.yaml",
      {},
      "/srv",
    );
    expect(l.auditNode).toBe("gw-1");
    expect(l.limits).toEqual({
      redisUrl: "redis://127.0.0.1:6379",
      fail: "closed",
      timeoutMs: 250,
      keyPrefix: "clearance:rl",
    });
  });

  it("examples/gateway/cluster.yaml is a valid configuration", async () => {
    const { loadConfigFile } = await import("../../src/gateway/config.ts");
    const c = loadConfigFile("examples/gateway/cluster.yaml", { ANTHROPIC_API_KEY: "a", GLM_API_KEY: "b" });
    expect(c).toMatchObject({ auditNode: "gw-1", policyFile: undefined, directoryFile: undefined });
    expect(c.limits?.fail).toBe("closed");
  });

  it("names each store key that needs a store URL, and bad URLs, with their place", () => {
    const errors = errorsOf(`policy: { store: true }\naudit: { store: true }\n${deployments}`);
    expect(errors.join("\n")).toMatch(
      /gw\.yaml:1:\d+: error CONFIG_NO_STORE policy\.store: the policy from the store needs `store`/,
    );
    expect(errors.join("\n")).toMatch(
      /gw\.yaml:2:\d+: error CONFIG_NO_STORE audit\.store: auditing into the store needs `store`/,
    );
    expect(errors.join("\n")).toMatch(/error CONFIG_NO_STORE directory: give a directory file/);
    const bad = errorsOf(
      `store: mysql://x\npolicy: p.yaml\ndirectory: d.yaml\naudit: { file: a }\nlimits: { redis: "http://x", fail: maybe }\n${deployments}`,
    );
    expect(bad.join("\n")).toMatch(/gw\.yaml:1:8: error CONFIG_TYPE store: expected a store URL/);
    expect(bad.join("\n")).toMatch(
      /gw\.yaml:5:\d+: error CONFIG_TYPE limits\.redis: expected a `redis:\/\/HOST:PORT` URL/,
    );
    expect(bad.join("\n")).toMatch(/gw\.yaml:5:\d+: error CONFIG_TYPE limits\.fail: /);
  });
});
