import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { hostname } from "node:os";
import { dirname, resolve } from "node:path";
import { z } from "zod";
import { FileInvalidError, type Problem, parseLocated } from "../shared/located.ts";

/** Gateway configuration, validated once at start with defaults; see docs/gateway.md. */
const DeploymentSchema = z
  .object({
    id: z
      .string()
      .regex(/^[A-Za-z0-9._-]+$/, "expected an id of letters, digits, `.`, `_` and `-`")
      .optional(),
    provider: z.enum(["openai", "anthropic"]),
    base_url: z.url({ protocol: /^https?$/, error: "expected an http or https URL" }),
    region: z.string().min(1),
    model: z.string().min(1).optional(),
    api_key_env: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "expected an environment variable name")
      .optional(),
    timeout_ms: z.number().int().positive().optional(),
  })
  .strict();

export const ConfigSchema = z
  .object({
    listen: z
      .object({
        host: z.string().default("127.0.0.1"),
        port: z.number().int().min(0).max(65535).default(8787),
      })
      .strict()
      .default({ host: "127.0.0.1", port: 8787 }),
    store: z
      .string()
      .regex(
        /^(sqlite:.+|postgres(ql)?:\/\/.+)$/,
        "expected a store URL: `sqlite:PATH` or `postgres://USER@HOST:PORT/DB`",
      )
      .optional(),
    policy: z.union([z.string().min(1), z.object({ store: z.literal(true) }).strict()], {
      error:
        "expected a policy file, or `{ store: true }` to enforce the latest version published in the store",
    }),
    directory: z.string().min(1).optional(),
    admin: z
      .object({
        listen: z
          .object({
            host: z.string().default("127.0.0.1"),
            port: z.number().int().min(0).max(65535).default(8788),
          })
          .strict()
          .default({ host: "127.0.0.1", port: 8788 }),
        webhook_secret_env: z
          .string()
          .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "expected an environment variable name")
          .optional(),
        notice_refresh_ms: z.number().int().positive().default(5_000),
      })
      .strict()
      .optional(),
    directory_cache_ms: z.number().int().min(0).default(1_000),
    audit: z.union(
      [
        z
          .object({ file: z.string().min(1), max_pending: z.number().int().positive().default(10_000) })
          .strict(),
        z
          .object({
            store: z.literal(true),
            node: z
              .string()
              .regex(/^[A-Za-z0-9._:-]+$/, "expected a node id of letters, digits, `.`, `_`, `:` and `-`")
              .optional(),
            max_pending: z.number().int().positive().default(10_000),
            commit_timeout_ms: z.number().int().positive().default(5_000),
          })
          .strict(),
      ],
      { error: "expected `{ file: PATH }` or `{ store: true, node: NAME }`" },
    ),
    limits: z
      .object({
        body_bytes: z
          .number()
          .int()
          .positive()
          .default(4 * 1024 * 1024),
        body_timeout_ms: z.number().int().positive().default(30_000),
        redis: z
          .string()
          .regex(/^rediss?:\/\/.+/, "expected a `redis://HOST:PORT` URL")
          .optional(),
        fail: z.enum(["closed", "open"]).default("closed"),
        redis_timeout_ms: z.number().int().positive().default(250),
        key_prefix: z.string().min(1).default("clearance:rl"),
      })
      .strict()
      .default({
        body_bytes: 4 * 1024 * 1024,
        body_timeout_ms: 30_000,
        fail: "closed",
        redis_timeout_ms: 250,
        key_prefix: "clearance:rl",
      }),
    network: z
      .object({
        trusted_proxies: z.array(z.string()).default([]),
        country_header: z.string().min(1).optional(),
        geo_database: z.string().min(1).optional(),
      })
      .strict()
      .default({ trusted_proxies: [] }),
    upstream: z
      .object({
        timeout_ms: z.number().int().positive().default(60_000),
        connect_timeout_ms: z.number().int().positive().default(5_000),
      })
      .strict()
      .default({ timeout_ms: 60_000, connect_timeout_ms: 5_000 }),
    reload: z
      .object({ enabled: z.boolean().default(true), interval_ms: z.number().int().min(50).default(250) })
      .strict()
      .default({ enabled: true, interval_ms: 250 }),
    deployments: z.record(z.string(), z.array(DeploymentSchema).min(1, "list at least one deployment")),
  })
  .strict();

export type ConfigFile = z.output<typeof ConfigSchema>;

export interface Deployment {
  id: string;
  /** The policy's model id this deployment serves. */
  modelId: string;
  provider: "openai" | "anthropic";
  baseUrl: string;
  region: string;
  /** The model name the upstream expects. */
  upstreamModel: string;
  /** Read from the environment at load; never logged or echoed. */
  apiKey: string | undefined;
  timeoutMs: number;
}

/** Per-org rate limits shared through Redis; absent: no limiting. */
export interface LimitsConfig {
  redisUrl: string;
  fail: "closed" | "open";
  timeoutMs: number;
  keyPrefix: string;
}

export interface GatewayConfig {
  host: string;
  port: number;
  /** The store URL (relative SQLite paths resolved against the config's folder). */
  storeUrl: string | undefined;
  /** The policy file; undefined when the policy is the latest version published in the store. */
  policyFile: string | undefined;
  /** The directory file; undefined when the directory is read from the store. */
  directoryFile: string | undefined;
  /** How long a store-backed directory's answers are reused (0: every request asks the store). */
  directoryCacheMs: number;
  /** The admin API on its own listener, on the same store; absent: not served. */
  admin:
    | { host: string; port: number; webhookSecret: string | undefined; noticeRefreshMs: number }
    | undefined;
  /** The JSONL audit log; undefined when audit records go to the store's hash-chained log. */
  auditFile: string | undefined;
  /** This process's audit chain when auditing into the store. */
  auditNode: string;
  auditMaxPending: number;
  auditCommitTimeoutMs: number;
  limits: LimitsConfig | undefined;
  bodyLimit: number;
  bodyTimeoutMs: number;
  trustedProxies: string[];
  countryHeader: string | undefined;
  geoDatabase: string | undefined;
  connectTimeoutMs: number;
  reload: boolean;
  reloadIntervalMs: number;
  /** Model id → its deployments, in order of preference. */
  deployments: Map<string, Deployment[]>;
}

function checkConfig(env: NodeJS.ProcessEnv) {
  return (c: ConfigFile): Problem[] => {
    const problems: Problem[] = [];
    const needsStore = (path: (string | number)[], what: string) => {
      if (c.store === undefined)
        problems.push({
          path,
          message: `${what} needs \`store\` (a sqlite: or postgres:// URL)`,
          code: "CONFIG_NO_STORE",
        });
    };
    if (typeof c.policy === "object") needsStore(["policy", "store"], "the policy from the store");
    if ("store" in c.audit) needsStore(["audit", "store"], "auditing into the store");
    if (c.admin) needsStore(["admin"], "the admin API");
    if (c.directory === undefined && c.store === undefined)
      problems.push({
        path: ["directory"],
        message: "give a directory file, or `store` to read the directory from the store",
        code: "CONFIG_NO_STORE",
      });
    c.network.trusted_proxies.forEach((p, i) => {
      const [addr, bits, ...rest] = p.split("/");
      const family = isIP(addr ?? "");
      const max = family === 6 ? 128 : 32;
      const okBits = bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= max);
      if (!family || !okBits || rest.length > 0)
        problems.push({
          path: ["network", "trusted_proxies", i],
          message: `\`${p}\` is not an IP address or CIDR range`,
          code: "CONFIG_BAD_ADDRESS",
        });
    });
    const ids = new Set<string>();
    for (const [model, list] of Object.entries(c.deployments)) {
      list.forEach((d, i) => {
        const id = d.id ?? defaultId(model, d.region, i);
        if (ids.has(id))
          problems.push({
            path: ["deployments", model, i, "id"],
            message: `duplicate deployment id \`${id}\``,
          });
        ids.add(id);
        if (d.api_key_env !== undefined && !env[d.api_key_env])
          problems.push({
            path: ["deployments", model, i, "api_key_env"],
            message: `environment variable \`${d.api_key_env}\` is not set`,
            code: "CONFIG_MISSING_CREDENTIAL",
          });
      });
    }
    return problems;
  };
}

/** `sqlite:REL` is relative to the config's folder, like every other path in it. */
function resolveStoreUrl(url: string, baseDir: string): string {
  if (!url.startsWith("sqlite:")) return url;
  const path = url.slice("sqlite:".length);
  if (path === ":memory:" || path.startsWith("/")) return url;
  return `sqlite:${resolve(baseDir, path)}`;
}

function defaultId(model: string, region: string, index: number): string {
  return `${model}@${region.toLowerCase()}#${index + 1}`;
}

/** Validates configuration text; relative paths are resolved against `baseDir` (the file's folder). */
export function parseConfig(
  text: string,
  file: string,
  env: NodeJS.ProcessEnv = process.env,
  baseDir = dirname(resolve(file)),
): GatewayConfig {
  const parsed = parseLocated(text, file, ConfigSchema, "CONFIG", checkConfig(env));
  if (!parsed.ok) throw new FileInvalidError("CONFIG_INVALID", file, parsed.diagnostics);
  const c = parsed.value;
  const deployments = new Map<string, Deployment[]>();
  for (const [model, list] of Object.entries(c.deployments)) {
    deployments.set(
      model,
      list.map((d, i) => ({
        id: d.id ?? defaultId(model, d.region, i),
        modelId: model,
        provider: d.provider,
        baseUrl: d.base_url.replace(/\/+$/, ""),
        region: d.region.toLowerCase(),
        upstreamModel: d.model ?? model,
        apiKey: d.api_key_env === undefined ? undefined : env[d.api_key_env],
        timeoutMs: d.timeout_ms ?? c.upstream.timeout_ms,
      })),
    );
  }
  return {
    host: c.listen.host,
    port: c.listen.port,
    storeUrl: c.store === undefined ? undefined : resolveStoreUrl(c.store, baseDir),
    policyFile: typeof c.policy === "string" ? resolve(baseDir, c.policy) : undefined,
    directoryFile: c.directory === undefined ? undefined : resolve(baseDir, c.directory),
    directoryCacheMs: c.directory_cache_ms,
    admin: c.admin && {
      host: c.admin.listen.host,
      port: c.admin.listen.port,
      webhookSecret: c.admin.webhook_secret_env === undefined ? undefined : env[c.admin.webhook_secret_env],
      noticeRefreshMs: c.admin.notice_refresh_ms,
    },
    auditFile: "file" in c.audit ? resolve(baseDir, c.audit.file) : undefined,
    auditNode: ("node" in c.audit ? c.audit.node : undefined) ?? `${hostname()}-${process.pid}`,
    auditMaxPending: c.audit.max_pending,
    auditCommitTimeoutMs: "commit_timeout_ms" in c.audit ? c.audit.commit_timeout_ms : 5_000,
    limits:
      c.limits.redis === undefined
        ? undefined
        : {
            redisUrl: c.limits.redis,
            fail: c.limits.fail,
            timeoutMs: c.limits.redis_timeout_ms,
            keyPrefix: c.limits.key_prefix,
          },
    bodyLimit: c.limits.body_bytes,
    bodyTimeoutMs: c.limits.body_timeout_ms,
    trustedProxies: c.network.trusted_proxies,
    countryHeader: c.network.country_header?.toLowerCase(),
    geoDatabase: c.network.geo_database === undefined ? undefined : resolve(baseDir, c.network.geo_database),
    connectTimeoutMs: c.upstream.connect_timeout_ms,
    reload: c.reload.enabled,
    reloadIntervalMs: c.reload.interval_ms,
    deployments,
  };
}

export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new FileInvalidError("CONFIG_INVALID", file, [
      {
        code: "CONFIG_UNREADABLE",
        message: code === "ENOENT" ? "no such file" : (err as Error).message,
        path: [],
        file,
      },
    ]);
  }
  return parseConfig(text, file, env);
}
