import { createWriteStream } from "node:fs";
import { basename } from "node:path";
import { SingleBar } from "cli-progress";
import type { Command } from "commander";
import { publishPolicyText } from "../gateway/store-policy.ts";
import { csvLine } from "../store/csv.ts";
import { applyImport, ImportError, planImport } from "../store/import.ts";
import {
  type AuditFilter,
  type AuditRecordV1,
  DEFAULT_STORE_URL,
  openStore,
  type Store,
  type StoredAuditRow,
  verifyAudit,
} from "../store/index.ts";
import { generateApiKey } from "../store/keys.ts";
import { CliFailure, EXIT, readText } from "./io.ts";

const DB_HELP = `store URL: sqlite:PATH or postgres://... (default: ${DEFAULT_STORE_URL}, or $CLEARANCE_DB)`;
const defaultDb = () => process.env.CLEARANCE_DB ?? DEFAULT_STORE_URL;

async function withStore<T>(url: string | undefined, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(url ?? defaultDb());
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** A progress bar on stderr, only when it is a terminal and the work is large. */
function progress(total: number, label: string): { update(n: number): void; stop(): void } {
  if (!process.stderr.isTTY || total < 1000) return { update() {}, stop() {} };
  const bar = new SingleBar({
    format: `${label} [{bar}] {percentage}% | {value}/{total}`,
    stream: process.stderr,
    hideCursor: true,
  });
  bar.start(total, 0);
  return { update: (n) => bar.update(n), stop: () => bar.stop() };
}

export function registerStoreCommands(program: Command): void {
  registerAuditCommands(program.command("audit").description("the tamper-evident audit log"));
  registerDirectoryCommands(
    program.command("directory").description("organisations, users and cohort members"),
  );
  registerKeyCommands(program.command("keys").description("API keys (stored only as sha256)"));

  program
    .command("publish")
    .description(
      "publish a policy file as the store's next version (gateways with `policy: { store: true }` enforce it within a second); a file with errors is refused",
    )
    .argument("<file>", "policy file (YAML or JSON)")
    .option("--by <name>", "who publishes (recorded with the version)", process.env.USER ?? "unknown")
    .option("--db <url>", DB_HELP)
    .action((file: string, opts: { by: string; db?: string }) =>
      withStore(opts.db, async (store) => {
        let v: Awaited<ReturnType<typeof publishPolicyText>>;
        try {
          v = await publishPolicyText(store, await readText(file), file, opts.by);
        } catch (err) {
          throw new CliFailure((err as Error).message);
        }
        process.stdout.write(
          `published version ${v.version} (policy ${v.sha256.slice(0, 12)}) by ${v.publishedBy}\n`,
        );
      }),
    );
}

function registerAuditCommands(audit: Command): void {
  audit
    .command("verify")
    .description("recompute every chain; exit 0 when all verify, 1 naming the first broken record")
    .option("--db <url>", DB_HELP)
    .action((opts: { db?: string }) =>
      withStore(opts.db, async (store) => {
        const total = (await store.chainHeads()).reduce((n, h) => n + h.seq, 0);
        const bar = progress(total, "verifying");
        const report = await verifyAudit(store, (n) => bar.update(n));
        bar.stop();
        for (const c of report.chains) {
          if (c.ok) process.stdout.write(`chain \`${c.node}\`: ${c.records} records ok\n`);
          else {
            const b = c.broken!;
            process.stdout.write(
              `chain \`${c.node}\`: BROKEN at record ${b.seq}${b.decisionId ? ` (decision \`${b.decisionId}\`)` : ""}: ${b.reason}\n`,
            );
          }
        }
        if (report.chains.length === 0) process.stdout.write("no audit records\n");
        process.stdout.write(
          report.ok ? `ok: ${report.records} records verified\n` : "audit log does NOT verify\n",
        );
        process.exitCode = report.ok ? EXIT.ok : EXIT.failed;
      }),
    );

  audit
    .command("export")
    .description(
      "write records in a time range as CSV or JSON Lines (record fields plus chain, seq, prev, hash)",
    )
    .option("--from <instant>", "first instant, inclusive (YYYY-MM-DD or RFC 3339)")
    .option("--to <instant>", "last instant, exclusive")
    .option("--format <format>", "csv or jsonl", "jsonl")
    .option("--out <file>", "write to a file instead of stdout")
    .option("--db <url>", DB_HELP)
    .action((opts: { from?: string; to?: string; format: string; out?: string; db?: string }) => {
      if (opts.format !== "csv" && opts.format !== "jsonl") {
        throw new CliFailure(`bad --format \`${opts.format}\`: expected csv or jsonl`);
      }
      const filter: AuditFilter = {};
      if (opts.from) filter.from = opts.from;
      if (opts.to) filter.to = opts.to;
      return withStore(opts.db, async (store) => {
        const out: NodeJS.WritableStream = opts.out ? createWriteStream(opts.out) : process.stdout;
        let n = 0;
        if (opts.format === "csv") out.write(csvLine(CSV_COLUMNS));
        for await (const row of iterate(store, filter)) {
          const line = opts.format === "csv" ? csvLine(csvValues(row)) : `${JSON.stringify(exported(row))}\n`;
          if (!out.write(line)) await new Promise<void>((r) => out.once("drain", () => r()));
          n++;
        }
        if (opts.out) {
          await new Promise<void>((resolve) => out.end(() => resolve()));
          process.stderr.write(`exported ${n} records to ${opts.out}\n`);
        }
      });
    });

  audit
    .command("query")
    .description("find records by org, user, model, decision and time range")
    .option("--org <id>", "organisation id")
    .option("--user <id>", "user id")
    .option("--model <id>", "requested model")
    .option("--decision <allow|deny>", "decision")
    .option("--from <instant>", "first instant, inclusive")
    .option("--to <instant>", "last instant, exclusive")
    .option("--limit <n>", "at most this many records (default 100)", "100")
    .option("--json", "one JSON record per line")
    .option("--db <url>", DB_HELP)
    .action(
      (opts: {
        org?: string;
        user?: string;
        model?: string;
        decision?: string;
        from?: string;
        to?: string;
        limit: string;
        json?: boolean;
        db?: string;
      }) => {
        if (opts.decision !== undefined && opts.decision !== "allow" && opts.decision !== "deny") {
          throw new CliFailure(`bad --decision \`${opts.decision}\`: expected allow or deny`);
        }
        const limit = Number(opts.limit);
        if (!Number.isSafeInteger(limit) || limit < 1)
          throw new CliFailure(`bad --limit \`${opts.limit}\`: expected a positive whole number`);
        const filter: AuditFilter = {};
        for (const k of ["org", "user", "model", "from", "to"] as const)
          if (opts[k] !== undefined) filter[k] = opts[k];
        if (opts.decision) filter.decision = opts.decision as "allow" | "deny";
        return withStore(opts.db, async (store) => {
          let n = 0;
          for await (const row of iterate(store, filter)) {
            if (n++ >= limit) break;
            process.stdout.write(opts.json ? `${JSON.stringify(exported(row))}\n` : formatRow(row));
          }
          if (!opts.json)
            process.stderr.write(
              `${Math.min(n, limit)} record${n === 1 ? "" : "s"}${n > limit ? ` (first ${limit}; use --limit)` : ""}\n`,
            );
        });
      },
    );
}

async function* iterate(store: Store, filter: AuditFilter): AsyncGenerator<StoredAuditRow> {
  let page = await store.queryAudit(filter, 1000);
  for (;;) {
    yield* page.rows;
    if (!page.next) return;
    page = await store.queryAudit(filter, 1000, page.next);
  }
}

function exported(
  row: StoredAuditRow,
): AuditRecordV1 & { chain: string; seq: number; prev: string; hash: string } {
  return {
    ...(JSON.parse(row.record) as AuditRecordV1),
    chain: row.node,
    seq: row.seq,
    prev: row.prev,
    hash: row.hash,
  };
}

const CSV_COLUMNS = [
  "time",
  "decision_id",
  "chain",
  "seq",
  "org",
  "user",
  "key_id",
  "request_country",
  "source_ip",
  "requested_model",
  "served_model",
  "deployment",
  "decision",
  "reasons",
  "unknown",
  "policy",
  "error_code",
  "upstream_status",
  "status",
  "added_latency_ms",
  "hash",
] as const;

function csvValues(row: StoredAuditRow): unknown[] {
  const r = exported(row);
  return CSV_COLUMNS.map((c) => {
    if (c === "reasons")
      return (r.reasons ?? [])
        .map((x) => (x.directive ? `${x.effect}:${x.directive}/${x.rule}` : x.effect))
        .join(";");
    if (c === "unknown") return (r.unknown ?? []).join(";");
    return r[c] ?? "";
  });
}

function formatRow(row: StoredAuditRow): string {
  const r = JSON.parse(row.record) as AuditRecordV1 & { kind?: string; action?: string; actor?: string };
  if (r.kind === "admin")
    return `${r.time}  ADMIN  ${String(r.status).padEnd(3)}  ${(r.actor ?? "-").padEnd(24)}  ${r.action}  ${r.decision_id}\n`;
  const who = `${r.org ?? "-"}/${r.user ?? "-"}`;
  const served = r.served_model && r.served_model !== r.requested_model ? ` → ${r.served_model}` : "";
  return `${r.time}  ${r.decision.toUpperCase().padEnd(5)}  ${String(r.status).padEnd(3)}  ${who.padEnd(24)}  ${(r.requested_model ?? "-") + served}  ${r.decision_id}\n`;
}

function registerDirectoryCommands(directory: Command): void {
  directory
    .command("import")
    .description("import orgs, users and cohort members from CSV or JSON Lines; any bad row imports nothing")
    .argument("<file>", "FILE.csv or FILE.jsonl (formats in docs/store.md)")
    .option("--db <url>", DB_HELP)
    .action((file: string, opts: { db?: string }) => {
      const plan = planImport(readText(file), file);
      return withStore(opts.db, async (store) => {
        const bar = progress(plan.rows.length, `importing ${basename(file)}`);
        try {
          const counts = await applyImport(store, plan, (n) => bar.update(n));
          bar.stop();
          process.stdout.write(
            `imported ${counts.orgs} orgs, ${counts.users} users, ${counts.cohortMembers} cohort members from ${file}\n`,
          );
        } catch (err) {
          bar.stop();
          if (err instanceof ImportError) failRows(file, err.rows);
          throw err;
        }
      });
    });
}

function failRows(file: string, rows: readonly { line: number; message: string }[]): never {
  for (const r of rows.slice(0, 50)) process.stderr.write(`${file}:${r.line}: ${r.message}\n`);
  if (rows.length > 50) process.stderr.write(`... and ${rows.length - 50} more\n`);
  throw new CliFailure(
    `${rows.length} bad row${rows.length === 1 ? "" : "s"} in \`${file}\`; nothing was imported`,
  );
}

function registerKeyCommands(keys: Command): void {
  keys
    .command("create")
    .description("create an API key for an org; the key is printed once and never stored")
    .requiredOption("--org <id>", "organisation id")
    .option("--name <name>", "a label shown in listings")
    .option("--db <url>", DB_HELP)
    .action((opts: { org: string; name?: string; db?: string }) =>
      withStore(opts.db, async (store) => {
        const g = generateApiKey();
        await store.createApiKey({
          id: g.id,
          orgId: opts.org,
          prefix: g.prefix,
          hash: g.hash,
          ...(opts.name !== undefined ? { name: opts.name } : {}),
          createdAt: new Date().toISOString(),
        });
        process.stdout.write(`${g.key}\n`);
        process.stderr.write(
          `created key \`${g.id}\` for \`${opts.org}\`; copy it now, it is not shown again\n`,
        );
      }),
    );

  keys
    .command("list")
    .description("list an org's keys (id, prefix, name, created, revoked)")
    .requiredOption("--org <id>", "organisation id")
    .option("--json", "print the keys as JSON (without hashes)")
    .option("--db <url>", DB_HELP)
    .action((opts: { org: string; json?: boolean; db?: string }) =>
      withStore(opts.db, async (store) => {
        if (!(await store.getOrg(opts.org))) throw new CliFailure(`no organisation \`${opts.org}\``);
        const list = await store.listApiKeys(opts.org);
        if (opts.json) {
          process.stdout.write(
            `${JSON.stringify(
              list.map(({ hash: _h, ...k }) => k),
              null,
              2,
            )}\n`,
          );
          return;
        }
        for (const k of list) {
          const state = k.revokedAt ? `revoked ${k.revokedAt}` : "active";
          process.stdout.write(
            `${k.id}  ${k.prefix}…  ${(k.name ?? "").padEnd(16)}  created ${k.createdAt}  ${state}\n`,
          );
        }
        if (list.length === 0) process.stderr.write(`no keys for \`${opts.org}\`\n`);
      }),
    );

  keys
    .command("revoke")
    .description("revoke one of an org's keys; the gateway refuses it from then on")
    .requiredOption("--org <id>", "organisation id")
    .argument("<key-id>", "the key's id (from `keys list`)")
    .option("--db <url>", DB_HELP)
    .action((keyId: string, opts: { org: string; db?: string }) =>
      withStore(opts.db, async (store) => {
        const k = await store.revokeApiKey(opts.org, keyId, new Date().toISOString());
        process.stdout.write(`revoked \`${k.id}\` (${k.prefix}…) at ${k.revokedAt}\n`);
      }),
    );
}
