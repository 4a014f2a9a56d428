import type { FastifyInstance } from "fastify";
import { FileDirectory } from "../directory/file.ts";
import type { Directory } from "../directory/types.ts";
import type { CompiledPolicy } from "../policy/index.ts";
import type { AuditSink } from "../store/audit-port.ts";
import { JsonlAuditSink } from "../store/jsonl-audit.ts";
import type { GatewayConfig } from "./config.ts";
import { type CountryLookup, clientLocator, openCountryLookup } from "./geo.ts";
import { GatewayMetrics } from "./metrics.ts";
import { readPolicyFile, watchReloads } from "./reload.ts";
import type { GatewayRuntime } from "./runtime.ts";
import { buildServer, type ServerOptions } from "./server.ts";
import { upstreamAgent } from "./upstream.ts";

export interface StartOptions extends ServerOptions {
  /** Defaults: the files named in the config. */
  policy?: CompiledPolicy;
  directory?: Directory;
  audit?: AuditSink;
  geo?: CountryLookup;
  now?: () => number;
  /** Listen on this port instead of the configured one (0: any free port). */
  port?: number;
}

export interface RunningGateway {
  app: FastifyInstance;
  runtime: GatewayRuntime;
  url: string;
  /** Stops accepting, lets requests in flight finish for up to `graceMs`, then cuts what is left. */
  close(graceMs?: number): Promise<void>;
}

/** Loads policy, directory, audit log and geo data, then listens. Any of them missing → it does not start. */
export async function startGateway(
  config: GatewayConfig,
  options: StartOptions = {},
): Promise<RunningGateway> {
  const policy = options.policy ?? (await readPolicyFile(config.policyFile));
  const directory = options.directory ?? (await FileDirectory.open(config.directoryFile));
  const audit =
    options.audit ?? (await JsonlAuditSink.open(config.auditFile, { maxPending: config.auditMaxPending }));
  const geo = options.geo ?? (await openCountryLookup(config.geoDatabase));
  const metrics = new GatewayMetrics(true);
  const agent = upstreamAgent(config.connectTimeoutMs);
  const runtime: GatewayRuntime = {
    config,
    policy,
    directory,
    directoryReady: true,
    audit,
    locator: clientLocator(geo, config.trustedProxies, config.countryHeader),
    metrics,
    agent,
    now: options.now ?? Date.now,
    countDecision(d) {
      const directives = new Set(
        d.reasons.filter((r) => r.effect !== "exempt" && !r.lifted_by).map((r) => r.directive ?? "none"),
      );
      for (const directive of directives.size ? directives : ["none"])
        metrics.decisions.inc({ outcome: d.decision, directive });
    },
  };
  const app = buildServer(runtime, options);
  for (const model of config.deployments.keys()) {
    if (!policy.models.has(model))
      app.log.warn(
        { model },
        `deployments for \`${model}\`, which the policy does not declare: requests for it get 404`,
      );
  }
  for (const model of policy.models.keys()) {
    if (!config.deployments.has(model))
      app.log.warn({ model }, `no deployment for \`${model}\`: it cannot be served`);
  }
  const stopWatching = config.reload ? watchReloads(runtime, app.log) : () => undefined;
  await app.listen({ host: config.host, port: options.port ?? config.port });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  return {
    app,
    runtime,
    url: `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`,
    async close(graceMs = 10_000) {
      stopWatching();
      const timer = setTimeout(() => app.server.closeAllConnections(), graceMs);
      await app.close();
      clearTimeout(timer);
      await agent.close();
      if (!options.audit) await audit.close();
    },
  };
}
