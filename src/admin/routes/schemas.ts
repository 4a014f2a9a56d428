/** JSON schema pieces shared by the routes (Fastify validates with them; the OpenAPI document shows them). */
export const ID = { type: "string", pattern: "^[A-Za-z0-9._:@-]{1,128}$" } as const;

export function idParams(...names: string[]) {
  return {
    type: "object",
    required: names,
    properties: Object.fromEntries(names.map((n) => [n, ID])),
  };
}

export function pageQuery(extra: Record<string, unknown>) {
  return {
    type: "object",
    additionalProperties: false,
    properties: {
      limit: { type: "integer", minimum: 1, maximum: 1000, default: 100, description: "page size" },
      after: { ...ID, description: "the `next` of the previous page" },
      ...extra,
    },
  };
}

/** `{ items, next? }`: next is the cursor for the following page when this one is full. */
export function page<T>(items: T[], limit: number, key: (item: T) => string): { items: T[]; next?: string } {
  const last = items[items.length - 1];
  return items.length === limit && last ? { items, next: key(last) } : { items };
}
