/** Building blocks for several gateway nodes: policy-version propagation and shared rate limits. */
export { PolicyWatcher, type PolicyWatcherOptions } from "./policy-watcher.ts";
export { type LimitResult, RateLimiter, type RateLimiterOptions, type RateLimits } from "./rate-limiter.ts";
