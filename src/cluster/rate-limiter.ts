import { Redis } from "ioredis";

export interface RateLimits {
  /** Requests per minute across all gateway nodes; absent means unlimited. */
  requestsPerMinute?: number;
  /** Tokens per minute across all gateway nodes; absent means unlimited. */
  tokensPerMinute?: number;
}

export interface LimitResult {
  allowed: boolean;
  /** Seconds until the window resets (0 when allowed): the `retry-after` header. */
  retryAfterSeconds: number;
  /** Which limit refused, or `unavailable` when Redis could not be asked and the limiter fails closed. */
  limit?: "requests" | "tokens" | "unavailable";
  /** Set when Redis could not be asked and the limiter failed open. */
  failedOpen?: boolean;
}

export interface RateLimiterOptions {
  /** When Redis is unreachable: refuse (`closed`, the default) or allow (`open`). Logged either way. */
  failMode?: "open" | "closed";
  /** Key prefix, so several deployments can share one Redis (default `clearance:rl`). */
  keyPrefix?: string;
  /** Window length in ms (default 60,000: per minute). */
  windowMs?: number;
  /** Milliseconds to wait for Redis before applying the fail mode (default 250). */
  timeoutMs?: number;
  /** Where the fail-open/closed decision and Redis coming back are reported (default stderr). */
  log?: (message: string) => void;
}

/*
 * Fixed windows aligned on Redis's own clock (TIME), so every node counts in the same window.
 * KEYS[1]: the org's key base. ARGV: requests limit (-1 none), tokens limit (-1 none),
 * tokens to reserve now (an estimate, may be 0), window ms.
 * Admits when one more request fits and the tokens used so far (plus the estimate) fit.
 */
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[4])
local start = now - (now % window)
local rk = KEYS[1] .. ':r:' .. start
local tk = KEYS[1] .. ':t:' .. start
local rpm = tonumber(ARGV[1])
local tpm = tonumber(ARGV[2])
local est = tonumber(ARGV[3])
local retry = math.ceil((start + window - now) / 1000)
local reqs = tonumber(redis.call('GET', rk) or '0')
if rpm >= 0 and reqs + 1 > rpm then return {0, retry, 1} end
if tpm >= 0 then
  local toks = tonumber(redis.call('GET', tk) or '0')
  if toks >= tpm or (est > 0 and toks + est > tpm) then return {0, retry, 2} end
end
redis.call('INCR', rk)
redis.call('PEXPIRE', rk, window * 2)
if est > 0 then
  redis.call('INCRBY', tk, est)
  redis.call('PEXPIRE', tk, window * 2)
end
return {1, 0, 0}
`;

const ADD_TOKENS = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[2])
local tk = KEYS[1] .. ':t:' .. (now - (now % window))
redis.call('INCRBY', tk, ARGV[1])
redis.call('PEXPIRE', tk, window * 2)
return 1
`;

/**
 * Per-org request and token limits shared by every gateway node through Redis. `take()` is one
 * atomic Lua call; `addTokens()` accounts for the tokens a response actually used (or corrects an
 * estimate). When Redis cannot be asked, the configured fail mode decides, and the choice is logged
 * once per outage.
 */
export class RateLimiter {
  private readonly failMode: "open" | "closed";
  private readonly prefix: string;
  private readonly windowMs: number;
  private readonly log: (message: string) => void;
  private outage = false;

  private constructor(
    private readonly redis: Redis,
    private readonly owned: boolean,
    options: RateLimiterOptions,
  ) {
    this.failMode = options.failMode ?? "closed";
    this.prefix = options.keyPrefix ?? "clearance:rl";
    this.windowMs = options.windowMs ?? 60_000;
    this.log = options.log ?? ((m) => process.stderr.write(`${m}\n`));
  }

  /**
   * Connects to `redis://...` (or uses a client you own). Never throws for an unreachable Redis:
   * the limiter starts in its fail mode and recovers when Redis answers.
   */
  static async connect(redis: string | Redis, options: RateLimiterOptions = {}): Promise<RateLimiter> {
    const timeout = options.timeoutMs ?? 250;
    const client =
      typeof redis === "string"
        ? new Redis(redis, {
            enableOfflineQueue: false,
            maxRetriesPerRequest: 0,
            commandTimeout: timeout,
            connectTimeout: Math.max(timeout, 1000),
            retryStrategy: (times) => Math.min(times * 100, 2_000),
            lazyConnect: true,
          })
        : redis;
    client.on("error", () => {}); // reported through the fail mode, not as an unhandled event
    const limiter = new RateLimiter(client, typeof redis === "string", options);
    if (typeof redis === "string") {
      await client
        .connect()
        .catch(() => limiter.unavailable(new Error(`cannot connect to ${redactRedis(redis)}`)));
    }
    return limiter;
  }

  async take(orgId: string, limits: RateLimits, tokens = 0): Promise<LimitResult> {
    const rpm = limits.requestsPerMinute ?? -1;
    const tpm = limits.tokensPerMinute ?? -1;
    if (rpm < 0 && tpm < 0) return { allowed: true, retryAfterSeconds: 0 };
    try {
      const [ok, retry, which] = (await this.redis.eval(
        TAKE,
        1,
        this.key(orgId),
        rpm,
        tpm,
        Math.max(0, Math.round(tokens)),
        this.windowMs,
      )) as [number, number, number];
      this.recovered();
      if (ok === 1) return { allowed: true, retryAfterSeconds: 0 };
      return {
        allowed: false,
        retryAfterSeconds: Math.max(1, retry),
        limit: which === 1 ? "requests" : "tokens",
      };
    } catch (err) {
      return this.unavailable(err as Error);
    }
  }

  /** Adds tokens used (negative to return an over-estimate) to the org's current window. */
  async addTokens(orgId: string, tokens: number): Promise<void> {
    if (!tokens) return;
    try {
      await this.redis.eval(ADD_TOKENS, 1, this.key(orgId), Math.round(tokens), this.windowMs);
      this.recovered();
    } catch (err) {
      this.unavailable(err as Error);
    }
  }

  async close(): Promise<void> {
    if (this.owned) this.redis.disconnect();
  }

  private key(orgId: string): string {
    return `${this.prefix}:{${orgId}}`;
  }

  private unavailable(err: Error): LimitResult {
    if (!this.outage) {
      this.outage = true;
      this.log(
        `rate limiter: redis unavailable (${err.message}); failing ${this.failMode}: requests are ${this.failMode === "open" ? "allowed without limits" : "refused"} until it answers`,
      );
    }
    return this.failMode === "open"
      ? { allowed: true, retryAfterSeconds: 0, failedOpen: true }
      : { allowed: false, retryAfterSeconds: 1, limit: "unavailable" };
  }

  private recovered(): void {
    if (!this.outage) return;
    this.outage = false;
    this.log("rate limiter: redis answers again; limits enforced");
  }
}

function redactRedis(url: string): string {
  return url.replace(/\/\/[^@/]*@/, "//***@");
}
