import type { FastifyBaseLogger, FastifyInstance } from "fastify";
import { ADMIN_PREFIX, buildAdminApp, NoticeBoard } from "../admin/index.ts";
import { RateLimiter } from "../cluster/rate-limiter.ts";
import { CachedDirectory } from "../directory/cached.ts";
import { FileDirectory } from "../directory/file.ts";
import type { Directory } from "../directory/types.ts";
import type { CompiledPolicy } from "../policy/index.ts";
import type { AuditSink } from "../store/audit-port.ts";
import { AuditWriter } from "../store/audit-writer.ts";
import { JsonlAuditSink } from "../store/jsonl-audit.ts";
import { openStore } from "../store/open.ts";
import type { Store } from "../store/types.ts";
import type { GatewayConfig } from "./config.ts";
import { type CountryLookup, clientLocator, openCountryLookup } from "./geo.ts";
import { GatewayMetrics } from "./metrics.ts";
import { readPolicyFile, watchReloads } from "./reload.ts";
import type { GatewayRuntime } from "./runtime.ts";
import { buildServer, type ServerOptions } from "./server.ts";
import { followStorePolicy } from "./store-policy.ts";
import { upstreamAgent } from "./upstream.ts";

export interface StartOptions extends ServerOptions {
  /** Defaults: the files named in the config. */
  policy?: CompiledPolicy;
  directory?: Directory;
  audit?: AuditSink;
  geo?: CountryLookup;
  /** A store opened by the caller (kept open on close); default: `config.storeUrl`, opened here. */
  store?: Store;
  /** How often the store's latest policy version is re-checked (default 1,000 ms). */
  policyRecheckMs?: number;
  now?: () => number;
  /** Listen on this port instead of the configured one (0: any free port). */
  port?: number;
}

export interface RunningGateway {
  app: FastifyInstance;
  runtime: GatewayRuntime;
  url: string;
  /** The admin API's base URL (`…/admin/v1`), when `admin` is configured. */
  admin?: { app: FastifyInstance; url: string };
  /** Stops accepting, lets requests in flight finish for up to `graceMs`, then cuts what is left. */
  close(graceMs?: number): Promise<void>;
}

/** Loads policy, directory, audit log and geo data, then listens. Any of them missing → it does not start. */
export async function startGateway(
  config: GatewayConfig,
  options: StartOptions = {},
): Promise<RunningGateway> {
  let log: FastifyBaseLogger | undefined;
  const warn = (message: string) => (log ? log.warn(message) : process.stderr.write(`${message}\n`));
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const needsStore =
      config.admin !== undefined ||
      (!options.policy && !config.policyFile) ||
      (!options.directory && !config.directoryFile) ||
      (!options.audit && !config.auditFile);
    let store = options.store;
    if (!store && needsStore && config.storeUrl) {
      const opened = await openStore(config.storeUrl);
      cleanups.unshift(() => opened.close());
      store = opened;
    }
    const requireStore = (): Store => {
      if (!store) throw new Error("the configuration reads from the store, but `store` is not set");
      return store;
    };

    let policy = options.policy;
    let follow: Awaited<ReturnType<typeof followStorePolicy>> | undefined;
    if (!policy) {
      if (config.policyFile) policy = await readPolicyFile(config.policyFile);
      else {
        follow = await followStorePolicy(requireStore(), options.policyRecheckMs ?? 1_000, () => log);
        cleanups.unshift(() => follow!.watcher.close());
        policy = follow.initial;
        if (!policy) warn("no valid policy version is published in the store: requests get 503 until one is");
      }
    }
    const directory =
      options.directory ??
      (config.directoryFile
        ? await FileDirectory.open(config.directoryFile)
        : config.directoryCacheMs > 0
          ? new CachedDirectory(requireStore(), config.directoryCacheMs)
          : requireStore());
    let audit = options.audit;
    if (!audit) {
      if (config.auditFile) {
        audit = await JsonlAuditSink.open(config.auditFile, { maxPending: config.auditMaxPending });
      } else {
        audit = await AuditWriter.start(requireStore(), {
          node: config.auditNode,
          maxQueue: config.auditMaxPending,
          commitTimeoutMs: config.auditCommitTimeoutMs,
          onStateChange: (ready, reason) =>
            ready
              ? log?.info({ node: config.auditNode }, `audit store available again: ${reason}`)
              : log?.error(
                  { node: config.auditNode },
                  `audit store unavailable, requests get 503: ${reason}`,
                ),
        });
      }
      const opened = audit;
      cleanups.unshift(() => opened.close());
    }
    const running = await listen(config, options, { policy, directory, audit }, follow, cleanups, (l) => {
      log = l;
    });
    if (config.admin)
      running.admin = await startAdmin(config, config.admin, requireStore(), running, cleanups);
    return running;
  } catch (err) {
    for (const cleanup of cleanups) await cleanup().catch(() => undefined);
    throw err;
  }
}

/**
 * The admin API on its own listener and the notice board that puts `x-clearance-notice` on the
 * responses of orgs about to lose access; both on the gateway's store. Closed before the store.
 */
async function startAdmin(
  config: GatewayConfig,
  admin: NonNullable<GatewayConfig["admin"]>,
  store: Store,
  gateway: RunningGateway,
  cleanups: (() => Promise<void>)[],
): Promise<{ app: FastifyInstance; url: string }> {
  const board = await NoticeBoard.start(store, {
    refreshMs: admin.noticeRefreshMs,
    now: gateway.runtime.now,
  });
  cleanups.unshift(async () => board.close());
  gateway.runtime.notices = board;
  const app = await buildAdminApp({
    store,
    now: gateway.runtime.now,
    auditNode: `${config.auditNode}-admin`,
    webhooks: admin.webhookSecret ? { secret: admin.webhookSecret } : undefined,
    logger: false,
  });
  cleanups.unshift(() => app.close());
  await app.listen({ host: admin.host, port: admin.port });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : admin.port;
  const host = admin.host.includes(":") ? `[${admin.host}]` : admin.host;
  return { app, url: `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}${ADMIN_PREFIX}` };
}

interface Parts {
  policy: CompiledPolicy | undefined;
  directory: Directory;
  audit: AuditSink;
}

async function listen(
  config: GatewayConfig,
  options: StartOptions,
  { policy, directory, audit }: Parts,
  follow: { attach(rt: GatewayRuntime): void } | undefined,
  cleanups: (() => Promise<void>)[],
  setLog: (log: FastifyBaseLogger) => void,
): Promise<RunningGateway> {
  const geo = options.geo ?? (await openCountryLookup(config.geoDatabase));
  const metrics = new GatewayMetrics(true);
  const agent = upstreamAgent(config.connectTimeoutMs);
  cleanups.push(() => agent.close());
  const runtime: GatewayRuntime = {
    config,
    policy,
    directory,
    directoryReady: true,
    audit,
    limiter: undefined,
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
  setLog(app.log);
  if (config.limits) {
    // Connected once the log exists, so an unreachable Redis (and the fail mode) is logged there.
    const limiter = await RateLimiter.connect(config.limits.redisUrl, {
      failMode: config.limits.fail,
      keyPrefix: config.limits.keyPrefix,
      timeoutMs: config.limits.timeoutMs,
      log: (message) => app.log.warn({ fail: config.limits?.fail }, message),
    });
    runtime.limiter = limiter;
    cleanups.unshift(() => limiter.close());
  }
  follow?.attach(runtime);
  for (const model of config.deployments.keys()) {
    if (policy && !policy.models.has(model))
      app.log.warn(
        { model },
        `deployments for \`${model}\`, which the policy does not declare: requests for it get 404`,
      );
  }
  for (const model of policy?.models.keys() ?? []) {
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
      // The limiter and watcher stop, the writer drains, then the store closes; the agent last.
      for (const cleanup of cleanups) await cleanup();
    },
  };
}
