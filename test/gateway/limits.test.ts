import { describe, expect, it } from "vitest";
import { StreamUsage, usedTokens } from "../../src/gateway/limits.ts";

const sse = (events: unknown[]) => events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join("");

describe("token usage of responses", () => {
  it("reads OpenAI total_tokens and Anthropic input + output tokens from a JSON body", () => {
    expect(usedTokens({ usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 } })).toBe(12);
    expect(usedTokens({ usage: { input_tokens: 5, output_tokens: 7 } })).toBe(12);
    expect(usedTokens({ usage: null })).toBe(0);
    expect(usedTokens({ usage: { total_tokens: -3 } })).toBe(0);
  });

  it("reads an Anthropic stream's usage across chunk boundaries, the last message_delta counting", () => {
    const text = sse([
      { type: "message_start", message: { usage: { input_tokens: 5, output_tokens: 1 } } },
      { type: "content_block_delta", delta: { text: "usage" } },
      { type: "message_delta", usage: { output_tokens: 3 } },
      { type: "message_delta", usage: { output_tokens: 7 } },
    ]);
    const meter = new StreamUsage();
    const bytes = Buffer.from(text);
    for (let i = 0; i < bytes.length; i += 7) meter.push(bytes.subarray(i, i + 7));
    expect(meter.tokens()).toBe(12);
  });

  it("reads an OpenAI stream's final usage chunk; a stream without usage counts nothing", () => {
    const withUsage = new StreamUsage();
    withUsage.push(
      Buffer.from(
        `${sse([{ choices: [{ delta: { content: "hi" } }] }, { choices: [], usage: { total_tokens: 9 } }])}data: [DONE]\n\n`,
      ),
    );
    expect(withUsage.tokens()).toBe(9);
    const without = new StreamUsage();
    without.push(Buffer.from(sse([{ choices: [{ delta: { content: "hi" } }] }])));
    expect(without.tokens()).toBe(0);
  });
});
