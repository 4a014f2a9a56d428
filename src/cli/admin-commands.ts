import { createWriteStream } from "node:fs";
import { SingleBar } from "cli-progress";
import type { Command } from "commander";
import { ADMIN_PREFIX, buildAdminApp } from "../admin/app.ts";
import { recordCliEvent } from "../admin/context.ts";
import { history, storyLine } from "../admin/history.ts";
import { type ImpactSummary, principalsOf, storePrincipals, summarize } from "../admin/impact-service.ts";
import { changedDirectives, currentPolicy, effectiveInstant } from "../admin/policies.ts";
import {
  accessMatrix,
  accessMatrixCsv,
  cohortReport,
  cohortReportCsv,
  cohortReportHtml,
} from "../admin/reports.ts";
import { issueAdminToken, publicToken } from "../admin/tokens.ts";
import { parseDirectory } from "../directory/file.ts";
import type { Org, User } from "../directory/types.ts";
import { impact, type Principal } from "../policy/index.ts";
import { FileInvalidError, formatFileDiagnostic } from "../shared/located.ts";
import { DEFAULT_STORE_URL, openStore, type Store } from "../store/index.ts";
import { CliFailure, EXIT, loadPolicyFile, parseAt, readText } from "./io.ts";

const DB_HELP = `store URL: sqlite:PATH or postgres://... (default: ${DEFAULT_STORE_URL}, or $CLEARANCE_DB)`;

async function withStore<T>(url: string | undefined, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(url ?? process.env.CLEARANCE_DB ?? DEFAULT_STORE_URL);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

function choice(value: string, allowed: readonly string[], flag: string): string {
  if (!allowed.includes(value))
    throw new CliFailure(`bad ${flag} \`${value}\`: expected ${allowed.join(", ")}`);
  return value;
}

export function registerAdminCommands(program: Command): void {
  registerImpact(program);
  program
    .command("history")
    .description("the lifecycle of a directive (or of everything) as a story: who did what, when")
    .argument("[directive]", "directive id")
    .option("--draft <id>", "one draft's history")
    .option("--json", "the events as JSON")
    .option("--db <url>", DB_HELP)
    .action((directive: string | undefined, opts: { draft?: string; json?: boolean; db?: string }) =>
      withStore(opts.db, async (store) => {
        const events = await history(store, {
          ...(directive ? { directive } : {}),
          ...(opts.draft ? { draft: opts.draft } : {}),
        });
        if (opts.json) process.stdout.write(`${JSON.stringify(events, null, 2)}\n`);
        else if (events.length === 0)
          process.stdout.write(`no history${directive ? ` for directive \`${directive}\`` : ""}\n`);
        else process.stdout.write(`${events.map(storyLine).join("\n")}\n`);
      }),
    );

  const report = program.command("report").description("reports for authorities and for the console");
  report
    .command("cohort")
    .description(
      "cohort participation: members, since when, requests by model per month (from the audit log)",
    )
    .requiredOption("--cohort <id>", "cohort id")
    .option("--authority <name>", "the authority it is for; must be the one the cohort is disclosed to")
    .option("--format <format>", "json, csv or html", "json")
    .option("--to <instant>", "end of the period (default: now)")
    .option("--out <file>", "write to a file instead of stdout")
    .option("--db <url>", DB_HELP)
    .action(
      (opts: {
        cohort: string;
        authority?: string;
        format: string;
        to?: string;
        out?: string;
        db?: string;
      }) => {
        const format = choice(opts.format, ["json", "csv", "html"], "--format");
        const to = opts.to === undefined ? undefined : parseAt(opts.to);
        return withStore(opts.db, async (store) => {
          const r = await cohortReport(store, {
            cohort: opts.cohort,
            ...(opts.authority !== undefined ? { authority: opts.authority } : {}),
            ...(to !== undefined ? { to } : {}),
            now: Date.now(),
          });
          const text =
            format === "csv"
              ? cohortReportCsv(r)
              : format === "html"
                ? cohortReportHtml(r)
                : `${JSON.stringify(r, null, 2)}\n`;
          await write(text, opts.out);
          await recordCliEvent(store, "report cohort", `cohort:${opts.cohort}`, {
            format,
            authority: r.authority,
          });
        });
      },
    );
  report
    .command("matrix")
    .description("access matrix as of an instant: model × country (× cohort)")
    .option("--at <instant>", "YYYY-MM-DD or RFC 3339 (default: now)")
    .option("--format <format>", "json or csv", "csv")
    .option("--cohorts", "a row per cohort of the policy too")
    .option("--out <file>", "write to a file instead of stdout")
    .option("--db <url>", DB_HELP)
    .action((opts: { at?: string; format: string; cohorts?: boolean; out?: string; db?: string }) => {
      const format = choice(opts.format, ["json", "csv"], "--format");
      const at = parseAt(opts.at);
      return withStore(opts.db, async (store) => {
        const { version, policy } = await currentPolicy(store);
        if (!version) throw new CliFailure("no policy version is published in this store yet");
        const m = accessMatrix(policy, at, { byCohort: opts.cohorts ?? false });
        await write(format === "csv" ? accessMatrixCsv(m) : `${JSON.stringify(m, null, 2)}\n`, opts.out);
      });
    });

  const admin = program.command("admin").description("the admin API and its tokens");
  admin
    .command("serve")
    .description(`serve the admin API (${ADMIN_PREFIX}) until interrupted`)
    .option("--listen <host:port>", "address to listen on", "127.0.0.1:8081")
    .option("--audit-node <id>", "the audit chain for admin events; one per admin process", "admin")
    .option(
      "--webhook-secret <secret>",
      "signing secret for orgs without their own (default: $CLEARANCE_WEBHOOK_SECRET)",
    )
    .option("--db <url>", DB_HELP)
    .action(async (opts: { listen: string; auditNode: string; webhookSecret?: string; db?: string }) => {
      const m = /^(.+):(\d{1,5})$/.exec(opts.listen);
      if (!m || Number(m[2]) > 65535)
        throw new CliFailure(`bad --listen \`${opts.listen}\`: expected HOST:PORT such as 127.0.0.1:8081`);
      const store = await openStore(opts.db ?? process.env.CLEARANCE_DB ?? DEFAULT_STORE_URL);
      const secret = opts.webhookSecret ?? process.env.CLEARANCE_WEBHOOK_SECRET;
      const app = await buildAdminApp({
        store,
        auditNode: opts.auditNode,
        logger: true,
        ...(secret ? { webhooks: { secret } } : {}),
      });
      try {
        const address = await app.listen({ host: m[1]!.replace(/^\[|\]$/g, ""), port: Number(m[2]) });
        process.stderr.write(
          `clearance admin API on ${address}${ADMIN_PREFIX} (OpenAPI: ${address}${ADMIN_PREFIX}/openapi.json)\n`,
        );
      } catch (err) {
        await app.close();
        await store.close();
        throw new CliFailure(`cannot listen on \`${opts.listen}\`: ${(err as Error).message}`);
      }
      app.notices.kick(); // resume deliveries left pending by an earlier run
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
      await app.close();
      await store.close();
    });

  const token = admin.command("token").description("admin tokens (stored only as sha256)");
  token
    .command("create")
    .description("issue a token; it is printed once on stdout")
    .requiredOption("--name <name>", "the person who will hold it")
    .requiredOption("--role <role>", "viewer, editor, approver, auditor or admin")
    .option("--db <url>", DB_HELP)
    .action((opts: { name: string; role: string; db?: string }) =>
      withStore(opts.db, async (store) => {
        const { token: secret, record } = await issueAdminToken(store, {
          name: opts.name,
          role: opts.role,
          createdBy: null,
          at: Date.now(),
        });
        await recordCliEvent(store, "admin token create", `token:${record.id}`, {
          name: record.name,
          role: record.role,
        });
        process.stdout.write(`${secret}\n`);
        process.stderr.write(
          `token ${record.id} for ${record.name} (${record.role}); it is not shown again\n`,
        );
      }),
    );
  token
    .command("list")
    .description("tokens: id, name, role, created, revoked")
    .option("--json", "as JSON")
    .option("--db <url>", DB_HELP)
    .action((opts: { json?: boolean; db?: string }) =>
      withStore(opts.db, async (store) => {
        const tokens = (await store.listAdminTokens()).map(publicToken);
        if (opts.json) process.stdout.write(`${JSON.stringify(tokens, null, 2)}\n`);
        else
          for (const t of tokens)
            process.stdout.write(
              `${t.id}  ${t.role.padEnd(8)}  ${t.name.padEnd(20)}  ${t.createdAt}${t.revokedAt ? `  revoked ${t.revokedAt}` : ""}\n`,
            );
      }),
    );
  token
    .command("revoke")
    .description("revoke a token")
    .argument("<id>", "token id")
    .option("--db <url>", DB_HELP)
    .action((id: string, opts: { db?: string }) =>
      withStore(opts.db, async (store) => {
        const t = await store.revokeAdminToken(id, new Date().toISOString());
        await recordCliEvent(store, "admin token revoke", `token:${id}`, {});
        process.stdout.write(`revoked ${t.id} (${t.name})\n`);
      }),
    );
}

async function write(text: string, out: string | undefined): Promise<void> {
  if (!out) {
    process.stdout.write(text);
    return;
  }
  const stream = createWriteStream(out);
  await new Promise<void>((resolve, reject) => {
    stream.on("error", (err) => reject(new CliFailure(`cannot write \`${out}\`: ${err.message}`)));
    stream.end(text, () => resolve());
  });
  process.stderr.write(`wrote ${out}\n`);
}

function registerImpact(program: Command): void {
  program
    .command("impact")
    .description(
      "who gains and who loses access to which model when NEW replaces OLD (the admin API's computation)",
    )
    .requiredOption("--from <file>", "the policy in force (OLD.yaml)")
    .requiredOption("--to <file>", "the policy that would replace it (NEW.yaml)")
    .option("--db <url>", `take the principals from this store's directory; ${DB_HELP}`)
    .option("--directory <file>", "take the principals from a YAML/JSON file: orgs: [...], users: [...]")
    .option("--at <instant>", "YYYY-MM-DD or RFC 3339 (default: when NEW's changes take effect)")
    .option("--limit <n>", "principals listed per change, at most (default 1000)", "1000")
    .option("--json", "the report as JSON")
    .action(
      async (opts: {
        from: string;
        to: string;
        db?: string;
        directory?: string;
        at?: string;
        limit: string;
        json?: boolean;
      }) => {
        if (opts.db && opts.directory) throw new CliFailure("give either --db or --directory, not both");
        const limit = Number(opts.limit);
        if (!Number.isSafeInteger(limit) || limit < 0)
          throw new CliFailure(`bad --limit \`${opts.limit}\`: expected a whole number`);
        const before = loadPolicyFile(opts.from);
        const after = loadPolicyFile(opts.to);
        // Default: the latest `effective` among the directives NEW adds or changes (else now).
        const at =
          opts.at !== undefined
            ? parseAt(opts.at)
            : effectiveInstant(after, changedDirectives(before, after), 0) || Date.now();
        let principals: Principal[];
        if (opts.directory) {
          const directory = readDirectory(opts.directory);
          principals = principalsOf(directory.orgs, directory.users);
        } else {
          principals = await withStore(opts.db, (store) => storePrincipals(store));
        }
        const bar = progress(principals.length);
        const report = impact(before, after, principals, { at, onProgress: (n) => bar.update(n) });
        bar.stop();
        const summary = summarize(report, null, limit);
        process.stdout.write(
          opts.json ? `${JSON.stringify(summary, null, 2)}\n` : formatImpact(summary, opts.from, opts.to),
        );
        process.exitCode = EXIT.ok;
      },
    );
}

/** The directory file format the gateway reads (src/directory/file.ts); every error located. */
function readDirectory(file: string): { orgs: Org[]; users: User[] } {
  try {
    return parseDirectory(readText(file), file).entries();
  } catch (err) {
    if (!(err instanceof FileInvalidError)) throw err;
    for (const d of err.diagnostics) process.stderr.write(`${formatFileDiagnostic(d)}\n`);
    const n = err.diagnostics.length;
    throw new CliFailure(`\`${file}\` is not a valid directory file (${n} error${n === 1 ? "" : "s"})`);
  }
}

/** A progress bar on stderr for runs large enough to wait for, only on a terminal. */
function progress(total: number): { update(n: number): void; stop(): void } {
  if (!process.stderr.isTTY || total < 200_000) return { update() {}, stop() {} };
  const bar = new SingleBar({
    format: "impact [{bar}] {percentage}% | {value}/{total} principals",
    stream: process.stderr,
    hideCursor: true,
  });
  bar.start(total, 0);
  return { update: (n) => bar.update(n), stop: () => bar.stop() };
}

export function formatImpact(s: ImpactSummary, from: string, to: string): string {
  const lines = [
    `impact of ${to} replacing ${from} at ${s.at}`,
    `${s.principals} principals in ${s.groups} groups; models that change: ${s.changedModels.join(", ") || "none"}`,
    `assumption: ${s.assumptions.join("; ")}`,
    `totals: ${s.totals.gains} gain, ${s.totals.losses} lose access, ${s.totals.requirements} get new requirements`,
  ];
  const table = (
    title: string,
    t: Record<string, { gains: number; losses: number; requirements: number }>,
  ) => {
    const keys = Object.keys(t).sort();
    if (keys.length === 0) return;
    lines.push("", `${title}:`);
    for (const k of keys)
      lines.push(`  ${k.padEnd(24)} +${t[k]!.gains}  -${t[k]!.losses}  ~${t[k]!.requirements}`);
  };
  table("by model", s.byModel);
  table("by country", s.byCountry);
  table("by cohort", s.byCohort);
  for (const e of s.entries) {
    const rules = [
      ...e.because.added.map((r) => `+${r.effect}${r.directive ? ` ${r.directive}/${r.rule}` : ""}`),
      ...e.because.removed.map((r) => `-${r.effect}${r.directive ? ` ${r.directive}/${r.rule}` : ""}`),
    ].join(", ");
    lines.push(
      "",
      `${e.change.toUpperCase()} ${e.model}: ${e.count} principal${e.count === 1 ? "" : "s"} in ${e.orgs.length} org${e.orgs.length === 1 ? "" : "s"} (${e.before.decision} → ${e.after.decision}) because ${rules || "the model's default changed"}`,
    );
    for (const p of e.principals) lines.push(`  ${p.org}${p.user ? `/${p.user}` : ""}`);
    if (e.truncated) lines.push(`  … and ${e.count - e.principals.length} more (--limit, or --json)`);
  }
  return `${lines.join("\n")}\n`;
}
