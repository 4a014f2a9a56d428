import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, KEYS, startHarness, UPSTREAM_SECRET } from "./harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const client = (key: string, headers: Record<string, string> = {}) =>
  new OpenAI({ apiKey: key, baseURL: `${h.url}/v1`, maxRetries: 0, defaultHeaders: headers });
const ask = { messages: [{ role: "user" as const, content: "hi" }] };

describe("OpenAI SDK through the gateway", () => {
  it("serves an allowed request, renaming the dated upstream model back, with a durable audit record first", async () => {
    const { data, response } = await client(KEYS.acme)
      .chat.completions.create({ model: "claude-mythos-5", user: "dana", ...ask })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe("Hello from openai-us (claude-mythos-5-20260601).");
    expect(data.model).toBe("claude-mythos-5");
    const id = response.headers.get("x-clearance-decision-id");
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.get("x-clearance-served-model")).toBe("claude-mythos-5");
    const record = h.audit().find((r) => r.decision_id === id);
    expect(record).toMatchObject({
      decision: "allow",
      org: "acme",
      user: "dana",
      status: 200,
      upstream_status: 200,
    });
    // The gateway key never goes upstream; the deployment's credential does.
    const sent = h.mocks["openai-us"]!.received.at(-1)!;
    expect(sent.headers.authorization).toBe(`Bearer ${UPSTREAM_SECRET}`);
    expect(sent.body.model).toBe("claude-mythos-5-20260601");
  });

  it("streams chat completions event by event", async () => {
    const stream = await client(KEYS.acme).chat.completions.create({
      model: "claude-mythos-5",
      user: "carol",
      stream: true,
      ...ask,
    });
    const parts: string[] = [];
    const models = new Set<string>();
    for await (const chunk of stream) {
      parts.push(chunk.choices[0]?.delta.content ?? "");
      models.add(chunk.model);
    }
    expect(parts.join("")).toBe("Hello from the mock upstream. (openai-us)");
    expect([...models]).toEqual(["claude-mythos-5"]);
  });

  it("denies a foreign national outside Annex A with a permission error naming the directive and the remedy", async () => {
    const err = await client(KEYS.acme)
      .chat.completions.create({ model: "claude-mythos-5", user: "farid", ...ask })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    const e = err as InstanceType<typeof OpenAI.PermissionDeniedError>;
    expect(e.status).toBe(403);
    expect(e.code).toBe("model_not_permitted");
    expect(e.type).toBe("permission_error");
    expect(e.message).toContain("Licence required for foreign persons");
    expect(e.message).toContain("US Department of Commerce");
    expect(e.message).toContain("2026-06-12");
    expect(e.message).toContain("cohort `annex-a`");
    const id = e.headers?.get("x-clearance-decision-id");
    expect(h.audit().find((r) => r.decision_id === id)).toMatchObject({
      decision: "deny",
      status: 403,
      error_code: "model_not_permitted",
      served_model: null,
    });
    expect(h.mocks["openai-us"]!.received.some((r) => r.body.user === "farid")).toBe(false);
  });

  it("denies when the end user is not named (unknown nationality never grants access)", async () => {
    const err = await client(KEYS.acme)
      .chat.completions.create({ model: "claude-mythos-5", ...ask })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((err as Error).message).toContain("name the end user");
  });

  it("routes an EU public body to the EU deployment only", async () => {
    const before = h.mocks["openai-us"]!.received.length;
    const { data, response } = await client(KEYS.euBody)
      .chat.completions.create({ model: "claude-mythos-5", safety_identifier: "eva", ...ask })
      .withResponse();
    expect(data.choices[0]?.message.content).toContain("openai-eu");
    expect(response.headers.get("x-clearance-region")).toBe("eu");
    expect(h.mocks["openai-us"]!.received.length).toBe(before);
  });

  it("serves the permitted fallback when asked for, and says so", async () => {
    const { data, response } = await client(KEYS.acme, { "x-clearance-fallback": "allow" })
      .chat.completions.create({ model: "claude-mythos-5", user: "farid", ...ask })
      .withResponse();
    expect(response.headers.get("x-clearance-served-model")).toBe("glm-5.2");
    expect(response.headers.get("x-clearance-fallback-from")).toBe("claude-mythos-5");
    expect(data.model).toBe("glm-5.2");
    const record = h.audit().find((r) => r.decision_id === response.headers.get("x-clearance-decision-id"));
    expect(record).toMatchObject({
      requested_model: "claude-mythos-5",
      served_model: "glm-5.2",
      decision: "allow",
    });
  });

  it("serves the fallback by org setting, streaming", async () => {
    // org-b has `fallback: true`; fable-5 stays blocked for foreign persons.
    const stream = await client(KEYS.euBody).chat.completions.create({
      model: "fable-5",
      user: "eva",
      stream: true,
      ...ask,
    });
    const models = new Set<string>();
    for await (const chunk of stream) models.add(chunk.model);
    expect([...models]).toEqual(["glm-5.2"]);
  });

  it("lists only the models the caller may use now, with their requirements", async () => {
    const list = async (key: string, user?: string) =>
      (await client(key, user ? { "x-clearance-user": user } : {}).models.list()).data
        .map((m) => m.id)
        .sort();
    expect(await list(KEYS.acme, "farid")).toEqual(["glm-5.2"]);
    expect(await list(KEYS.acme, "dana")).toEqual(["claude-mythos-5", "fable-5", "glm-5.2"]);
    expect(await list(KEYS.orgA, "bruno")).toEqual(["claude-mythos-5", "cyber-preview", "glm-5.2"]);
    const page = await client(KEYS.euBody, { "x-clearance-user": "eva" }).models.list();
    const mythos = page.data.find((m) => m.id === "claude-mythos-5") as unknown as {
      clearance: { requirements: { region?: string[] } };
    };
    expect(mythos.clearance.requirements.region).toEqual(["eu"]);
  });

  it("passes embeddings and responses (streaming too) through", async () => {
    const c = client(KEYS.orgA);
    const emb = await c.embeddings.create({ model: "glm-5.2", input: "hello" });
    expect(emb.data[0]?.embedding).toEqual([0.1, 0.2, 0.3]);
    const resp = await c.responses.create({ model: "claude-mythos-5", input: "hi", user: "bruno" });
    expect(resp.output_text).toContain("Hello from openai-us");
    expect(resp.model).toBe("claude-mythos-5");
    const stream = await c.responses.create({
      model: "claude-mythos-5",
      input: "hi",
      user: "bruno",
      stream: true,
    });
    const types: string[] = [];
    for await (const ev of stream) {
      types.push(ev.type);
      if (ev.type === "response.completed") expect(ev.response.model).toBe("claude-mythos-5");
    }
    expect(types).toEqual(["response.created", "response.output_text.delta", "response.completed"]);
  });

  it("rejects unknown and revoked keys with an authentication error", async () => {
    for (const key of ["clr_nope", KEYS.revoked]) {
      const err = await client(key)
        .chat.completions.create({ model: "glm-5.2", ...ask })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
      expect((err as { code: string }).code).toBe("invalid_api_key");
    }
  });

  it("exports decisions by outcome and directive, requests and added latency on /metrics", async () => {
    const text = await (await fetch(`${h.url}/metrics`)).text();
    expect(text).toMatch(/clearance_decisions_total\{outcome="deny",directive="us-2026-06-12"\} [1-9]/);
    expect(text).toMatch(/clearance_decisions_total\{outcome="allow",directive="eu-2026-hosting"\} [1-9]/);
    expect(text).toMatch(
      /clearance_requests_total\{surface="openai",operation="chat.completions",status="403"\} [1-9]/,
    );
    expect(text).toMatch(/clearance_added_latency_seconds_count [1-9]/);
    expect(text).toMatch(
      /clearance_upstream_duration_seconds_count\{deployment="[^"]+",status="200"\} [1-9]/,
    );
  });

  it("answers 404 for a model the policy does not declare", async () => {
    const err = await client(KEYS.acme)
      .chat.completions.create({ model: "gpt-nope", ...ask })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as { code: string }).code).toBe("model_not_found");
  });
});
