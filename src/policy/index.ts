/**
 * The policy core: parse → validate → compile → decide → explain. Pure and synchronous:
 * it takes text, documents and facts and returns values; it never reads files or the clock.
 */
import { type CompiledPolicy, compile } from "./compile.ts";
import { ClearanceError, type Diagnostic, formatDiagnostic } from "./errors.ts";
import { parseSource } from "./source.ts";
import { validateDocument } from "./validate.ts";

export * from "./attributes.ts";
export * from "./compile.ts";
export * from "./errors.ts";
export * from "./evaluate.ts";
export * from "./explain.ts";
export * from "./facts.ts";
export { canonicalJson, sha256 } from "./hash.ts";
export { decideReference } from "./reference.ts";
export * from "./schema.ts";
export * from "./time.ts";
export * from "./timeline.ts";

export interface LoadResult {
  /** Present only when there are no errors (warnings allowed). */
  policy?: CompiledPolicy;
  diagnostics: Diagnostic[];
}

/** Parses, validates and compiles a YAML or JSON policy; every diagnostic carries `file:line:column`. */
export function loadPolicy(text: string, file = "<input>"): LoadResult {
  const source = parseSource(text);
  if (source.syntaxErrors.length > 0) {
    return { diagnostics: source.syntaxErrors.map((d) => ({ ...d, file })) };
  }
  const { doc, diagnostics } = validateDocument(source.value);
  const located = diagnostics.map(({ atKey, ...d }) => ({ ...d, file, ...source.locate(d.path, atKey) }));
  located.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  return { policy: doc ? compile(doc) : undefined, diagnostics: located };
}

/** As loadPolicy, but throws a ClearanceError (code POLICY_INVALID) listing every error. */
export function loadPolicyOrThrow(text: string, file?: string): CompiledPolicy {
  const { policy, diagnostics } = loadPolicy(text, file);
  if (!policy) {
    const errors = diagnostics.filter((d) => d.severity === "error");
    throw new ClearanceError(
      "POLICY_INVALID",
      `${file ?? "policy"} has ${errors.length} error${errors.length === 1 ? "" : "s"}:\n${errors.map(formatDiagnostic).join("\n")}`,
      diagnostics,
    );
  }
  return policy;
}
