import { createHash } from "node:crypto";
import type { ApiKey, Directory, Org } from "../directory/types.ts";
import { GatewayError } from "./errors.ts";
import { firstHeader, type HeaderBag } from "./providers/index.ts";

export interface Caller {
  key: ApiKey;
  org: Org;
}

/** The gateway key from `Authorization: Bearer ...` or `x-api-key`. */
export function presentedKey(headers: HeaderBag): string | undefined {
  const auth = firstHeader(headers.authorization);
  if (auth) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m) return m[1];
  }
  const x = firstHeader(headers["x-api-key"])?.trim();
  return x || undefined;
}

/**
 * Maps a presented key to its organisation. Keys are compared by sha256 (the directory holds only
 * hashes); unknown, revoked and orphaned keys all get the same 401 so nothing leaks about which.
 */
export async function authenticate(directory: Directory, headers: HeaderBag): Promise<Caller> {
  const key = presentedKey(headers);
  if (!key || key.length > 512) throw unauthorized();
  const found = await directory.findKeyByHash(createHash("sha256").update(key).digest("hex"));
  if (!found || found.revokedAt) throw unauthorized();
  const org = await directory.getOrg(found.orgId);
  if (!org) throw unauthorized();
  return { key: found, org };
}

function unauthorized(): GatewayError {
  return new GatewayError(
    "invalid_api_key",
    "invalid gateway API key: send the key you were given as `Authorization: Bearer <key>` or `x-api-key`; ask your administrator for a new one if it was revoked",
  );
}
