import { readFileSync } from "node:fs";
import { isIP } from "node:net";
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
    policy: z.string().min(1),
    directory: z.string().min(1),
    audit: z
      .object({ file: z.string().min(1), max_pending: z.number().int().positive().default(10_000) })
      .strict(),
    limits: z
      .object({
        body_bytes: z
          .number()
          .int()
          .positive()
          .default(4 * 1024 * 1024),
        body_timeout_ms: z.number().int().positive().default(30_000),
      })
      .strict()
      .default({ body_bytes: 4 * 1024 * 1024, body_timeout_ms: 30_000 }),
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

export interface GatewayConfig {
  host: string;
  port: number;
  policyFile: string;
  directoryFile: string;
  auditFile: string;
  auditMaxPending: number;
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
    policyFile: resolve(baseDir, c.policy),
    directoryFile: resolve(baseDir, c.directory),
    auditFile: resolve(baseDir, c.audit.file),
    auditMaxPending: c.audit.max_pending,
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
