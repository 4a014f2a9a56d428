import Anthropic from "@anthropic-ai/sdk";
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
  new Anthropic({ apiKey: key, baseURL: h.url, maxRetries: 0, defaultHeaders: headers });
const ask = { max_tokens: 64, messages: [{ role: "user" as const, content: "hi" }] };

describe("Anthropic SDK through the gateway", () => {
  it("serves an allowed message with the upstream's credential, never the gateway key", async () => {
    const { data, response } = await client(KEYS.frontier)
      .messages.create({ model: "claude-mythos-5", metadata: { user_id: "kenji" }, ...ask })
      .withResponse();
    expect(data.content[0]).toMatchObject({
      type: "text",
      text: "Hello from anthropic-us (claude-mythos-5-20260601).",
    });
    expect(data.model).toBe("claude-mythos-5");
    expect(response.headers.get("x-clearance-decision-id")).toBeTruthy();
    const sent = h.mocks["anthropic-us"]!.received.at(-1)!;
    expect(sent.headers["x-api-key"]).toBe(UPSTREAM_SECRET);
    expect(sent.headers.authorization).toBeUndefined();
    expect(sent.headers["anthropic-version"]).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it("streams messages event by event", async () => {
    const stream = client(KEYS.orgA).messages.stream({
      model: "claude-mythos-5",
      metadata: { user_id: "bruno" },
      ...ask,
    });
    const events: string[] = [];
    for await (const ev of stream) events.push(ev.type);
    const final = await stream.finalMessage();
    expect(final.model).toBe("claude-mythos-5");
    expect(final.content[0]).toMatchObject({ text: "Hello from the mock upstream. (anthropic-us)" });
    expect(events[0]).toBe("message_start");
    expect(events.at(-1)).toBe("message_stop");
  });

  it("denies with a permission error in Anthropic's format", async () => {
    const err = await client(KEYS.orgA)
      .messages.create({ model: "fable-5", metadata: { user_id: "bruno" }, ...ask })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.PermissionDeniedError);
    const e = err as InstanceType<typeof Anthropic.PermissionDeniedError>;
    expect(e.status).toBe(403);
    expect(e.type).toBe("permission_error");
    expect(e.errorCode).toBe("model_not_permitted");
    expect(e.message).toContain("Licence required for foreign persons");
    expect(e.message).toContain("x-clearance-fallback: allow");
  });

  it("routes to the EU deployment and serves the fallback, streaming", async () => {
    const eu = await client(KEYS.euBody).messages.create({
      model: "claude-mythos-5",
      metadata: { user_id: "eva" },
      ...ask,
    });
    expect(eu.content[0]).toMatchObject({ text: expect.stringContaining("anthropic-eu") });
    const stream = client(KEYS.euBody).messages.stream({
      model: "fable-5",
      metadata: { user_id: "eva" },
      ...ask,
    });
    const final = await stream.finalMessage();
    expect(final.model).toBe("glm-5.2");
  });

  it("counts tokens", async () => {
    const n = await client(KEYS.orgA).messages.countTokens({
      model: "claude-mythos-5",
      messages: ask.messages,
    });
    expect(n.input_tokens).toBe(12);
  });

  it("lists models in Anthropic's shape", async () => {
    const page = await client(KEYS.acme, { "x-clearance-user": "farid" }).models.list();
    expect(page.data.map((m) => m.id)).toEqual(["glm-5.2"]);
    expect(page.data[0]).toMatchObject({ type: "model", id: "glm-5.2" });
  });

  it("rejects a revoked key with an authentication error", async () => {
    const err = await client(KEYS.revoked)
      .messages.create({ model: "glm-5.2", ...ask })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.AuthenticationError);
  });
});
