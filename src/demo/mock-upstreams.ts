import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * Mock OpenAI and Anthropic upstreams: real HTTP servers on 127.0.0.1 speaking each provider's
 * wire format, streaming included. Used by the demo, the tests and the benchmark.
 */
export interface MockOptions {
  /** Named in every completion, so a caller can see which deployment answered. */
  name: string;
  kind: "openai" | "anthropic";
  /** Answer every request with this status (e.g. 500) instead of a completion. */
  failWith?: number;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Pause between streamed events. */
  eventGapMs?: number;
}

export interface ReceivedRequest {
  path: string;
  headers: IncomingMessage["headers"];
  body: Record<string, unknown>;
}

export interface MockUpstream {
  url: string;
  /** The base URL for a deployment (`…/v1` for OpenAI, the origin for Anthropic). */
  baseUrl: string;
  options: MockOptions;
  received: ReceivedRequest[];
  /** Set when a client went away mid-stream. */
  aborted: number;
  server: Server;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const WORDS = ["Hello", " from", " the", " mock", " upstream", "."];

export async function startMockUpstream(options: MockOptions, port = 0): Promise<MockUpstream> {
  const received: ReceivedRequest[] = [];
  const mock = { aborted: 0 } as MockUpstream;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
      } catch {
        body = {};
      }
      if (received.length < 1000) received.push({ path: req.url ?? "", headers: req.headers, body });
      void answer(options, req.url ?? "", body, res, () => mock.aborted++);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  Object.assign(mock, {
    url,
    baseUrl: options.kind === "openai" ? `${url}/v1` : url,
    options,
    received,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
  return mock;
}

async function answer(
  o: MockOptions,
  path: string,
  body: Record<string, unknown>,
  res: ServerResponse,
  onAbort: () => void,
): Promise<void> {
  if (o.delayMs) await sleep(o.delayMs);
  const model = typeof body.model === "string" ? body.model : "unknown";
  const json = (status: number, value: unknown) => {
    const data = JSON.stringify(value);
    res.writeHead(status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(data),
      "x-request-id": `req_${o.name}`,
    });
    res.end(data);
  };
  if (o.failWith) {
    return json(
      o.failWith,
      o.kind === "openai"
        ? { error: { message: `mock ${o.name} failing`, type: "server_error", code: null, param: null } }
        : { type: "error", error: { type: "api_error", message: `mock ${o.name} failing` } },
    );
  }
  const text = `Hello from ${o.name} (${model}).`;
  const stream = body.stream === true;
  const sse = async (events: [string | null, unknown][]) => {
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      "x-request-id": `req_${o.name}`,
    });
    res.flushHeaders();
    let closed = false;
    res.on("close", () => {
      if (!res.writableFinished) {
        closed = true;
        onAbort();
      }
    });
    for (const [event, data] of events) {
      if (closed) return;
      res.write(
        `${event ? `event: ${event}\n` : ""}data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`,
      );
      if (o.eventGapMs) await sleep(o.eventGapMs);
    }
    res.end();
  };
  const id = randomUUID().slice(0, 8);
  if (o.kind === "openai" && path.endsWith("/chat/completions")) {
    if (!stream) {
      return json(200, {
        id: `chatcmpl-${id}`,
        object: "chat.completion",
        created: 1_780_000_000,
        model,
        choices: [
          {
            index: 0,
            message: { role: "assistant", content: text, refusal: null },
            logprobs: null,
            finish_reason: "stop",
          },
        ],
        usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 },
      });
    }
    const base = { id: `chatcmpl-${id}`, object: "chat.completion.chunk", created: 1_780_000_000, model };
    return sse([
      [
        null,
        { ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] },
      ],
      ...[...WORDS, ` (${o.name})`].map((w): [null, unknown] => [
        null,
        { ...base, choices: [{ index: 0, delta: { content: w }, finish_reason: null }] },
      ]),
      [null, { ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }],
      [null, "[DONE]"],
    ]);
  }
  if (o.kind === "openai" && path.endsWith("/responses")) {
    const response = (status: string, out: string) => ({
      id: `resp_${id}`,
      object: "response",
      created_at: 1_780_000_000,
      status,
      model,
      output: out
        ? [
            {
              type: "message",
              id: `msg_${id}`,
              status: "completed",
              role: "assistant",
              content: [{ type: "output_text", text: out, annotations: [] }],
            },
          ]
        : [],
      usage: { input_tokens: 5, output_tokens: 7, total_tokens: 12 },
    });
    if (!stream) return json(200, response("completed", text));
    return sse([
      [
        "response.created",
        { type: "response.created", sequence_number: 0, response: response("in_progress", "") },
      ],
      [
        "response.output_text.delta",
        {
          type: "response.output_text.delta",
          sequence_number: 1,
          item_id: `msg_${id}`,
          output_index: 0,
          content_index: 0,
          delta: text,
        },
      ],
      [
        "response.completed",
        { type: "response.completed", sequence_number: 2, response: response("completed", text) },
      ],
    ]);
  }
  if (o.kind === "openai" && path.endsWith("/embeddings")) {
    return json(200, {
      object: "list",
      data: [{ object: "embedding", index: 0, embedding: [0.1, 0.2, 0.3] }],
      model,
      usage: { prompt_tokens: 3, total_tokens: 3 },
    });
  }
  if (o.kind === "anthropic" && path.endsWith("/v1/messages/count_tokens"))
    return json(200, { input_tokens: 12 });
  if (o.kind === "anthropic" && path.endsWith("/v1/messages")) {
    const message = (content: unknown[], stop: string | null) => ({
      id: `msg_${id}`,
      type: "message",
      role: "assistant",
      model,
      content,
      stop_reason: stop,
      stop_sequence: null,
      usage: { input_tokens: 5, output_tokens: stop ? 7 : 1 },
    });
    if (!stream) return json(200, message([{ type: "text", text }], "end_turn"));
    return sse([
      ["message_start", { type: "message_start", message: message([], null) }],
      [
        "content_block_start",
        { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
      ],
      ...[...WORDS, ` (${o.name})`].map((w): [string, unknown] => [
        "content_block_delta",
        { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: w } },
      ]),
      ["content_block_stop", { type: "content_block_stop", index: 0 }],
      [
        "message_delta",
        {
          type: "message_delta",
          delta: { stop_reason: "end_turn", stop_sequence: null },
          usage: { output_tokens: 7 },
        },
      ],
      ["message_stop", { type: "message_stop" }],
    ]);
  }
  json(404, { error: { message: `mock ${o.name}: no route ${path}`, type: "invalid_request_error" } });
}
