import type { Deployment } from "../config.ts";
import type { Surface } from "../errors.ts";

/** A JSON object body as received. */
export type JsonObject = Record<string, unknown>;

/** An API operation a surface offers. */
export interface Operation {
  surface: Surface;
  name: "chat.completions" | "responses" | "embeddings" | "messages" | "messages.count_tokens";
  /** The path clients call (and, after the base URL, the path sent upstream). */
  path: string;
  /** Whether `stream: true` is honoured. */
  streams: boolean;
}

export type HeaderBag = Record<string, string | string[] | undefined>;

/**
 * A provider's wire format: where an operation goes upstream, which headers carry credentials
 * and versions, and where the end user is named in a body.
 */
export interface ProviderAdapter {
  readonly kind: Surface;
  readonly operations: readonly Operation[];
  /** Full upstream URL of an operation for a deployment. */
  url(deployment: Deployment, op: Operation): string;
  /** Headers sent upstream: the deployment's credential and the client's version headers, nothing else. */
  headers(deployment: Deployment, client: HeaderBag): Record<string, string>;
  /** The end user named in the body, or an error message when the field has the wrong type. */
  userOf(body: JsonObject): { user?: string; error?: string };
  /** A message when a required prompt field is missing or of the wrong type. */
  check(op: Operation, body: JsonObject): string | undefined;
}

/** Sets the model name wherever a response object carries it (top level, `message`, `response`). */
export function renameModel(obj: unknown, model: string): boolean {
  if (obj === null || typeof obj !== "object") return false;
  const o = obj as JsonObject;
  let changed = false;
  if (typeof o.model === "string") {
    o.model = model;
    changed = true;
  }
  for (const inner of ["message", "response"]) {
    const v = o[inner];
    if (v !== null && typeof v === "object" && typeof (v as JsonObject).model === "string") {
      (v as JsonObject).model = model;
      changed = true;
    }
  }
  return changed;
}

export function firstHeader(h: string | string[] | undefined): string | undefined {
  return Array.isArray(h) ? h[0] : h;
}
