import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { RateLimiter } from "../../src/cluster/index.ts";
import { REDIS_SKIP, REDIS_URL } from "../helpers/databases.ts";
import { startProxy } from "../helpers/proxy.ts";

describe.skipIf(REDIS_SKIP !== undefined)(
  `rate limiter on the real Redis${REDIS_SKIP ? ` (skipped: ${REDIS_SKIP})` : ""}`,
  () => {
    const prefix = `clearance-test:${randomUUID()}`;
    const limiters: RateLimiter[] = [];
    const node = async (options: Parameters<typeof RateLimiter.connect>[1] = {}) => {
      const l = await RateLimiter.connect(REDIS_URL!, { keyPrefix: prefix, log: () => {}, ...options });
      limiters.push(l);
      return l;
    };
    afterEach(async () => {
      for (const l of limiters.splice(0)) await l.close();
    });
    afterAll(async () => {
      const redis = new Redis(REDIS_URL!);
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
    });

    it("shares a requests-per-minute limit across two nodes, atomically, with retry-after", async () => {
      const [a, b] = [await node(), await node()];
      const limits = { requestsPerMinute: 10 };
      const results = await Promise.all(
        Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).take("acme", limits)),
      );
      expect(results.filter((r) => r.allowed)).toHaveLength(10);
      const refused = results.find((r) => !r.allowed)!;
      expect(refused.limit).toBe("requests");
      expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      expect(refused.retryAfterSeconds).toBeLessThanOrEqual(60);
      // Another org has its own budget.
      expect((await a.take("globex", limits)).allowed).toBe(true);
    });

    it("limits tokens per minute from the tokens actually used", async () => {
      const a = await node();
      const limits = { tokensPerMinute: 1000 };
      expect((await a.take("t-org", limits)).allowed).toBe(true);
      await a.addTokens("t-org", 900);
      expect((await a.take("t-org", limits, 200)).allowed).toBe(false);
      expect((await a.take("t-org", limits, 50)).allowed).toBe(true);
      await a.addTokens("t-org", 100);
      expect(await a.take("t-org", limits)).toMatchObject({ allowed: false, limit: "tokens" });
    });

    it("no limits configured: always allowed without asking Redis", async () => {
      const a = await node();
      expect(await a.take("free", {})).toEqual({ allowed: true, retryAfterSeconds: 0 });
    });

    it("Redis unreachable: fails closed by default, open when configured, and logs the choice once", async () => {
      const logs: string[] = [];
      const closed = await RateLimiter.connect("redis://127.0.0.1:1", { log: (m) => logs.push(m) });
      limiters.push(closed);
      expect(await closed.take("acme", { requestsPerMinute: 10 })).toEqual({
        allowed: false,
        retryAfterSeconds: 1,
        limit: "unavailable",
      });
      expect(await closed.take("acme", { requestsPerMinute: 10 })).toMatchObject({ allowed: false });
      expect(logs).toHaveLength(1);
      expect(logs[0]).toMatch(/redis unavailable .*failing closed/);

      const open = await RateLimiter.connect("redis://127.0.0.1:1", {
        failMode: "open",
        log: (m) => logs.push(m),
      });
      limiters.push(open);
      expect(await open.take("acme", { requestsPerMinute: 10 })).toEqual({
        allowed: true,
        retryAfterSeconds: 0,
        failedOpen: true,
      });
      expect(logs[1]).toMatch(/failing open/);
    });

    it("Redis lost mid-way then back: refused while away, enforced again after, each change logged", async () => {
      const target = new URL(REDIS_URL!);
      const proxy = await startProxy(Number(target.port || 6379), target.hostname);
      const logs: string[] = [];
      const a = await RateLimiter.connect(`redis://127.0.0.1:${proxy.port}`, {
        keyPrefix: prefix,
        log: (m) => logs.push(m),
      });
      limiters.push(a);
      try {
        expect((await a.take("back", { requestsPerMinute: 100 })).allowed).toBe(true);
        proxy.cut();
        await new Promise((r) => setTimeout(r, 50));
        expect(await a.take("back", { requestsPerMinute: 100 })).toMatchObject({
          allowed: false,
          limit: "unavailable",
        });
        proxy.restore();
        const end = Date.now() + 5_000;
        let result = await a.take("back", { requestsPerMinute: 100 });
        while (!result.allowed && Date.now() < end) {
          await new Promise((r) => setTimeout(r, 50));
          result = await a.take("back", { requestsPerMinute: 100 });
        }
        expect(result.allowed).toBe(true);
        expect(logs).toEqual([
          expect.stringMatching(/failing closed/),
          expect.stringMatching(/answers again/),
        ]);
      } finally {
        await a.close();
        await proxy.close();
      }
    });
  },
);
