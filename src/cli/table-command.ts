import type { Command } from "commander";
import { z } from "zod";
import { decide, formatInstantShort, normalizeFacts } from "../policy/index.ts";
import { parseSource } from "../policy/source.ts";
import { CliFailure, EXIT, loadPolicyFile, parseAt, readText } from "./io.ts";

const Principals = z.array(z.strictObject({ name: z.string(), facts: z.record(z.string(), z.unknown()) }));

/** `clearance table`: who may use which model at an instant, one row per principal. */
export function registerTableCommand(program: Command): void {
  program
    .command("table")
    .description("a decision table: principals × models at an instant")
    .requiredOption("--policy <file>", "policy file")
    .requiredOption("--principals <file>", "YAML/JSON list of { name, facts }")
    .option("--at <instant>", "YYYY-MM-DD or RFC 3339 datetime (default: now)")
    .action((opts: { policy: string; principals: string; at?: string }) => {
      const policy = loadPolicyFile(opts.policy);
      const at = parseAt(opts.at);
      const source = parseSource(readText(opts.principals));
      const parsed = Principals.safeParse(source.value);
      if (source.syntaxErrors.length > 0 || !parsed.success) {
        throw new CliFailure(`\`${opts.principals}\` is not a list of { name, facts }`);
      }
      const models = [...policy.models.keys()];
      const width = Math.max(...parsed.data.map((p) => p.name.length), 9);
      const cell = (s: string) => s.padEnd(Math.max(...models.map((m) => m.length)) + 2);
      const lines = [`at ${formatInstantShort(at)}  policy ${policy.hash.slice(0, 12)}`, ""];
      lines.push(`${"principal".padEnd(width)}  ${models.map(cell).join("")}`);
      for (const p of parsed.data) {
        const { facts, errors } = normalizeFacts(p.facts);
        if (errors.length > 0) throw new CliFailure(`principal \`${p.name}\`: ${errors[0]!.message}`);
        const row = models.map((model) => {
          const d = decide(policy, { model, facts }, at);
          const region = d.requirements.region ? `@${d.requirements.region.join("|")}` : "";
          return cell(`${d.decision}${region}`);
        });
        lines.push(`${p.name.padEnd(width)}  ${row.join("")}`);
      }
      process.stdout.write(`${lines.join("\n")}\n`);
      process.exitCode = EXIT.ok;
    });
}
