import { readFileSync } from "node:fs";
import type { FastifyInstance } from "fastify";
import { expect } from "vitest";
import { buildAdminApp } from "../../src/admin/app.ts";
import type { WebhookOptions } from "../../src/admin/notices.ts";
import { issueAdminToken } from "../../src/admin/tokens.ts";
import { openStore, type Store } from "../../src/store/index.ts";
import type { TestDatabase } from "../helpers/databases.ts";

export const NOW = Date.parse("2026-07-01T12:00:00Z");

export interface Response {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: test bodies are read by shape
  json: any;
}

export interface AdminHarness {
  url: string;
  app: FastifyInstance;
  store: Store;
  tokens: Record<"viewer" | "editor" | "editor2" | "approver" | "approver2" | "auditor" | "admin", string>;
  clock: { now: number };
  call(
    method: string,
    path: string,
    options?: { token?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> },
  ): Promise<Response>;
  close(): Promise<void>;
}

/** The admin API on a real server on 127.0.0.1 (port 0), over a real store, with one token per role. */
export async function startAdmin(
  db: TestDatabase,
  options: { webhooks?: WebhookOptions; bodyLimit?: number; auditNode?: string } = {},
): Promise<AdminHarness> {
  const clock = { now: NOW };
  const store = await openStore(db.url, { now: () => clock.now });
  const app = await buildAdminApp({
    store,
    now: () => clock.now,
    ...(options.webhooks ? { webhooks: options.webhooks } : {}),
    ...(options.bodyLimit ? { bodyLimit: options.bodyLimit } : {}),
    ...(options.auditNode ? { auditNode: options.auditNode } : {}),
  });
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  const tokens = {} as AdminHarness["tokens"];
  const people: [keyof AdminHarness["tokens"], string, string][] = [
    ["viewer", "vera", "viewer"],
    ["editor", "eddie", "editor"],
    ["editor2", "erin", "editor"],
    ["approver", "april", "approver"],
    ["approver2", "abel", "approver"],
    ["auditor", "aude", "auditor"],
    ["admin", "ada", "admin"],
  ];
  for (const [key, name, role] of people) {
    tokens[key] = (await issueAdminToken(store, { name, role, createdBy: null, at: NOW })).token;
  }
  const call: AdminHarness["call"] = async (method, path, o = {}) => {
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    const token = o.token === undefined ? tokens.admin : o.token;
    if (token) headers.authorization = `Bearer ${token}`;
    let body: string | undefined;
    if (o.raw !== undefined) body = o.raw;
    else if (o.body !== undefined) body = JSON.stringify(o.body);
    if (body !== undefined) headers["content-type"] ??= "application/json";
    const res = await fetch(`${url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  };
  return {
    url,
    app,
    store,
    tokens,
    clock,
    call,
    async close() {
      await app.close();
      await store.close();
    },
  };
}

export const EXAMPLE = readFileSync(
  new URL("../../examples/policies/us-2026-frontier.yaml", import.meta.url),
  "utf8",
);

/** v2: fable-5 withdrawn outside the US from 1 August, with 30 days' notice. */
export const WITHDRAWAL = `${EXAMPLE}
  - id: us-2026-08-01
    authority: US Department of Commerce
    title: fable-5 withdrawn outside the United States
    source: letter of 2026-07-01
    issued: 2026-07-01
    effective: 2026-08-01
    notice: P30D
    rules:
      - id: fable-outside-us
        effect: deny
        models: [fable-5]
        when: { request.country: { not_in: [US] } }
`;

export async function seedDirectory(h: AdminHarness): Promise<void> {
  await h.store.upsertOrg({ id: "acme", name: "Acme", country: "US", sector: "private", verified: true });
  await h.store.upsertUser({
    orgId: "acme",
    id: "ann",
    nationality: ["US"],
    permanentResidency: [],
    residence: "US",
  });
  await h.store.upsertUser({
    orgId: "acme",
    id: "ben",
    nationality: ["US"],
    permanentResidency: [],
    residence: "DE",
  });
  await h.store.upsertOrg({ id: "globex", name: "Globex", country: "US", sector: "private", verified: true });
  await h.store.upsertUser({
    orgId: "globex",
    id: "gus",
    nationality: ["US"],
    permanentResidency: [],
    residence: "US",
  });
  await h.store.upsertOrg({ id: "org-a", name: "Org A", country: "FR", sector: "private", verified: true });
  await h.store.upsertUser({
    orgId: "org-a",
    id: "amy",
    nationality: ["FR"],
    permanentResidency: [],
    residence: "FR",
  });
}

/** Draft → validated → impact → approved → published, asserting each step. */
export async function publish(h: AdminHarness, document: string, title: string) {
  const created = await h.call("POST", "/admin/v1/drafts", {
    token: h.tokens.editor,
    body: { title, document },
  });
  expect(created.status).toBe(201);
  const id = created.json.id as string;
  expect(
    (await h.call("POST", `/admin/v1/drafts/${id}/validate`, { token: h.tokens.editor })).json.state,
  ).toBe("validated");
  const impact = await h.call("POST", `/admin/v1/drafts/${id}/impact`, { token: h.tokens.editor });
  expect(impact.status).toBe(200);
  expect(
    (await h.call("POST", `/admin/v1/drafts/${id}/approve`, { token: h.tokens.approver })).json.state,
  ).toBe("approved");
  const published = await h.call("POST", `/admin/v1/drafts/${id}/publish`, { token: h.tokens.approver2 });
  expect(published.status).toBe(200);
  return { id, impact: impact.json.impact, published: published.json };
}
