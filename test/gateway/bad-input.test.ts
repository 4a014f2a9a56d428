import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, KEYS, startHarness } from "./harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ extra: "limits: { body_bytes: 65536, body_timeout_ms: 600 }" });
});
afterAll(async () => {
  await h?.close();
});

/** Both APIs' error shapes, loosely. */
interface ErrorJson {
  type?: string;
  error: { code?: string; type?: string; message: string };
}

const bodies: string[] = [];
async function send(path: string, init: RequestInit & { headers?: Record<string, string> } = {}) {
  const res = await fetch(h.url + path, {
    method: "POST",
    ...init,
    headers: { authorization: `Bearer ${KEYS.acme}`, "content-type": "application/json", ...init.headers },
  });
  const text = await res.text();
  bodies.push(text);
  // Every response, refused or not, names its decision id.
  expect(res.headers.get("x-clearance-decision-id")).toMatch(/^[0-9a-f-]{36}$/);
  return {
    status: res.status,
    headers: res.headers,
    text,
    json: () => JSON.parse(text) as ErrorJson,
  };
}
const chat = (body: unknown, headers: Record<string, string> = {}) =>
  send("/v1/chat/completions", { body: typeof body === "string" ? body : JSON.stringify(body), headers });

/** Raw bytes on a socket: for what fetch refuses to send. Resolves with what the server answered. */
function raw(bytes: (Buffer | string)[], gapMs = 0, waitMs = 3000): Promise<string> {
  const { port } = new URL(h.url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), "127.0.0.1");
    let out = "";
    socket.on("data", (d) => {
      out += d.toString("latin1");
    });
    socket.on("error", () => resolve(out));
    socket.on("close", () => resolve(out));
    setTimeout(() => {
      socket.destroy();
      resolve(out);
    }, waitMs);
    void (async () => {
      for (const b of bytes) {
        if (socket.destroyed) return;
        socket.write(b);
        if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
      }
    })();
  });
}

const ok = { model: "glm-5.2", messages: [{ role: "user", content: "hi" }] };

describe("bad input is refused in the caller's format, and the gateway keeps serving", () => {
  it("413 for a body over the limit", async () => {
    const big = { ...ok, messages: [{ role: "user", content: "x".repeat(70_000) }] };
    const r = await chat(big);
    expect(r.status).toBe(413);
    expect(r.json().error.code).toBe("request_too_large");
    const a = await send("/v1/messages", { body: JSON.stringify({ ...big, max_tokens: 5 }) });
    expect(a.status).toBe(413);
    expect(a.json()).toMatchObject({ type: "error", error: { type: "request_too_large" } });
  });

  it("400 for malformed JSON, invalid UTF-8, non-object bodies and deep nesting", async () => {
    for (const body of ["{bad", "", "null", "[1,2]", "42", "[".repeat(60_000)]) {
      const r = await chat(body);
      expect(r.status, body.slice(0, 10)).toBe(400);
      expect(r.json().error.type).toBe("invalid_request_error");
    }
    const utf8 = await send("/v1/chat/completions", {
      body: Buffer.concat([
        Buffer.from('{"model":"glm-5.2","messages":[],"x":"'),
        Buffer.from([0xc3, 0x28, 0xff]),
        Buffer.from('"}'),
      ]),
    });
    expect(utf8.status).toBe(400);
    expect(utf8.json().error.message).toContain("UTF-8");
    const anth = await send("/v1/messages", { body: "{bad" });
    expect(anth.json()).toMatchObject({ type: "error", error: { type: "invalid_request_error" } });
  });

  it("400 for a missing or non-string model and for fields of the wrong type", async () => {
    for (const body of [
      { messages: [] },
      { ...ok, model: 42 },
      { ...ok, model: "" },
      { ...ok, model: ["glm-5.2"] },
      { ...ok, messages: "hi" },
      { ...ok, user: 42 },
      { ...ok, safety_identifier: { id: "x" } },
      { ...ok, stream: "yes" },
    ]) {
      const r = await chat(body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json().error.code).toBe("invalid_request");
    }
    const a = await send("/v1/messages", {
      body: JSON.stringify({ ...ok, max_tokens: 5, metadata: { user_id: 7 } }),
    });
    expect(a.status).toBe(400);
    expect(a.json().error.message).toContain("metadata.user_id");
  });

  it("404 for an unknown model or path, 405 for a wrong method, 401 before the body is even parsed", async () => {
    const r = await chat({ ...ok, model: "gpt-9" });
    expect(r.status).toBe(404);
    expect(r.json().error.code).toBe("model_not_found");
    const path = await send("/v2/whatever", { body: "{}" });
    expect(path.status).toBe(404);
    const get = await fetch(`${h.url}/v1/chat/completions`);
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
    expect(((await get.json()) as ErrorJson).error.code).toBe("method_not_allowed");
    const del = await fetch(`${h.url}/v1/messages`, {
      method: "DELETE",
      headers: { "anthropic-version": "2023-06-01" },
    });
    expect(del.status).toBe(405);
    expect(((await del.json()) as ErrorJson).type).toBe("error");
    const anon = await send("/v1/chat/completions", {
      body: "{bad",
      headers: { authorization: "Bearer nope" },
    });
    expect(anon.status).toBe(401);
  });

  it("passes unknown fields through untouched", async () => {
    const r = await chat({ ...ok, some_future_field: { nested: [1, 2] }, __proto__x: 1 });
    expect(r.status).toBe(200);
    expect(h.mocks["openai-eu"]!.received.at(-1)!.body.some_future_field).toEqual({ nested: [1, 2] });
  });

  it("survives huge headers and a slow body, serving others meanwhile", async () => {
    const huge = await raw([`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(100_000)}\r\n\r\n`]);
    expect(huge).toMatch(/^HTTP\/1\.1 431/);
    const slow = raw(
      [
        `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEYS.acme}\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n`,
        '{"model":',
        '"glm-5.2"',
      ],
      200,
    );
    const meanwhile = await chat(ok);
    expect(meanwhile.status).toBe(200);
    const answer = await slow;
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  });

  it("never puts a stack trace or a source path in a response", async () => {
    const r = await chat(ok);
    expect(r.status).toBe(200);
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
    for (const b of bodies) {
      expect(b).not.toMatch(/\n\s+at |\.ts:\d+|node_modules/);
    }
  });
});
