import { readFileSync } from "node:fs";
import {
  type CompiledPolicy,
  type Diagnostic,
  formatDiagnostic,
  loadPolicy,
  parseAssignments,
  parseInstant,
} from "../policy/index.ts";

/** Exit codes shared by every command: 0 ok/allow, 1 invalid/deny, 2 bad input or usage. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** A failure with a one-line message for the user and the exit code to leave with. */
export class CliFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.usage,
  ) {
    super(message);
  }
}

export function readText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : (err as Error).message;
    throw new CliFailure(`cannot read \`${file}\`: ${why}`);
  }
}

export function printDiagnostics(diagnostics: readonly Diagnostic[]): void {
  for (const d of diagnostics) process.stderr.write(`${formatDiagnostic(d)}\n`);
}

/** Loads a policy for a command that needs a valid one: errors are printed and exit with 2. */
export function loadPolicyFile(file: string): CompiledPolicy {
  const { policy, diagnostics } = loadPolicy(readText(file), file);
  printDiagnostics(diagnostics.filter((d) => d.severity === "error"));
  if (!policy) throw new CliFailure(`\`${file}\` is not a valid policy; run \`clearance validate ${file}\``);
  return policy;
}

/** `--at`: a date, an RFC 3339 datetime, or `now` (the default). */
export function parseAt(text: string | undefined, now: () => number = Date.now): number {
  if (text === undefined || text === "now") return now();
  const at = parseInstant(text);
  if (at === undefined) {
    throw new CliFailure(
      `bad --at \`${text}\`: expected YYYY-MM-DD or an RFC 3339 datetime such as 2026-06-12T09:00:00Z`,
    );
  }
  return at;
}

export function parseAttrs(assignments: readonly string[]) {
  const { facts, errors } = parseAssignments(assignments);
  if (errors.length > 0) throw new CliFailure(`bad --attr: ${errors.map((e) => e.message).join("; ")}`);
  return facts;
}

export function requireModel(policy: CompiledPolicy, model: string): void {
  if (!policy.models.has(model)) {
    const known = [...policy.models.keys()].map((m) => `\`${m}\``).join(", ");
    throw new CliFailure(`unknown model \`${model}\`; the policy declares ${known}`);
  }
}
