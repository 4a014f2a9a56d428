import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";

/** Prometheus metrics of one gateway instance (its own registry, so tests and instances do not collide). */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: "clearance_requests_total",
    help: "HTTP requests answered, by surface, operation and status",
    labelNames: ["surface", "operation", "status"] as const,
    registers: [this.registry],
  });
  readonly decisions = new Counter({
    name: "clearance_decisions_total",
    help: "Policy decisions by outcome and by the directive that determined them (`none` for a model default)",
    labelNames: ["outcome", "directive"] as const,
    registers: [this.registry],
  });
  readonly upstreamSeconds = new Histogram({
    name: "clearance_upstream_duration_seconds",
    help: "Time from sending a request upstream to its last byte, by deployment and upstream status",
    labelNames: ["deployment", "status"] as const,
    buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });
  readonly addedSeconds = new Histogram({
    name: "clearance_added_latency_seconds",
    help: "Latency the gateway adds on top of the upstream's own time",
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1],
    registers: [this.registry],
  });
  readonly reloads = new Counter({
    name: "clearance_reloads_total",
    help: "Policy and directory reloads, by file kind and result",
    labelNames: ["kind", "result"] as const,
    registers: [this.registry],
  });

  constructor(defaults = false) {
    if (defaults) collectDefaultMetrics({ register: this.registry });
  }
}
