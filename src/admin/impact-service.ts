import { factsFor, type Org, type User } from "../directory/types.ts";
import {
  type CompiledPolicy,
  type ImpactReport,
  impact,
  type Principal,
  type Reason,
  type Tally,
} from "../policy/index.ts";
import type { StoreOps } from "../store/index.ts";

/** Every user of every org as a principal; an org without users counts as one principal. */
export function principalsOf(orgs: readonly Org[], users: readonly User[]): Principal[] {
  const byOrg = new Map<string, User[]>();
  for (const u of users) byOrg.set(u.orgId, [...(byOrg.get(u.orgId) ?? []), u]);
  const out: Principal[] = [];
  for (const org of orgs) {
    const members = byOrg.get(org.id) ?? [];
    if (members.length === 0) out.push({ org: org.id, facts: factsFor(org, undefined, undefined) });
    for (const u of members) out.push({ org: org.id, user: u.id, facts: factsFor(org, u, u.id) });
  }
  return out;
}

/** The store's directory as principals, read in pages of orgs. */
export async function storePrincipals(ops: StoreOps): Promise<Principal[]> {
  const out: Principal[] = [];
  let after: string | undefined;
  for (;;) {
    const orgs = await ops.pageOrgs({}, 1000, after);
    for (const org of orgs) {
      const users: User[] = [];
      let last: string | undefined;
      for (;;) {
        const page = await ops.pageUsers(org.id, 5000, last);
        users.push(...page);
        if (page.length < 5000) break;
        last = page[page.length - 1]!.id;
      }
      out.push(...principalsOf([org], users));
    }
    if (orgs.length < 1000) return out;
    after = orgs[orgs.length - 1]!.id;
  }
}

export interface ImpactEntrySummary {
  model: string;
  change: "gain" | "loss" | "requirements";
  /** The rules that make the difference: reasons added and removed by the change. */
  because: { added: Reason[]; removed: Reason[] };
  before: { decision: string; requirements: Record<string, unknown> };
  after: { decision: string; requirements: Record<string, unknown> };
  count: number;
  orgs: string[];
  /** At most `limit` principals (org, user); `truncated` says when more were affected. */
  principals: { org: string; user?: string }[];
  truncated: boolean;
}

/** What the API stores and returns for an impact run (the listing capped per entry). */
export interface ImpactSummary {
  at: string;
  beforeVersion: number | null;
  before: string;
  after: string;
  changedModels: string[];
  assumptions: string[];
  principals: number;
  groups: number;
  totals: Tally;
  byModel: Record<string, Tally>;
  byCountry: Record<string, Tally>;
  byCohort: Record<string, Tally>;
  byOrg: Record<string, Tally>;
  entries: ImpactEntrySummary[];
  /** Orgs that lose access to at least one model, with the models. */
  losses: Record<string, string[]>;
}

export function summarize(report: ImpactReport, beforeVersion: number | null, limit = 1000): ImpactSummary {
  const totals: Tally = { gains: 0, losses: 0, requirements: 0 };
  for (const t of Object.values(report.byModel)) {
    totals.gains += t.gains;
    totals.losses += t.losses;
    totals.requirements += t.requirements;
  }
  const losses: Record<string, Set<string>> = {};
  const entries = report.entries.map((e): ImpactEntrySummary => {
    const orgs = [...new Set(e.principals.map((p) => p.org))].sort();
    if (e.change === "loss") {
      for (const o of orgs) {
        losses[o] ??= new Set();
        losses[o].add(e.model);
      }
    }
    return {
      model: e.model,
      change: e.change,
      because: e.because,
      before: { decision: e.before.decision, requirements: { ...e.before.requirements } },
      after: { decision: e.after.decision, requirements: { ...e.after.requirements } },
      count: e.principals.length,
      orgs,
      principals: e.principals
        .slice(0, limit)
        .map((p) => (p.user ? { org: p.org, user: p.user } : { org: p.org })),
      truncated: e.principals.length > limit,
    };
  });
  return {
    at: report.at,
    beforeVersion,
    before: report.before,
    after: report.after,
    changedModels: report.changedModels,
    assumptions: report.assumptions,
    principals: report.principals,
    groups: report.groups,
    totals,
    byModel: report.byModel,
    byCountry: report.byCountry,
    byCohort: report.byCohort,
    byOrg: report.byOrg,
    entries,
    losses: Object.fromEntries(Object.entries(losses).map(([o, m]) => [o, [...m].sort()])),
  };
}

/** The impact of replacing `before` with `after` on the store's directory at `at`. */
export async function impactOnStore(
  ops: StoreOps,
  before: CompiledPolicy,
  after: CompiledPolicy,
  at: number,
  beforeVersion: number | null,
): Promise<ImpactSummary> {
  const principals = await storePrincipals(ops);
  return summarize(impact(before, after, principals, { at }), beforeVersion);
}
