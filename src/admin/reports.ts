import { COUNTRY_CODES } from "../policy/countries.ts";
import { type CompiledPolicy, decide, type Facts } from "../policy/index.ts";
import { csvLine } from "../store/csv.ts";
import type { Store } from "../store/index.ts";
import { AdminError } from "./errors.ts";
import { compiled } from "./policies.ts";

/** Regulator reports: cohort participation (JSON, CSV, printable HTML) and the access matrix. */
export interface MonthCount {
  month: string;
  model: string;
  requests: number;
  allowed: number;
  denied: number;
}

export interface CohortMemberReport {
  org: string;
  name: string | null;
  country: string | null;
  /** Since when the org is a member (directory membership, or the first published version naming it). */
  since: string;
  source: "directory" | "policy";
  requests: MonthCount[];
}

export interface CohortReport {
  cohort: string;
  description: string | null;
  disclosedTo: string | null;
  authority: string | null;
  policyVersion: number | null;
  generatedAt: string;
  to: string;
  members: CohortMemberReport[];
}

/** Memberships from the published versions: org → when the current unbroken run of versions naming it began. */
async function policySince(
  store: Store,
  cohort: string,
): Promise<{ since: Map<string, string>; latest?: CompiledPolicy; version: number | null }> {
  const since = new Map<string, string>();
  let latest: CompiledPolicy | undefined;
  let version: number | null = null;
  for (const meta of await store.listPolicyVersions()) {
    const v = await store.getPolicyVersion(meta.version);
    if (!v) continue;
    latest = compiled(v.document, v.sha256);
    version = v.version;
    const members = new Set(latest.doc.cohorts?.[cohort]?.members ?? []);
    for (const org of [...since.keys()]) if (!members.has(org)) since.delete(org);
    for (const org of members) if (!since.has(org)) since.set(org, v.publishedAt);
  }
  return { since, ...(latest ? { latest } : {}), version };
}

export async function cohortReport(
  store: Store,
  options: { cohort: string; authority?: string; to?: number; now: number },
): Promise<CohortReport> {
  const { cohort } = options;
  const to = new Date(options.to ?? options.now).toISOString();
  const fromPolicy = await policySince(store, cohort);
  const info = fromPolicy.latest?.doc.cohorts?.[cohort];
  const directory = await store.listCohortMembers(cohort);
  if (!info && directory.length === 0)
    throw new AdminError("ADMIN_NOT_FOUND", `no cohort \`${cohort}\` in the policy or the directory`);
  const disclosedTo = info?.disclosed_to ?? null;
  if (options.authority !== undefined && disclosedTo?.toLowerCase() !== options.authority.toLowerCase()) {
    throw new AdminError(
      "ADMIN_NOT_DISCLOSED",
      `cohort \`${cohort}\` is ${disclosedTo ? `disclosed to \`${disclosedTo}\`` : "not disclosed to any authority"}, not to \`${options.authority}\``,
    );
  }
  const members = new Map<string, { since: string; source: "directory" | "policy" }>();
  for (const m of directory) if (m.since <= to) members.set(m.orgId, { since: m.since, source: "directory" });
  for (const [org, since] of fromPolicy.since) {
    const had = members.get(org);
    if (!had || since < had.since) members.set(org, { since, source: "policy" });
  }
  const out: CohortMemberReport[] = [];
  for (const [orgId, m] of [...members].sort(([a], [b]) => a.localeCompare(b))) {
    const org = await store.getOrg(orgId);
    out.push({
      org: orgId,
      name: org?.name ?? null,
      country: org?.country ?? null,
      since: m.since,
      source: m.source,
      requests: await monthlyCounts(store, orgId, m.since, to),
    });
  }
  return {
    cohort,
    description: info?.description ?? null,
    disclosedTo,
    authority: options.authority ?? disclosedTo,
    policyVersion: fromPolicy.version,
    generatedAt: new Date(options.now).toISOString(),
    to,
    members: out,
  };
}

/** Requests by month and model from the audit log (admin events left out). */
async function monthlyCounts(store: Store, org: string, from: string, to: string): Promise<MonthCount[]> {
  const counts = new Map<string, MonthCount>();
  let page = await store.queryAudit({ org, from, to }, 5000);
  for (;;) {
    for (const r of page.rows) {
      if (r.decision !== "allow" && r.decision !== "deny") continue;
      const month = r.time.slice(0, 7);
      const model = r.model ?? "(none)";
      const key = `${month}\u0000${model}`;
      const c = counts.get(key) ?? { month, model, requests: 0, allowed: 0, denied: 0 };
      c.requests++;
      if (r.decision === "allow") c.allowed++;
      else c.denied++;
      counts.set(key, c);
    }
    if (!page.next) break;
    page = await store.queryAudit({ org, from, to }, 5000, page.next);
  }
  return [...counts.values()].sort(
    (a, b) => a.month.localeCompare(b.month) || a.model.localeCompare(b.model),
  );
}

export const COHORT_CSV_COLUMNS = [
  "cohort",
  "org",
  "name",
  "country",
  "since",
  "month",
  "model",
  "requests",
  "allowed",
  "denied",
];

export function cohortReportCsv(r: CohortReport): string {
  const lines = [csvLine(COHORT_CSV_COLUMNS)];
  for (const m of r.members) {
    const head = [r.cohort, m.org, m.name ?? "", m.country ?? "", m.since];
    if (m.requests.length === 0) lines.push(csvLine([...head, "", "", 0, 0, 0]));
    for (const c of m.requests)
      lines.push(csvLine([...head, c.month, c.model, c.requests, c.allowed, c.denied]));
  }
  return lines.join("");
}

const esc = (s: unknown) =>
  String(s ?? "").replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );

/** A self-contained printable page (no scripts, no external resources). */
export function cohortReportHtml(r: CohortReport): string {
  const rows = r.members
    .map((m) => {
      const counts =
        m.requests.length === 0
          ? `<tr><td colspan="5" class="none">no requests in the period</td></tr>`
          : m.requests
              .map(
                (c) =>
                  `<tr><td>${esc(c.month)}</td><td>${esc(c.model)}</td><td class="n">${c.requests}</td><td class="n">${c.allowed}</td><td class="n">${c.denied}</td></tr>`,
              )
              .join("");
      return `<section><h2>${esc(m.name ?? m.org)} <small>(${esc(m.org)}${m.country ? `, ${esc(m.country)}` : ""})</small></h2>
<p>Member since ${esc(m.since.slice(0, 10))} (${m.source === "directory" ? "directory membership" : "named in the published policy"}).</p>
<table><thead><tr><th>Month</th><th>Model</th><th>Requests</th><th>Allowed</th><th>Denied</th></tr></thead><tbody>${counts}</tbody></table></section>`;
    })
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Cohort participation: ${esc(r.cohort)}</title>
<style>body{font:11pt/1.4 system-ui,sans-serif;margin:2em;color:#111}table{border-collapse:collapse;width:100%;margin:.5em 0 1.5em}
th,td{border:1px solid #999;padding:.25em .5em;text-align:left}td.n{text-align:right}td.none{color:#666}
section{page-break-inside:avoid}header{border-bottom:2px solid #111;margin-bottom:1em}@media print{body{margin:0}}</style></head>
<body><header><h1>Cohort participation report: ${esc(r.cohort)}</h1>
<p>${esc(r.description ?? "")}</p>
<p>For: <strong>${esc(r.authority ?? "—")}</strong> · Disclosed to: ${esc(r.disclosedTo ?? "—")} · Policy version: ${esc(r.policyVersion ?? "—")}<br>
Period: from each member's start to ${esc(r.to)} · Generated ${esc(r.generatedAt)} by Clearance from its hash-chained audit log.</p>
<p>${r.members.length} member organisation${r.members.length === 1 ? "" : "s"}.</p></header>
${rows}
</body></html>
`;
}

export interface MatrixCell {
  model: string;
  country: string;
  cohort: string | null;
  decision: "allow" | "deny";
  requirements: Record<string, unknown>;
  reasons: string[];
}

export interface AccessMatrix {
  at: string;
  policy: string;
  assumptions: string[];
  models: string[];
  countries: string[];
  cohorts: (string | null)[];
  cells: MatrixCell[];
}

/**
 * model × country (× cohort): the decision for a person who is a national and resident of the
 * country, requesting from there, at an organisation based there (verified, sector as given).
 */
export function accessMatrix(
  policy: CompiledPolicy,
  at: number,
  options: { byCohort?: boolean; sector?: string; verified?: boolean } = {},
): AccessMatrix {
  const models = [...policy.models.keys()].sort();
  const countries = [...COUNTRY_CODES].sort();
  const cohorts: (string | null)[] = [
    null,
    ...(options.byCohort ? Object.keys(policy.doc.cohorts ?? {}).sort() : []),
  ];
  const sector = options.sector ?? "private";
  const verified = options.verified ?? true;
  const cells: MatrixCell[] = [];
  for (const cohort of cohorts) {
    for (const country of countries) {
      const facts: Facts = {
        "org.id": "\u0000access-matrix",
        "org.country": country,
        "org.sector": sector,
        "org.verified": verified,
        "org.cohorts": cohort ? [cohort] : [],
        "user.nationality": [country],
        "user.permanent_residency": [country],
        "user.residence": country,
        "request.country": country,
      };
      for (const model of models) {
        const d = decide(policy, { model, facts }, at);
        cells.push({
          model,
          country,
          cohort,
          decision: d.decision,
          requirements: { ...d.requirements },
          reasons: d.reasons.map((r) => (r.directive ? `${r.effect}:${r.directive}/${r.rule}` : r.effect)),
        });
      }
    }
  }
  return {
    at: new Date(at).toISOString(),
    policy: policy.hash,
    assumptions: [
      "each cell: a national and permanent resident of the country, living and requesting there",
      `at an organisation based in the country, sector \`${sector}\`, verified ${verified}`,
      "cohort column null: the organisation is in no cohort",
    ],
    models,
    countries,
    cohorts,
    cells,
  };
}

export function accessMatrixCsv(m: AccessMatrix): string {
  const lines = [csvLine(["model", "country", "cohort", "decision", "requirements", "reasons"])];
  for (const c of m.cells) {
    const req = Object.entries(c.requirements)
      .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("|") : String(v)}`)
      .join(";");
    lines.push(csvLine([c.model, c.country, c.cohort ?? "", c.decision, req, c.reasons.join(";")]));
  }
  return lines.join("");
}
