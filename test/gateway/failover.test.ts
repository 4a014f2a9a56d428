import { request } from "node:http";
import OpenAI from "openai";
import { afterEach, describe, expect, it } from "vitest";
import { type Harness, KEYS, startHarness } from "./harness.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const ask = { messages: [{ role: "user" as const, content: "hi" }] };
const client = (key: string) => new OpenAI({ apiKey: key, baseURL: `${h!.url}/v1`, maxRetries: 0 });

describe("upstream failover", () => {
  it("retries the next permitted deployment on a 5xx and on a refused connection", async () => {
    h = await startHarness({
      mocks: { broken: { kind: "openai", failWith: 500 }, good: { kind: "openai" } },
      deployments: `
  glm-5.2:
    - { id: broken, provider: openai, base_url: "{broken}", region: us }
    - { id: refused, provider: openai, base_url: "http://127.0.0.1:9/v1", region: us }
    - { id: good, provider: openai, base_url: "{good}", region: us }`,
    });
    const { data, response } = await client(KEYS.acme)
      .chat.completions.create({ model: "glm-5.2", ...ask })
      .withResponse();
    expect(data.choices[0]?.message.content).toContain("good");
    expect(h.mocks.broken!.received).toHaveLength(1);
    const record = h.audit().find((r) => r.decision_id === response.headers.get("x-clearance-decision-id"));
    expect(record).toMatchObject({ deployment: "good", status: 200 });
  });

  it("treats an upstream refusing the gateway's credential as a failed deployment, never showing its message", async () => {
    h = await startHarness({
      mocks: { locked: { kind: "openai", failWith: 401 }, good: { kind: "openai" } },
      deployments: `
  glm-5.2:
    - { id: locked, provider: openai, base_url: "{locked}", region: us }
    - { id: good, provider: openai, base_url: "{good}", region: us }
  fable-5:
    - { id: locked-only, provider: openai, base_url: "{locked}", region: us }`,
    });
    const ok = await client(KEYS.acme).chat.completions.create({ model: "glm-5.2", ...ask });
    expect(ok.choices[0]?.message.content).toContain("good");
    const err = await client(KEYS.acme)
      .chat.completions.create({ model: "fable-5", user: "carol", ...ask })
      .catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(OpenAI.AuthenticationError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect((err as Error).message).not.toContain("mock locked failing");
  });

  it("never fails over outside the permitted regions: 502 when every EU deployment fails", async () => {
    h = await startHarness({
      mocks: { "eu-broken": { kind: "openai", failWith: 503 }, "us-good": { kind: "openai" } },
      deployments: `
  claude-mythos-5:
    - { provider: openai, base_url: "{eu-broken}", region: eu }
    - { provider: openai, base_url: "{us-good}", region: us }`,
    });
    const err = await client(KEYS.euBody)
      .chat.completions.create({ model: "claude-mythos-5", user: "eva", ...ask })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect((err as { code: string }).code).toBe("upstream_error");
    expect(h.mocks["eu-broken"]!.received).toHaveLength(1);
    expect(h.mocks["us-good"]!.received).toHaveLength(0);
  });

  it("answers 504 when the only deployment times out", async () => {
    h = await startHarness({
      mocks: { slow: { kind: "openai", delayMs: 1500 } },
      deployments: `
  glm-5.2:
    - { provider: openai, base_url: "{slow}", region: us, timeout_ms: 200 }`,
    });
    const slow = await client(KEYS.acme)
      .chat.completions.create({ model: "glm-5.2", ...ask })
      .catch((e: unknown) => e);
    expect((slow as InstanceType<typeof OpenAI.APIError>).status).toBe(504);
    expect((slow as { code: string }).code).toBe("upstream_timeout");
  });

  it("denies with the requirement's directive when no deployment is in a permitted region (and no fallback is)", async () => {
    h = await startHarness({
      mocks: { us: { kind: "openai" } },
      deployments: `
  claude-mythos-5:
    - { provider: openai, base_url: "{us}", region: us }`,
    });
    const nowhere = await client(KEYS.euBody)
      .chat.completions.create({ model: "claude-mythos-5", user: "eva", ...ask })
      .catch((e: unknown) => e);
    expect(nowhere).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((nowhere as { code: string }).code).toBe("no_permitted_deployment");
    expect((nowhere as Error).message).toContain("only from region eu");
    expect((nowhere as Error).message).toContain("EU public bodies served from EU-hosted deployments");
  });

  it("passes each event on as it arrives, not when the stream ends", async () => {
    h = await startHarness({
      mocks: { trickle: { kind: "openai", eventGapMs: 150 } },
      deployments: `
  glm-5.2:
    - { provider: openai, base_url: "{trickle}", region: us }`,
    });
    const start = Date.now();
    const stream = await client(KEYS.acme).chat.completions.create({
      model: "glm-5.2",
      stream: true,
      ...ask,
    });
    const arrivals: number[] = [];
    for await (const _ of stream) arrivals.push(Date.now() - start);
    // Nine events 150 ms apart: the first must arrive long before the last.
    expect(arrivals.length).toBe(9);
    expect(arrivals[0]!).toBeLessThan(600);
    expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThan(800);
  });

  it("aborts the upstream request when the client disconnects mid-stream, and audits it", async () => {
    h = await startHarness({
      mocks: { trickle: { kind: "openai", eventGapMs: 100 } },
      deployments: `
  glm-5.2:
    - { provider: openai, base_url: "{trickle}", region: us }`,
    });
    const url = `${h.url}/v1/chat/completions`;
    let events = 0;
    await new Promise<void>((resolve, reject) => {
      const req = request(
        url,
        {
          method: "POST",
          headers: { authorization: `Bearer ${KEYS.acme}`, "content-type": "application/json" },
        },
        (res) => {
          res.on("data", () => {
            if (++events === 2) {
              req.destroy();
              resolve();
            }
          });
        },
      );
      req.on("error", reject);
      req.end(JSON.stringify({ model: "glm-5.2", stream: true, ...ask }));
    });
    const mock = h.mocks.trickle!;
    await expect.poll(() => mock.aborted, { timeout: 2000 }).toBe(1);
    await expect.poll(() => h!.audit().find((r) => r.status === 499), { timeout: 2000 }).toBeTruthy();
  });
});
