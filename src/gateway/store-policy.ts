import type { FastifyBaseLogger } from "fastify";
import { PolicyWatcher } from "../cluster/policy-watcher.ts";
import { type CompiledPolicy, formatDiagnostic, loadPolicy } from "../policy/index.ts";
import type { PolicyVersion, Store } from "../store/index.ts";
import type { GatewayRuntime } from "./runtime.ts";

/** Where a published version's located errors point: `store:policy@VERSION`. */
function sourceOf(v: PolicyVersion): string {
  return `store:policy@${v.version}`;
}

/** Compiles a published version; throws with every located error, one a line. */
export function compileVersion(v: PolicyVersion): CompiledPolicy {
  const { policy, diagnostics } = loadPolicy(v.document, sourceOf(v));
  if (policy) return policy;
  const errors = diagnostics.filter((d) => d.severity === "error").map(formatDiagnostic);
  throw Object.assign(
    new Error(
      `policy version ${v.version} (published by ${v.publishedBy}) is not valid:\n${errors.join("\n")}`,
    ),
    { code: "POLICY_INVALID" },
  );
}

/** How far back start-up looks for a version that compiles when the latest ones do not. */
const LOOK_BACK = 20;

/**
 * The newest published version that compiles, looking back past broken ones (each logged).
 * Undefined when nothing usable is published: the gateway then answers 503 until one is.
 */
export async function latestGoodPolicy(
  store: Store,
  latest: PolicyVersion | undefined,
  log: (message: string) => void,
): Promise<CompiledPolicy | undefined> {
  for (let v = latest, tries = 0; v && tries < LOOK_BACK; tries++) {
    try {
      return compileVersion(v);
    } catch (err) {
      log(`${(err as Error).message}\nfalling back to the version before it`);
    }
    v = v.version > 1 ? await store.getPolicyVersion(v.version - 1) : undefined;
  }
  return undefined;
}

/**
 * Enforces the latest version published in the store: every node follows publications through
 * the PolicyWatcher (NOTIFY on PostgreSQL, polling on SQLite) and re-checks every `intervalMs`,
 * so a new version is in force within about a second. A version that does not compile is
 * rejected with its located errors in the log; the last good one stays in force.
 */
export async function followStorePolicy(
  store: Store,
  intervalMs: number,
  log: () => FastifyBaseLogger | undefined,
): Promise<{
  watcher: PolicyWatcher;
  initial: CompiledPolicy | undefined;
  attach(rt: GatewayRuntime): void;
}> {
  const watcher = await PolicyWatcher.start(store, {
    intervalMs,
    onError: (err) => log()?.warn(`policy watcher: ${err.message}; re-checking`),
  });
  const seen = watcher.current?.version ?? 0;
  const initial = await latestGoodPolicy(store, watcher.current, (m) =>
    log() ? log()?.error(m) : process.stderr.write(`${m}\n`),
  );
  return {
    watcher,
    initial,
    attach(rt) {
      const apply = (v: PolicyVersion) => {
        try {
          const policy = compileVersion(v);
          if (policy.hash === rt.policy?.hash) return;
          rt.policy = policy;
          rt.metrics.reloads.inc({ kind: "policy", result: "ok" });
          log()?.info({ policy: policy.hash, version: v.version }, "policy version in force");
        } catch (err) {
          rt.metrics.reloads.inc({ kind: "policy", result: "rejected" });
          log()?.error(
            { version: v.version, policy: rt.policy?.hash },
            `published policy rejected, last good version stays in force: ${(err as Error).message}`,
          );
        }
      };
      watcher.onChange(apply);
      // A version published while starting up was seen before anyone listened.
      const current = watcher.current;
      if (current && current.version > seen) apply(current);
    },
  };
}

/**
 * Validates a policy document and publishes it as the store's next version; a document with
 * errors is refused (POLICY_INVALID, every located error) and nothing is published.
 */
export async function publishPolicyText(
  store: Store,
  text: string,
  source: string,
  publishedBy: string,
  at = new Date(),
): Promise<PolicyVersion> {
  const { policy, diagnostics } = loadPolicy(text, source);
  if (!policy) {
    const errors = diagnostics.filter((d) => d.severity === "error").map(formatDiagnostic);
    throw Object.assign(new Error(`${source} is not a valid policy:\n${errors.join("\n")}`), {
      code: "POLICY_INVALID",
    });
  }
  return store.publishPolicy({
    document: text,
    sha256: policy.hash,
    publishedBy,
    publishedAt: at.toISOString(),
  });
}
