import type { Org, OrgSettings, User } from "../directory/types.ts";
import { normalizeFacts } from "../policy/index.ts";
import { parseCsv } from "./csv.ts";
import { StoreError } from "./errors.ts";
import { normalizeInstant } from "./sql-store.ts";
import type { CohortMember, Store } from "./types.ts";

/**
 * Directory import: orgs, users and cohort members from CSV or JSON Lines, one row per line with a
 * `type` of `org`, `user` or `cohort_member` (formats in docs/store.md). Every row is checked
 * first; any bad row means nothing is imported. The rows are then written in one transaction.
 */
export type ImportRow =
  | { type: "org"; line: number; org: Org }
  | { type: "user"; line: number; user: User }
  | { type: "cohort_member"; line: number; member: CohortMember };

export interface RowError {
  line: number;
  message: string;
}

export interface ImportPlan {
  rows: ImportRow[];
  errors: RowError[];
}

const COLUMNS = {
  org: [
    "id",
    "name",
    "country",
    "sector",
    "verified",
    "fallback",
    "requests_per_minute",
    "tokens_per_minute",
    "webhook_url",
  ],
  user: ["org", "id", "nationality", "permanent_residency", "residence"],
  cohort_member: ["cohort", "org", "since"],
} as const;
const ALL_COLUMNS = new Set<string>(["type", ...Object.values(COLUMNS).flat()]);
const ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

type Raw = Record<string, unknown>;

/** Reads the rows of a `.csv` or `.jsonl` file (by its name) and checks each; no I/O. */
export function planImport(text: string, file: string): ImportPlan {
  const lower = file.toLowerCase();
  if (lower.endsWith(".csv")) return checkRows(readCsv(text));
  if (lower.endsWith(".jsonl") || lower.endsWith(".ndjson")) return checkRows(readJsonl(text));
  return {
    rows: [],
    errors: [{ line: 0, message: `\`${file}\` is neither .csv nor .jsonl` }],
  };
}

function readCsv(text: string): { raws: { line: number; raw: Raw }[]; errors: RowError[] } {
  const { records, error } = parseCsv(text);
  const errors: RowError[] = error ? [error] : [];
  const [header, ...body] = records;
  if (!header)
    return {
      raws: [],
      errors: [...errors, { line: 1, message: "the file is empty; expected a header row" }],
    };
  const names = header.fields.map((f) => f.trim());
  for (const n of names) {
    if (!ALL_COLUMNS.has(n))
      errors.push({
        line: header.line,
        message: `unknown column \`${n}\`; known: ${[...ALL_COLUMNS].join(", ")}`,
      });
  }
  if (!names.includes("type")) errors.push({ line: header.line, message: "the header has no `type` column" });
  const raws = body.map(({ line, fields }) => {
    if (fields.length !== names.length) {
      errors.push({ line, message: `${fields.length} fields where the header has ${names.length}` });
    }
    const raw: Raw = {};
    names.forEach((n, i) => {
      const v = fields[i]?.trim() ?? "";
      if (v !== "") raw[n] = v;
    });
    return { line, raw };
  });
  return { raws, errors };
}

function readJsonl(text: string): { raws: { line: number; raw: Raw }[]; errors: RowError[] } {
  const raws: { line: number; raw: Raw }[] = [];
  const errors: RowError[] = [];
  text.split(/\r?\n/).forEach((content, i) => {
    if (content.trim() === "") return;
    try {
      const value: unknown = JSON.parse(content);
      if (!value || typeof value !== "object" || Array.isArray(value)) throw new Error("not an object");
      const raw: Raw = {};
      for (const [k, v] of Object.entries(value)) {
        if (!ALL_COLUMNS.has(k)) errors.push({ line: i + 1, message: `unknown field \`${k}\`` });
        else if (v !== null) raw[k] = v;
      }
      raws.push({ line: i + 1, raw });
    } catch (err) {
      errors.push({ line: i + 1, message: `not a JSON object: ${(err as Error).message}` });
    }
  });
  return { raws, errors };
}

function checkRows(input: { raws: { line: number; raw: Raw }[]; errors: RowError[] }): ImportPlan {
  const errors = [...input.errors];
  const rows: ImportRow[] = [];
  const orgsSeen = new Map<string, number>();
  const usersSeen = new Map<string, number>();
  for (const { line, raw } of input.raws) {
    const problems: string[] = [];
    const row = checkRow(raw, line, problems);
    if (row?.type === "org") {
      const first = orgsSeen.get(row.org.id);
      if (first !== undefined) problems.push(`org \`${row.org.id}\` already defined on line ${first}`);
      else orgsSeen.set(row.org.id, line);
    } else if (row?.type === "user") {
      const k = `${row.user.orgId}/${row.user.id}`;
      const first = usersSeen.get(k);
      if (first !== undefined) problems.push(`user \`${k}\` already defined on line ${first}`);
      else usersSeen.set(k, line);
    }
    for (const message of problems) errors.push({ line, message });
    if (row && problems.length === 0) rows.push(row);
  }
  errors.sort((a, b) => a.line - b.line);
  return { rows, errors };
}

function checkRow(raw: Raw, line: number, problems: string[]): ImportRow | undefined {
  const type = raw.type;
  if (type !== "org" && type !== "user" && type !== "cohort_member") {
    problems.push(`\`type\` must be org, user or cohort_member, got \`${String(type ?? "")}\``);
    return undefined;
  }
  for (const k of Object.keys(raw)) {
    if (k !== "type" && !(COLUMNS[type] as readonly string[]).includes(k))
      problems.push(`\`${k}\` does not apply to a ${type} row`);
  }
  const id = (name: string): string => {
    const v = raw[name];
    if (typeof v !== "string" || !ID.test(v)) {
      problems.push(
        v === undefined
          ? `${type} row needs \`${name}\``
          : `\`${name}\` \`${String(v)}\` must be letters, digits and . _ : @ - (at most 128)`,
      );
      return "";
    }
    return v;
  };
  const facts = (attrs: Record<string, unknown>) => {
    const { facts, errors } = normalizeFacts(attrs);
    for (const e of errors) problems.push(e.message);
    return facts;
  };
  if (type === "org") {
    const org: Org = { id: id("id") };
    if (raw.name !== undefined) org.name = String(raw.name);
    if (raw.sector !== undefined) org.sector = String(raw.sector);
    const f = facts({ "org.country": raw.country, "org.verified": raw.verified });
    if (f["org.country"] !== undefined) org.country = f["org.country"] as string;
    if (f["org.verified"] !== undefined) org.verified = f["org.verified"] as boolean;
    const settings: OrgSettings = {};
    const fallback = bool(raw.fallback, "fallback", problems);
    if (fallback !== undefined) settings.fallback = fallback;
    const rpm = count(raw.requests_per_minute, "requests_per_minute", problems);
    if (rpm !== undefined) settings.requestsPerMinute = rpm;
    const tpm = count(raw.tokens_per_minute, "tokens_per_minute", problems);
    if (tpm !== undefined) settings.tokensPerMinute = tpm;
    if (raw.webhook_url !== undefined) {
      const url = String(raw.webhook_url);
      if (!/^https?:\/\/\S+$/.test(url)) problems.push(`\`webhook_url\` \`${url}\` is not an http(s) URL`);
      else settings.webhookUrl = url;
    }
    if (Object.keys(settings).length > 0) org.settings = settings;
    return { type, line, org };
  }
  if (type === "user") {
    const user: User = { orgId: id("org"), id: id("id") };
    const f = facts({
      "user.nationality": list(raw.nationality),
      "user.permanent_residency": list(raw.permanent_residency),
      "user.residence": raw.residence,
    });
    if (f["user.nationality"] !== undefined) user.nationality = f["user.nationality"] as string[];
    if (f["user.permanent_residency"] !== undefined)
      user.permanentResidency = f["user.permanent_residency"] as string[];
    if (f["user.residence"] !== undefined) user.residence = f["user.residence"] as string;
    return { type, line, user };
  }
  const member: CohortMember = { cohort: id("cohort"), orgId: id("org"), since: "" };
  if (raw.since === undefined) problems.push("cohort_member row needs `since`");
  else {
    try {
      member.since = normalizeInstant(String(raw.since), "since");
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  return { type, line, member };
}

/** CSV lists are `;`-separated (`FR;DE`); `none` is the known-empty list; empty is unknown. */
function list(v: unknown): unknown {
  if (typeof v !== "string") return v;
  if (v.trim().toLowerCase() === "none") return [];
  return v.split(";").map((s) => s.trim());
}

function bool(v: unknown, name: string, problems: string[]): boolean | undefined {
  if (v === undefined) return undefined;
  if (v === true || v === "true") return true;
  if (v === false || v === "false") return false;
  problems.push(`\`${name}\` must be true or false, got \`${String(v)}\``);
  return undefined;
}

function count(v: unknown, name: string, problems: string[]): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === "number" ? v : typeof v === "string" && /^\d+$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 0) {
    problems.push(`\`${name}\` must be a whole number, got \`${String(v)}\``);
    return undefined;
  }
  return n;
}

export interface ImportCounts {
  orgs: number;
  users: number;
  cohortMembers: number;
}

/**
 * Writes a checked plan in one transaction. Rows referring to an org neither in the file nor in
 * the store are reported (STORE_IMPORT_INVALID, with their lines) and nothing is written.
 */
export async function applyImport(
  store: Store,
  plan: ImportPlan,
  onProgress?: (done: number) => void,
): Promise<ImportCounts> {
  const inFile = new Set(plan.rows.flatMap((r) => (r.type === "org" ? [r.org.id] : [])));
  return store.transaction(async (tx) => {
    const known = new Set((await tx.listOrgs()).map((o) => o.id));
    const missing: RowError[] = [];
    for (const r of plan.rows) {
      const org = r.type === "user" ? r.user.orgId : r.type === "cohort_member" ? r.member.orgId : undefined;
      if (org !== undefined && !inFile.has(org) && !known.has(org)) {
        missing.push({ line: r.line, message: `unknown org \`${org}\` (not in the file nor in the store)` });
      }
    }
    if (missing.length > 0 || plan.errors.length > 0) {
      throw importInvalid([...plan.errors, ...missing].sort((a, b) => a.line - b.line));
    }
    const counts: ImportCounts = { orgs: 0, users: 0, cohortMembers: 0 };
    // Orgs first, so users and members may come before their org in the file.
    const ordered = [...plan.rows].sort((a, b) => Number(a.type !== "org") - Number(b.type !== "org"));
    let done = 0;
    for (const r of ordered) {
      if (r.type === "org") {
        await tx.upsertOrg(r.org);
        counts.orgs++;
      } else if (r.type === "user") {
        await tx.upsertUser(r.user);
        counts.users++;
      } else {
        await tx.addCohortMember(r.member);
        counts.cohortMembers++;
      }
      if (++done % 500 === 0) {
        onProgress?.(done);
        await new Promise((r) => setImmediate(r)); // let a progress bar redraw
      }
    }
    onProgress?.(done);
    return counts;
  });
}

export class ImportError extends StoreError {
  constructor(readonly rows: readonly RowError[]) {
    super(
      "STORE_IMPORT_INVALID",
      `${rows.length} bad row${rows.length === 1 ? "" : "s"}; nothing was imported`,
    );
  }
}

function importInvalid(rows: readonly RowError[]): ImportError {
  return new ImportError(rows);
}
