import {
  type CompiledPolicy,
  canonicalJson,
  formatDiagnostic,
  loadPolicy,
  parseDuration,
  subtractDuration,
} from "../policy/index.ts";
import type { PolicyVersion, StoreOps } from "../store/index.ts";
import { AdminError } from "./errors.ts";

/** The policy in force before anything is published: no models, no directives. */
export const EMPTY_POLICY_TEXT = "version: 1\nmodels: {}\ndirectives: []\n";

const cache = new Map<string, CompiledPolicy>();

/** Compiles a stored (hence valid) document, once per hash. */
export function compiled(text: string, hash?: string): CompiledPolicy {
  const key = hash ?? canonicalJson(text);
  let policy = cache.get(key);
  if (!policy) {
    const { policy: p, diagnostics } = loadPolicy(text, "policy");
    if (!p)
      throw new AdminError(
        "ADMIN_INTERNAL",
        `a stored policy does not load: ${diagnostics.map(formatDiagnostic)[0]}`,
      );
    policy = p;
    if (cache.size > 50) cache.clear();
    cache.set(key, policy);
  }
  return policy;
}

export interface Current {
  version: PolicyVersion | undefined;
  policy: CompiledPolicy;
}

export async function currentPolicy(ops: StoreOps): Promise<Current> {
  const version = await ops.latestPolicy();
  return {
    version,
    policy: version ? compiled(version.document, version.sha256) : compiled(EMPTY_POLICY_TEXT),
  };
}

/** Loads a draft's document, or 422 ADMIN_DRAFT_INVALID listing every error with its location. */
export function loadDraft(text: string, file: string): CompiledPolicy {
  const { policy, diagnostics } = loadPolicy(text, file);
  if (!policy) {
    const errors = diagnostics.filter((d) => d.severity === "error");
    throw new AdminError(
      "ADMIN_DRAFT_INVALID",
      `\`${file}\` has ${errors.length} error${errors.length === 1 ? "" : "s"}; the first: ${formatDiagnostic(errors[0]!)}`,
      diagnostics,
    );
  }
  return policy;
}

/** Directive ids added, changed or removed from `before` to `after`, sorted. */
export function changedDirectives(before: CompiledPolicy, after: CompiledPolicy): string[] {
  const index = (p: CompiledPolicy) => new Map(p.doc.directives.map((d) => [d.id, canonicalJson(d)]));
  const b = index(before);
  const a = index(after);
  const ids = new Set([...b.keys(), ...a.keys()]);
  return [...ids].filter((id) => b.get(id) !== a.get(id)).sort();
}

/**
 * The instant a change is in force: the latest `effective` among the directives it adds or
 * changes, and never before `now` (a change cannot take effect before it is published).
 */
export function effectiveInstant(after: CompiledPolicy, directives: readonly string[], now: number): number {
  let at = now;
  for (const id of directives) {
    const d = after.directives.get(id);
    if (d && d.effective > at) at = d.effective;
  }
  return at;
}

/**
 * The grace period for notices: the shortest `notice` among these directives, `immediate` when
 * none states one or it is zero.
 */
export function graceOf(policies: readonly CompiledPolicy[], directives: readonly string[]): string {
  let best: { text: string; ms: number } | undefined;
  const ref = Date.UTC(2030, 0, 1);
  for (const id of directives) {
    for (const p of policies) {
      const text = p.directives.get(id)?.notice;
      const d = text ? parseDuration(text) : undefined;
      if (!text || !d) continue;
      const ms = ref - subtractDuration(ref, d);
      if (ms > 0 && (!best || ms < best.ms)) best = { text, ms };
    }
  }
  return best?.text ?? "immediate";
}

/** The duration in milliseconds of a grace period (0 for immediate). */
export function graceMs(grace: string): number {
  const d = grace === "immediate" ? undefined : parseDuration(grace);
  if (!d) return 0;
  const ref = Date.UTC(2030, 0, 1);
  return ref - subtractDuration(ref, d);
}
