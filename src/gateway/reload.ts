import { readFile } from "node:fs/promises";
import type { FastifyBaseLogger } from "fastify";
import { FileDirectory } from "../directory/file.ts";
import { type CompiledPolicy, formatDiagnostic, loadPolicy } from "../policy/index.ts";
import { watchPath } from "../shared/watch.ts";
import type { GatewayRuntime } from "./runtime.ts";

/** Reads and compiles a policy file; throws with every located error, one a line. */
export async function readPolicyFile(file: string): Promise<CompiledPolicy> {
  const { policy, diagnostics } = loadPolicy(await readFile(file, "utf8"), file);
  if (!policy) {
    const errors = diagnostics.filter((d) => d.severity === "error").map(formatDiagnostic);
    throw Object.assign(new Error(`${file} is not a valid policy:\n${errors.join("\n")}`), {
      code: "POLICY_INVALID",
    });
  }
  return policy;
}

/**
 * Applies changes to the policy and directory files to new requests, within a second, without a
 * restart. Requests in flight keep the version they were decided under. A file that does not load
 * is rejected with its located errors in the log; the last good version stays in force.
 */
export function watchReloads(rt: GatewayRuntime, log: FastifyBaseLogger): () => void {
  const stops: (() => void)[] = [];
  const policyFile = rt.config.policyFile;
  if (policyFile !== undefined)
    stops.push(
      watchPath(
        policyFile,
        () => {
          readPolicyFile(policyFile).then(
            (policy) => {
              if (policy.hash === rt.policy?.hash) return;
              rt.policy = policy;
              rt.metrics.reloads.inc({ kind: "policy", result: "ok" });
              log.info({ policy: policy.hash, file: policyFile }, "policy reloaded");
            },
            (err: Error) => {
              rt.metrics.reloads.inc({ kind: "policy", result: "rejected" });
              log.error(
                { file: policyFile, policy: rt.policy?.hash },
                `policy reload rejected, last good version stays in force: ${err.message}`,
              );
            },
          );
        },
        rt.config.reloadIntervalMs,
      ),
    );
  const directory = rt.directory;
  if (directory instanceof FileDirectory) {
    stops.push(
      watchPath(
        directory.file,
        () => {
          directory.reload().then(
            (snapshot) => {
              rt.metrics.reloads.inc({ kind: "directory", result: "ok" });
              log.info({ file: directory.file, ...snapshot.size }, "directory reloaded");
            },
            (err: Error) => {
              rt.metrics.reloads.inc({ kind: "directory", result: "rejected" });
              log.error(
                { file: directory.file },
                `directory reload rejected, last good version stays in force: ${err.message}`,
              );
            },
          );
        },
        rt.config.reloadIntervalMs,
      ),
    );
  }
  return () => {
    for (const stop of stops) stop();
  };
}
