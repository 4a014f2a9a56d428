import type { FastifyInstance, RouteOptions } from "fastify";
import { ADMIN_CODES } from "./errors.ts";

interface RouteSchema {
  summary?: string;
  description?: string;
  tags?: string[];
  params?: Record<string, unknown>;
  querystring?: Record<string, unknown>;
  body?: Record<string, unknown>;
  response?: Record<string, unknown>;
  hide?: boolean;
}

/**
 * Builds the OpenAPI 3.1 document from the routes as they are registered: their JSON schemas
 * (params, query, body, responses) and the roles in their config. Returns a getter.
 */
export function collectOpenApi(app: FastifyInstance, prefix: string): () => Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  app.addHook("onRoute", (route: RouteOptions) => {
    const schema = (route.schema ?? {}) as RouteSchema;
    if (!route.url.startsWith(prefix) || schema.hide) return;
    const path = route.url.replace(/:([A-Za-z_]+)/g, "{$1}");
    const methods = (Array.isArray(route.method) ? route.method : [route.method]).filter((m) => m !== "HEAD");
    const roles = (route.config as { roles?: string[] } | undefined)?.roles;
    for (const method of methods) {
      const parameters = [
        ...objectParams(schema.params, "path"),
        ...objectParams(schema.querystring, "query"),
      ];
      const responses: Record<string, unknown> = {};
      for (const [code, s] of Object.entries(schema.response ?? {})) {
        responses[code] = {
          description: (s as { description?: string }).description ?? "ok",
          content: { "application/json": { schema: s } },
        };
      }
      if (Object.keys(responses).length === 0) responses["200"] = { description: "ok" };
      responses.default = {
        description: "an error",
        content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
      };
      paths[path] ??= {};
      paths[path][method.toLowerCase()] = {
        summary: schema.summary,
        ...(schema.description ? { description: schema.description } : {}),
        ...(schema.tags ? { tags: schema.tags } : {}),
        ...(roles ? { security: [{ bearer: [] }], "x-roles": roles } : { security: [] }),
        ...(parameters.length ? { parameters } : {}),
        ...(schema.body
          ? { requestBody: { required: true, content: { "application/json": { schema: schema.body } } } }
          : {}),
        responses,
      };
    }
  });
  return () => ({
    openapi: "3.1.0",
    info: {
      title: "Clearance admin API",
      version: "1",
      description:
        "Directory, directive lifecycle (draft → validated → impact computed → approved by a second person → published), impact analysis, notices and reports. Every request is written to the audit log.",
    },
    servers: [{ url: "/" }],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description: "an admin token `cla_…`; its role decides what it may do",
        },
      },
      schemas: {
        Error: {
          type: "object",
          required: ["error"],
          properties: {
            error: {
              type: "object",
              required: ["code", "message"],
              properties: {
                code: {
                  type: "string",
                  enum: Object.keys(ADMIN_CODES),
                  description: "stable; policy codes (`DECIDE_…`, `FACTS_…`) too",
                },
                message: { type: "string" },
                diagnostics: { type: "array", items: { type: "string" } },
              },
            },
          },
        },
      },
    },
  });
}

function objectParams(schema: Record<string, unknown> | undefined, where: "path" | "query") {
  const props = (schema?.properties ?? {}) as Record<string, Record<string, unknown>>;
  const required = new Set((schema?.required ?? []) as string[]);
  return Object.entries(props).map(([name, s]) => ({
    name,
    in: where,
    required: where === "path" || required.has(name),
    ...(s.description ? { description: s.description } : {}),
    schema: s,
  }));
}
