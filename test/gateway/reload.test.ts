import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, type Harness, KEYS, startHarness } from "./harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    mocks: {
      "openai-us": { kind: "openai", eventGapMs: 80 },
      "openai-eu": { kind: "openai" },
      "anthropic-us": { kind: "anthropic" },
      "anthropic-eu": { kind: "anthropic" },
    },
  });
});
afterAll(async () => {
  await h?.close();
});

const ask = { messages: [{ role: "user" as const, content: "hi" }] };
const client = (key: string) => new OpenAI({ apiKey: key, baseURL: `${h.url}/v1`, maxRetries: 0 });
const status = (key: string, user: string, model = "claude-mythos-5") =>
  client(key)
    .chat.completions.create({ model, user, ...ask })
    .then(
      () => 200,
      (e: { status?: number }) => e.status ?? 0,
    );

describe("hot reload", () => {
  it("applies a policy change to new requests within a second; a broken file keeps the last good policy", async () => {
    expect(await status(KEYS.acme, "farid")).toBe(403);
    const original = readFileSync(h.policyFile, "utf8");
    writeFileSync(h.policyFile, original.replace("members: [org-a, org-b]", "members: [org-a, org-b, acme]"));
    const took = await eventually(async () => (await status(KEYS.acme, "farid")) === 200, 1000);
    expect(took).toBeLessThan(1000);

    writeFileSync(h.policyFile, "version: 1\nmodels: [this is not\n");
    await new Promise((r) => setTimeout(r, 400));
    expect(await status(KEYS.acme, "farid")).toBe(200);
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    expect(metrics).toMatch(/clearance_reloads_total\{kind="policy",result="rejected"\} [1-9]/);
    writeFileSync(h.policyFile, original);
    await eventually(async () => (await status(KEYS.acme, "farid")) === 403, 1000);
  });

  it("applies a directory change (a new key, a new user) within a second; a broken directory is rejected", async () => {
    const original = readFileSync(h.directoryFile, "utf8");
    const hash = createHash("sha256").update("clr_test_new_key").digest("hex");
    writeFileSync(
      h.directoryFile,
      `${original}\n  - { id: key-new, org: acme, prefix: clr_test, hash: ${hash}, created: 2026-11-01 }\n`.replace(
        "users:\n",
        "users:\n  - { org: acme, id: zoe, nationality: [US] }\n",
      ),
    );
    await eventually(async () => (await status("clr_test_new_key", "zoe")) === 200, 1000);

    writeFileSync(h.directoryFile, original.replace("country: DE", "country: Germany"));
    await new Promise((r) => setTimeout(r, 400));
    expect(await status("clr_test_new_key", "zoe")).toBe(200);
    writeFileSync(h.directoryFile, original);
    await eventually(async () => (await status("clr_test_new_key", "zoe")) === 401, 1000);
  });

  it("lets a request in flight finish under the decision it got", async () => {
    const stream = await client(KEYS.acme).chat.completions.create({
      model: "claude-mythos-5",
      user: "dana",
      stream: true,
      ...ask,
    });
    const original = readFileSync(h.policyFile, "utf8");
    const closed = original.replace(
      "claude-mythos-5: { provider: anthropic, capabilities: [cyber], default: allow",
      "claude-mythos-5: { provider: anthropic, capabilities: [cyber], default: deny",
    );
    expect(closed).not.toBe(original);
    writeFileSync(h.policyFile, closed);
    const parts: string[] = [];
    for await (const chunk of stream) parts.push(chunk.choices[0]?.delta.content ?? "");
    expect(parts.join("")).toBe("Hello from the mock upstream. (openai-us)");
    expect(await status(KEYS.acme, "dana")).toBe(403);
    writeFileSync(h.policyFile, original);
    await eventually(async () => (await status(KEYS.acme, "dana")) === 200, 1000);
  });
});
