import type { Agent } from "undici";
import type { RateLimiter } from "../cluster/rate-limiter.ts";
import type { Directory } from "../directory/types.ts";
import type { CompiledPolicy, Decision } from "../policy/index.ts";
import type { AuditSink } from "../store/audit-port.ts";
import type { Caller } from "./auth.ts";
import type { GatewayConfig } from "./config.ts";
import type { Surface } from "./errors.ts";
import type { ClientLocator } from "./geo.ts";
import type { GatewayMetrics } from "./metrics.ts";

/** What every request needs; `policy` is swapped on reload (requests keep the one they started with). */
export interface GatewayRuntime {
  config: GatewayConfig;
  policy: CompiledPolicy | undefined;
  directory: Directory;
  /** False until the directory has been loaded once. */
  directoryReady: boolean;
  audit: AuditSink;
  /** Per-org limits shared through Redis; undefined: no limiting. */
  limiter: RateLimiter | undefined;
  locator: ClientLocator;
  metrics: GatewayMetrics;
  agent: Agent;
  now: () => number;
  /** Change notices for an org (`x-clearance-notice`), when the admin API publishes through this store. */
  notices?: { noticesFor(orgId: string, now: number): string | undefined };
  countDecision(decision: Decision): void;
}

/** Per-request state, set when the request arrives. */
export interface RequestContext {
  decisionId: string;
  /** Epoch ms at arrival: the instant every decision of this request is taken at. */
  arrival: number;
  /** performance.now() at arrival, for the added-latency measure. */
  t0: number;
  surface: Surface;
  operation: string;
  ip: string | null;
  country: string | undefined;
  caller: Caller | undefined;
  user: string | undefined;
}

declare module "fastify" {
  interface FastifyRequest {
    clearance: RequestContext;
    /** The body as received, before JSON parsing. */
    rawBody?: Buffer;
  }
  interface FastifyContextConfig {
    surface?: Surface;
    operation?: string;
  }
}
