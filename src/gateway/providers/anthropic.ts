import type { Deployment } from "../config.ts";
import {
  firstHeader,
  type HeaderBag,
  type JsonObject,
  type Operation,
  type ProviderAdapter,
} from "./types.ts";

const operations: Operation[] = [
  { surface: "anthropic", name: "messages", path: "/v1/messages", streams: true },
  { surface: "anthropic", name: "messages.count_tokens", path: "/v1/messages/count_tokens", streams: false },
];

/** Anthropic wire format. `base_url` is as for the Anthropic SDK (`https://api.anthropic.com`). */
export const anthropicProvider: ProviderAdapter = {
  kind: "anthropic",
  operations,
  url(d: Deployment, op: Operation) {
    return d.baseUrl + op.path;
  },
  headers(d: Deployment, client: HeaderBag) {
    const h: Record<string, string> = {
      "content-type": "application/json",
      "accept-encoding": "identity",
      "anthropic-version": firstHeader(client["anthropic-version"]) ?? "2023-06-01",
    };
    if (d.apiKey) h["x-api-key"] = d.apiKey;
    const beta = firstHeader(client["anthropic-beta"]);
    if (beta) h["anthropic-beta"] = beta;
    return h;
  },
  userOf(body: JsonObject) {
    const metadata = body.metadata;
    if (metadata === undefined || metadata === null) return {};
    if (typeof metadata !== "object" || Array.isArray(metadata))
      return { error: "`metadata` must be an object" };
    const v = (metadata as JsonObject).user_id;
    if (v === undefined || v === null || v === "") return {};
    if (typeof v !== "string") return { error: "`metadata.user_id` must be a string" };
    return { user: v };
  },
  check(_op: Operation, body: JsonObject) {
    if (!Array.isArray(body.messages)) return "`messages` must be an array";
    if (body.stream !== undefined && typeof body.stream !== "boolean") return "`stream` must be a boolean";
    return undefined;
  },
};
