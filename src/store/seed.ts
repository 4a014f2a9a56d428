import type { ApiKey, Org, User } from "../directory/types.ts";
import type { Store } from "./types.ts";

export interface DirectoryData {
  orgs: readonly Org[];
  users?: readonly User[];
  /** Keys as the directory holds them: hashes only. */
  keys?: readonly Pick<ApiKey, "id" | "orgId" | "prefix" | "hash" | "name" | "createdAt" | "revokedAt">[];
}

export interface SeedResult {
  seeded: boolean;
  orgs: number;
  users: number;
  keys: number;
}

/**
 * Puts a whole directory (e.g. the demo directory file) into the store in one transaction. With
 * `onlyIfEmpty` (the default) it does nothing when the store already has organisations, so it can run
 * on every start ("seeded on first start"). An org's `cohorts` become memberships since `cohortsSince`
 * (default 1970-01-01: member all along).
 */
export async function seedDirectory(
  store: Store,
  data: DirectoryData,
  options: { onlyIfEmpty?: boolean; cohortsSince?: string } = {},
): Promise<SeedResult> {
  const since = options.cohortsSince ?? "1970-01-01T00:00:00Z";
  return store.transaction(async (tx) => {
    if ((options.onlyIfEmpty ?? true) && (await tx.listOrgs()).length > 0) {
      return { seeded: false, orgs: 0, users: 0, keys: 0 };
    }
    for (const { cohorts, ...org } of data.orgs) {
      await tx.upsertOrg(org);
      for (const cohort of cohorts ?? []) await tx.addCohortMember({ cohort, orgId: org.id, since });
    }
    for (const user of data.users ?? []) await tx.upsertUser(user);
    for (const k of data.keys ?? []) {
      await tx.createApiKey({
        id: k.id,
        orgId: k.orgId,
        prefix: k.prefix,
        hash: k.hash,
        ...(k.name !== undefined ? { name: k.name } : {}),
        createdAt: k.createdAt,
      });
      if (k.revokedAt) await tx.revokeApiKey(k.orgId, k.id, k.revokedAt);
    }
    return {
      seeded: true,
      orgs: data.orgs.length,
      users: data.users?.length ?? 0,
      keys: data.keys?.length ?? 0,
    };
  });
}
