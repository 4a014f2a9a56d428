import type { Facts } from "../policy/index.ts";

/**
 * The directory port: who is asking. Org attributes come only from here and from the policy's
 * cohorts, never from a request. Adapters: a YAML/JSON file (directory/file.ts) and the store.
 */
export interface Org {
  id: string;
  name?: string;
  /** ISO 3166-1 alpha-2. */
  country?: string;
  sector?: string;
  verified?: boolean;
  /** Cohort memberships recorded in the directory, in addition to the policy's member lists. */
  cohorts?: string[];
  settings?: OrgSettings;
}

export interface OrgSettings {
  /** Serve a permitted fallback model when the requested one is denied. */
  fallback?: boolean;
  /** Requests per minute across all gateway nodes; absent means unlimited. */
  requestsPerMinute?: number;
  /** Tokens per minute across all gateway nodes; absent means unlimited. */
  tokensPerMinute?: number;
  /** Where change notices are delivered. */
  webhookUrl?: string;
  /** HMAC-SHA256 key for this org's webhook signatures; without it the admin API's configured secret. */
  webhookSecret?: string;
}

export interface User {
  orgId: string;
  id: string;
  nationality?: string[];
  permanentResidency?: string[];
  residence?: string;
}

export interface ApiKey {
  id: string;
  orgId: string;
  /** The first characters of the key, shown in listings so people can tell keys apart. */
  prefix: string;
  /** sha256 hex of the whole key; the key itself is never stored. */
  hash: string;
  name?: string;
  createdAt: string;
  revokedAt?: string | null;
}

export interface Directory {
  findKeyByHash(hash: string): Promise<ApiKey | undefined>;
  getOrg(id: string): Promise<Org | undefined>;
  getUser(orgId: string, userId: string): Promise<User | undefined>;
}

/** Policy facts for a principal. Missing values stay missing: unknown, never a default. */
export function factsFor(
  org: Org,
  user: User | undefined,
  userId: string | undefined,
  requestCountry?: string,
): Facts {
  const facts: Facts = { "org.id": org.id };
  if (org.country !== undefined) facts["org.country"] = org.country;
  if (org.sector !== undefined) facts["org.sector"] = org.sector;
  if (org.verified !== undefined) facts["org.verified"] = org.verified;
  if (org.cohorts !== undefined) facts["org.cohorts"] = org.cohorts;
  if (userId !== undefined) facts["user.id"] = userId;
  if (user?.nationality !== undefined) facts["user.nationality"] = user.nationality;
  if (user?.permanentResidency !== undefined) facts["user.permanent_residency"] = user.permanentResidency;
  if (user?.residence !== undefined) facts["user.residence"] = user.residence;
  if (requestCountry !== undefined) facts["request.country"] = requestCountry;
  return facts;
}
