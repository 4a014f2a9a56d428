import type { ApiKey, Directory, Org, User } from "./types.ts";

interface Entry<T> {
  at: number;
  value: Promise<T>;
}

/**
 * A Directory that remembers each answer (found or not) for `ttlMs`, so a store-backed directory
 * costs a database round trip per key, org and user per interval rather than three per request.
 * A change in the store (a revoked key, new user facts) is seen within `ttlMs`. A lookup that
 * fails is not remembered.
 */
export class CachedDirectory implements Directory {
  private readonly maps = {
    key: new Map<string, Entry<ApiKey | undefined>>(),
    org: new Map<string, Entry<Org | undefined>>(),
    user: new Map<string, Entry<User | undefined>>(),
  };

  constructor(
    readonly inner: Directory,
    private readonly ttlMs: number,
    private readonly now: () => number = () => performance.now(),
    /** Entries per kind, at most; the oldest go first. */
    private readonly maxEntries = 100_000,
  ) {}

  findKeyByHash(hash: string): Promise<ApiKey | undefined> {
    return this.cached(this.maps.key, hash, () => this.inner.findKeyByHash(hash));
  }
  getOrg(id: string): Promise<Org | undefined> {
    return this.cached(this.maps.org, id, () => this.inner.getOrg(id));
  }
  getUser(orgId: string, userId: string): Promise<User | undefined> {
    return this.cached(this.maps.user, `${orgId}\u0000${userId}`, () => this.inner.getUser(orgId, userId));
  }

  private cached<T>(map: Map<string, Entry<T>>, id: string, load: () => Promise<T>): Promise<T> {
    const t = this.now();
    const hit = map.get(id);
    if (hit && t - hit.at < this.ttlMs) return hit.value;
    const value = load();
    map.delete(id);
    if (map.size >= this.maxEntries) map.delete(map.keys().next().value as string);
    map.set(id, { at: t, value });
    value.catch(() => {
      if (map.get(id)?.value === value) map.delete(id);
    });
    return value;
  }
}
