import type { Deployment } from "../config.ts";
import {
  firstHeader,
  type HeaderBag,
  type JsonObject,
  type Operation,
  type ProviderAdapter,
} from "./types.ts";

const operations: Operation[] = [
  { surface: "openai", name: "chat.completions", path: "/v1/chat/completions", streams: true },
  { surface: "openai", name: "responses", path: "/v1/responses", streams: true },
  { surface: "openai", name: "embeddings", path: "/v1/embeddings", streams: false },
];

/** OpenAI wire format. `base_url` is as for the OpenAI SDK (`https://api.openai.com/v1`). */
export const openaiProvider: ProviderAdapter = {
  kind: "openai",
  operations,
  url(d: Deployment, op: Operation) {
    return d.baseUrl + op.path.slice("/v1".length);
  },
  headers(d: Deployment, client: HeaderBag) {
    const h: Record<string, string> = { "content-type": "application/json", "accept-encoding": "identity" };
    if (d.apiKey) h.authorization = `Bearer ${d.apiKey}`;
    const beta = firstHeader(client["openai-beta"]);
    if (beta) h["openai-beta"] = beta;
    return h;
  },
  userOf(body: JsonObject) {
    for (const field of ["safety_identifier", "user"]) {
      const v = body[field];
      if (v === undefined || v === null) continue;
      if (typeof v !== "string") return { error: `\`${field}\` must be a string` };
      if (v !== "") return { user: v };
    }
    return {};
  },
  check(op: Operation, body: JsonObject) {
    if (op.name === "chat.completions" && !Array.isArray(body.messages)) return "`messages` must be an array";
    if (op.name === "embeddings" && typeof body.input !== "string" && !Array.isArray(body.input))
      return "`input` must be a string or an array";
    if (
      op.name === "responses" &&
      body.input !== undefined &&
      typeof body.input !== "string" &&
      !Array.isArray(body.input)
    )
      return "`input` must be a string or an array";
    if (body.stream !== undefined && typeof body.stream !== "boolean") return "`stream` must be a boolean";
    return undefined;
  },
};
