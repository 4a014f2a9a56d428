import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  type CompiledPolicy,
  decide,
  type Facts,
  formatDiagnostic,
  loadPolicy,
  parseInstant,
} from "../../src/policy/index.ts";

export const EXAMPLE_POLICY = fileURLToPath(
  new URL("../../examples/policies/us-2026-frontier.yaml", import.meta.url),
);

export function policyFrom(text: string): CompiledPolicy {
  const { policy, diagnostics } = loadPolicy(text, "test.yaml");
  if (!policy) throw new Error(diagnostics.map(formatDiagnostic).join("\n"));
  return policy;
}

export function examplePolicy(): CompiledPolicy {
  return policyFrom(readFileSync(EXAMPLE_POLICY, "utf8"));
}

export function at(text: string): number {
  const ms = parseInstant(text);
  if (ms === undefined) throw new Error(`bad instant ${text}`);
  return ms;
}

export function decideAt(policy: CompiledPolicy, model: string, facts: Facts, when: string) {
  return decide(policy, { model, facts }, at(when));
}

/** A document with two models and the given directives (YAML list items, indented by 2). */
export function withDirectives(directives: string, extra = ""): CompiledPolicy {
  return policyFrom(`version: 1
jurisdictions:
  EU: [FR, DE, AT]
models:
  m1: { provider: p, capabilities: [cyber] }
  m2: { provider: p }
  preview: { provider: p, default: deny }
cohorts:
  partners: { members: [org-a] }
${extra}
directives:
${directives}`);
}
