import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { normalizeFacts } from "../policy/index.ts";
import { FileInvalidError, type Problem, parseLocated } from "../shared/located.ts";
import type { ApiKey, Directory, Org, User } from "./types.ts";

/**
 * The directory as a YAML or JSON file: orgs, users and API keys (hashes only). Validated with
 * located errors; `FileDirectory` swaps in a new version atomically on reload.
 */
const id = z.string().regex(/^[A-Za-z0-9._@-]+$/, "expected an id of letters, digits, `.`, `_`, `@` and `-`");
const instant = z.union([z.string(), z.date()]).transform((v) => (v instanceof Date ? v.toISOString() : v));

const OrgSchema = z
  .object({
    id,
    name: z.string().optional(),
    country: z.string().optional(),
    sector: z.string().min(1).optional(),
    verified: z.boolean().optional(),
    cohorts: z.array(id).optional(),
    settings: z
      .object({
        fallback: z.boolean().optional(),
        requests_per_minute: z.number().int().positive().optional(),
        tokens_per_minute: z.number().int().positive().optional(),
        webhook_url: z.string().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

const UserSchema = z
  .object({
    org: id,
    id: z.string().min(1),
    nationality: z.array(z.string()).optional(),
    permanent_residency: z.array(z.string()).optional(),
    residence: z.string().optional(),
  })
  .strict();

const KeySchema = z
  .object({
    id,
    org: id,
    prefix: z.string().min(1),
    hash: z.string().regex(/^[0-9a-f]{64}$/, "expected the sha256 of the key as 64 lowercase hex digits"),
    name: z.string().optional(),
    created: instant,
    revoked: instant.nullable().optional(),
  })
  .strict();

export const DirectoryFileSchema = z
  .object({
    version: z.literal(1).optional(),
    orgs: z.array(OrgSchema).default([]),
    users: z.array(UserSchema).default([]),
    keys: z.array(KeySchema).default([]),
  })
  .strict();

export type DirectoryFile = z.output<typeof DirectoryFileSchema>;

/** An immutable, indexed version of a directory file. */
export class DirectorySnapshot implements Directory {
  private constructor(
    private readonly orgs: ReadonlyMap<string, Org>,
    private readonly users: ReadonlyMap<string, User>,
    private readonly keys: ReadonlyMap<string, ApiKey>,
  ) {}

  static fromFile(doc: DirectoryFile): DirectorySnapshot {
    const orgs = new Map<string, Org>();
    for (const o of doc.orgs) {
      const org: Org = { id: o.id };
      if (o.name !== undefined) org.name = o.name;
      if (o.country !== undefined) org.country = o.country.toUpperCase();
      if (o.sector !== undefined) org.sector = o.sector;
      if (o.verified !== undefined) org.verified = o.verified;
      if (o.cohorts !== undefined) org.cohorts = o.cohorts;
      if (o.settings) {
        org.settings = {};
        if (o.settings.fallback !== undefined) org.settings.fallback = o.settings.fallback;
        if (o.settings.requests_per_minute !== undefined)
          org.settings.requestsPerMinute = o.settings.requests_per_minute;
        if (o.settings.tokens_per_minute !== undefined)
          org.settings.tokensPerMinute = o.settings.tokens_per_minute;
        if (o.settings.webhook_url !== undefined) org.settings.webhookUrl = o.settings.webhook_url;
      }
      orgs.set(o.id, org);
    }
    const users = new Map<string, User>();
    for (const u of doc.users) {
      const user: User = { orgId: u.org, id: u.id };
      if (u.nationality !== undefined) user.nationality = u.nationality.map((c) => c.toUpperCase());
      if (u.permanent_residency !== undefined)
        user.permanentResidency = u.permanent_residency.map((c) => c.toUpperCase());
      if (u.residence !== undefined) user.residence = u.residence.toUpperCase();
      users.set(userKey(u.org, u.id), user);
    }
    const keys = new Map<string, ApiKey>();
    for (const k of doc.keys) {
      keys.set(k.hash, {
        id: k.id,
        orgId: k.org,
        prefix: k.prefix,
        hash: k.hash,
        createdAt: k.created,
        revokedAt: k.revoked ?? null,
        ...(k.name !== undefined ? { name: k.name } : {}),
      });
    }
    return new DirectorySnapshot(orgs, users, keys);
  }

  get size() {
    return { orgs: this.orgs.size, users: this.users.size, keys: this.keys.size };
  }

  /** Every entry, e.g. to seed a store with the file (`seedDirectory`). */
  entries(): { orgs: Org[]; users: User[]; keys: ApiKey[] } {
    return { orgs: [...this.orgs.values()], users: [...this.users.values()], keys: [...this.keys.values()] };
  }

  async findKeyByHash(hash: string): Promise<ApiKey | undefined> {
    return this.keys.get(hash);
  }
  async getOrg(orgId: string): Promise<Org | undefined> {
    return this.orgs.get(orgId);
  }
  async getUser(orgId: string, userId: string): Promise<User | undefined> {
    return this.users.get(userKey(orgId, userId));
  }
  /** Synchronous lookups for the hot path (the file adapter has everything in memory). */
  keySync(hash: string): ApiKey | undefined {
    return this.keys.get(hash);
  }
  orgSync(orgId: string): Org | undefined {
    return this.orgs.get(orgId);
  }
  userSync(orgId: string, userId: string): User | undefined {
    return this.users.get(userKey(orgId, userId));
  }
}

function userKey(orgId: string, userId: string): string {
  return `${orgId}\u0000${userId}`;
}

function checkDirectory(doc: DirectoryFile): Problem[] {
  const problems: Problem[] = [];
  const countries = (path: Problem["path"], values: readonly string[]) => {
    for (const [i, v] of values.entries()) {
      const { errors } = normalizeFacts({ "user.residence": v });
      if (errors.length > 0)
        problems.push({ path: [...path, i], message: `\`${v}\` is not an ISO 3166-1 alpha-2 country code` });
    }
  };
  const orgIds = new Set<string>();
  doc.orgs.forEach((o, i) => {
    if (orgIds.has(o.id)) problems.push({ path: ["orgs", i, "id"], message: `duplicate org id \`${o.id}\`` });
    orgIds.add(o.id);
    if (o.country !== undefined) {
      const { errors } = normalizeFacts({ "org.country": o.country });
      if (errors.length > 0)
        problems.push({
          path: ["orgs", i, "country"],
          message: `\`${o.country}\` is not an ISO 3166-1 alpha-2 country code`,
        });
    }
  });
  const userIds = new Set<string>();
  doc.users.forEach((u, i) => {
    if (!orgIds.has(u.org)) problems.push({ path: ["users", i, "org"], message: `unknown org \`${u.org}\`` });
    const k = userKey(u.org, u.id);
    if (userIds.has(k))
      problems.push({ path: ["users", i, "id"], message: `duplicate user \`${u.id}\` in org \`${u.org}\`` });
    userIds.add(k);
    if (u.nationality) countries(["users", i, "nationality"], u.nationality);
    if (u.permanent_residency) countries(["users", i, "permanent_residency"], u.permanent_residency);
    if (u.residence !== undefined) countries(["users", i, "residence"], [u.residence]);
  });
  const keyIds = new Set<string>();
  const hashes = new Set<string>();
  doc.keys.forEach((k, i) => {
    if (!orgIds.has(k.org)) problems.push({ path: ["keys", i, "org"], message: `unknown org \`${k.org}\`` });
    if (keyIds.has(k.id)) problems.push({ path: ["keys", i, "id"], message: `duplicate key id \`${k.id}\`` });
    if (hashes.has(k.hash)) problems.push({ path: ["keys", i, "hash"], message: "two keys share one hash" });
    keyIds.add(k.id);
    hashes.add(k.hash);
  });
  return problems;
}

/** Parses and checks a directory file; throws FileInvalidError (code DIRECTORY_INVALID) listing every problem. */
export function parseDirectory(text: string, file: string): DirectorySnapshot {
  const parsed = parseLocated(text, file, DirectoryFileSchema, "DIRECTORY", checkDirectory);
  if (!parsed.ok) throw new FileInvalidError("DIRECTORY_INVALID", file, parsed.diagnostics);
  return DirectorySnapshot.fromFile(parsed.value);
}

export async function loadDirectoryFile(file: string): Promise<DirectorySnapshot> {
  return parseDirectory(await readFile(file, "utf8"), file);
}

/** sha256 hex of an API key, as stored in the directory. */
export function hashKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

/**
 * A Directory backed by a file that can be reloaded: lookups always read the version in force;
 * a broken file on reload leaves the last good version in force and reports why.
 */
export class FileDirectory implements Directory {
  private constructor(
    readonly file: string,
    private snapshot: DirectorySnapshot,
  ) {}

  static async open(file: string): Promise<FileDirectory> {
    return new FileDirectory(file, await loadDirectoryFile(file));
  }

  static fromText(text: string, file: string): FileDirectory {
    return new FileDirectory(file, parseDirectory(text, file));
  }

  get current(): DirectorySnapshot {
    return this.snapshot;
  }

  /** Re-reads the file; throws (keeping the version in force) when it cannot be read or is invalid. */
  async reload(): Promise<DirectorySnapshot> {
    this.snapshot = await loadDirectoryFile(this.file);
    return this.snapshot;
  }

  findKeyByHash(hash: string) {
    return this.snapshot.findKeyByHash(hash);
  }
  getOrg(orgId: string) {
    return this.snapshot.getOrg(orgId);
  }
  getUser(orgId: string, userId: string) {
    return this.snapshot.getUser(orgId, userId);
  }
}
