import { randomBytes } from "node:crypto";
import { sha256 } from "../policy/index.ts";

export interface GeneratedKey {
  /** The secret: shown once to the person who created it, never stored. */
  key: string;
  id: string;
  /** The first 12 characters, stored to tell keys apart in listings. */
  prefix: string;
  /** sha256 hex of the key: what the store keeps and the gateway looks up. */
  hash: string;
}

/** A random API key: `clr_` and 32 base64url characters (192 bits). */
export function generateApiKey(): GeneratedKey {
  const key = `clr_${randomBytes(24).toString("base64url")}`;
  return {
    key,
    id: `key_${randomBytes(6).toString("hex")}`,
    prefix: key.slice(0, 12),
    hash: hashApiKey(key),
  };
}

export function hashApiKey(key: string): string {
  return sha256(key);
}
