import type { Command } from "commander";
import {
  type CompiledPolicy,
  type Decision,
  decide,
  explainDecision,
  formatInstantShort,
  loadPolicy,
  timeline,
} from "../policy/index.ts";
import { EXIT, loadPolicyFile, parseAt, parseAttrs, printDiagnostics, readText, requireModel } from "./io.ts";

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerPolicyCommands(program: Command): void {
  program
    .command("validate")
    .description("check policy files; exit 0 when valid, 1 when not")
    .argument("<file...>", "policy files (YAML or JSON)")
    .action((files: string[]) => {
      let invalid = 0;
      for (const file of files) {
        const { policy, diagnostics } = loadPolicy(readText(file), file);
        printDiagnostics(diagnostics);
        if (policy) {
          const warnings = diagnostics.length;
          process.stdout.write(
            `${file}: valid (${policy.directives.size} directives, ${policy.rules.size} rules, ${policy.models.size} models${warnings ? `, ${warnings} warning${warnings === 1 ? "" : "s"}` : ""}) policy ${policy.hash}\n`,
          );
        } else invalid++;
      }
      process.exitCode = invalid ? EXIT.failed : EXIT.ok;
    });

  program
    .command("check")
    .description("decide whether a principal may use a model at an instant, and why; exit 0 allow, 1 deny")
    .requiredOption("--policy <file>", "policy file")
    .requiredOption("--model <id>", "model id")
    .option("--at <instant>", "YYYY-MM-DD or RFC 3339 datetime (default: now)")
    .option(
      "--attr <key=value>",
      "a fact, repeatable; lists with commas: user.nationality=US,FR",
      collect,
      [],
    )
    .option("--json", "print exactly the decision object")
    .action((opts: { policy: string; model: string; at?: string; attr: string[]; json?: boolean }) => {
      const policy = loadPolicyFile(opts.policy);
      requireModel(policy, opts.model);
      const facts = parseAttrs(opts.attr);
      const decision = decide(policy, { model: opts.model, facts }, parseAt(opts.at));
      process.stdout.write(
        opts.json ? `${JSON.stringify(decision, null, 2)}\n` : formatDecision(policy, decision),
      );
      process.exitCode = decision.decision === "allow" ? EXIT.ok : EXIT.failed;
    });

  program
    .command("timeline")
    .description("the decision over time: one line per instant at which it changes")
    .requiredOption("--policy <file>", "policy file")
    .requiredOption("--model <id>", "model id")
    .option("--attr <key=value>", "a fact, repeatable", collect, [])
    .option("--json", "print the timeline as JSON")
    .action((opts: { policy: string; model: string; attr: string[]; json?: boolean }) => {
      const policy = loadPolicyFile(opts.policy);
      requireModel(policy, opts.model);
      const entries = timeline(policy, { model: opts.model, facts: parseAttrs(opts.attr) });
      if (opts.json) {
        const out = entries.map((e) => ({
          from: e.from === null ? null : new Date(e.from).toISOString(),
          ...e.decision,
        }));
        process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
        return;
      }
      for (const e of entries) {
        const when = e.from === null ? "before".padEnd(10) : `${formatInstantShort(e.from)}`.padEnd(10);
        process.stdout.write(`${when}  ${summarize(e.decision)}\n`);
      }
    });
}

/** `deny (us-2026-06-12/foreign-persons) region eu` */
export function summarize(d: Decision): string {
  const decisive = d.reasons.filter((r) =>
    d.decision === "deny"
      ? r.effect === "deny" || r.effect === "default"
      : r.effect !== "require" && r.effect !== "deny",
  );
  const refs = decisive.map((r) => (r.directive ? `${r.directive}/${r.rule}` : "default"));
  const region = d.requirements.region
    ? `  region ${d.requirements.region.join("|") || "(none possible)"}`
    : "";
  const unknown = d.unknown.length ? `  unknown: ${d.unknown.join(", ")}` : "";
  return `${d.decision.toUpperCase().padEnd(5)} ${refs.join(", ")}${region}${unknown}`;
}

export function formatDecision(policy: CompiledPolicy, d: Decision): string {
  const lines = [`${d.decision.toUpperCase()}  ${d.model} at ${d.at}  (policy ${d.policy.slice(0, 12)})`];
  if (d.requirements.region)
    lines.push(`  requirements: region ${d.requirements.region.join(" or ") || "(none possible)"}`);
  for (const line of explainDecision(policy, d)) lines.push(`  - ${line}`);
  return `${lines.join("\n")}\n`;
}
