import { randomBytes } from "node:crypto";
import { sha256 } from "../policy/index.ts";
import type { AdminRole, AdminToken, StoreOps } from "../store/index.ts";
import { ALL_ROLES } from "./context.ts";
import { AdminError } from "./errors.ts";

/** Admin tokens: `cla_` and 32 base64url characters; only their sha256 is stored. */
export function hashAdminToken(token: string): string {
  return sha256(token);
}

export function isRole(value: string): value is AdminRole {
  return (ALL_ROLES as readonly string[]).includes(value);
}

/** Creates a token with a role; returns the secret once (never stored) and the stored record. */
export async function issueAdminToken(
  ops: StoreOps,
  input: { name: string; role: string; createdBy: string | null; at: number },
): Promise<{ token: string; record: AdminToken }> {
  if (!isRole(input.role)) {
    throw new AdminError(
      "ADMIN_BAD_REQUEST",
      `unknown role \`${input.role}\`; expected one of ${ALL_ROLES.map((r) => `\`${r}\``).join(", ")}`,
    );
  }
  if (!input.name.trim())
    throw new AdminError("ADMIN_BAD_REQUEST", "a token needs a `name` (the person holding it)");
  const token = `cla_${randomBytes(24).toString("base64url")}`;
  const record: AdminToken = {
    id: `tok_${randomBytes(6).toString("hex")}`,
    name: input.name,
    role: input.role,
    hash: hashAdminToken(token),
    createdBy: input.createdBy,
    createdAt: new Date(input.at).toISOString(),
    revokedAt: null,
  };
  await ops.createAdminToken(record);
  return { token, record };
}

/** A token as listed: never its hash. */
export function publicToken(t: AdminToken) {
  return {
    id: t.id,
    name: t.name,
    role: t.role,
    createdBy: t.createdBy,
    createdAt: t.createdAt,
    revokedAt: t.revokedAt,
  };
}

/** The 403 message: which role the route needs and which the token has. */
export function roleMessage(route: string, roles: readonly AdminRole[], has: AdminRole): string {
  const need = roles.map((r) => `\`${r}\``).join(" or ");
  return `\`${route}\` needs role ${need}; this token has role \`${has}\``;
}
