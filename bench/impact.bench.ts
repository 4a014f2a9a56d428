/**
 * npm run bench:impact — impact analysis of a policy change over 1,000,000 users in 20,000
 * organisations and 50 models, on one core. Prints figures; never fails on timing.
 */
import os from "node:os";
import { type Facts, impact, loadPolicy, type Principal } from "../src/policy/index.ts";
import { COUNTRIES, EMBARGOED, generatePolicy, rng, SECTORS } from "./generate-policy.ts";

const USERS = Number(process.env.USERS ?? 1_000_000);
const ORGS = 20_000;

function compile(doc: unknown, label: string) {
  const { policy, diagnostics } = loadPolicy(JSON.stringify(doc), label);
  if (!policy) throw new Error(`${label}: ${JSON.stringify(diagnostics.slice(0, 2))}`);
  return policy;
}

console.log(`node ${process.version}, ${os.cpus()[0]?.model ?? "cpu"} × ${os.cpus().length}`);
const base = generatePolicy({ models: 50, orgs: ORGS });
const before = compile(base.doc, "before");
// The change: a new directive banning a further country's nationals from ten models, and a lift
// of it for two cohorts.
const doc = structuredClone(base.doc) as { directives: Record<string, unknown>[] };
doc.directives.push({
  id: "new-letter",
  authority: "US Department of Commerce",
  title: "New restriction",
  issued: "2026-07-01",
  effective: "2026-07-01",
  rules: [
    {
      id: "ban",
      effect: "deny",
      models: base.models.slice(0, 10),
      when: { "user.nationality": { in: ["IN", "BR"] } },
    },
    {
      id: "lift",
      effect: "exempt",
      exempts: ["new-letter/ban"],
      when: { "org.cohorts": { contains: "cohort-1" } },
    },
  ],
});
const after = compile(doc, "after");

const random = rng(11);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const orgFacts = base.orgs.map((id) => ({
  "org.id": id,
  "org.country": pick(COUNTRIES),
  "org.sector": pick(SECTORS),
  "org.verified": random() < 0.7,
}));
const t0 = performance.now();
const principals: Principal[] = Array.from({ length: USERS }, (_, i) => {
  const org = orgFacts[i % ORGS]!;
  const facts: Facts = {
    ...org,
    "user.id": `u${i}`,
    "user.nationality": [random() < 0.03 ? pick(EMBARGOED) : pick(COUNTRIES)],
    "user.permanent_residency": random() < 0.2 ? [pick(COUNTRIES)] : [],
  };
  if (random() < 0.8) facts["user.residence"] = pick(COUNTRIES);
  return { org: org["org.id"], user: `u${i}`, facts };
});
console.log(
  `${USERS.toLocaleString()} users in ${ORGS.toLocaleString()} orgs built in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
);

const start = performance.now();
const report = impact(before, after, principals, { at: Date.UTC(2026, 6, 2) });
const seconds = (performance.now() - start) / 1000;
const tally = Object.values(report.byModel).reduce(
  (t, m) => ({
    gains: t.gains + m.gains,
    losses: t.losses + m.losses,
    requirements: t.requirements + m.requirements,
  }),
  { gains: 0, losses: 0, requirements: 0 },
);
console.log(
  `impact: ${report.principals.toLocaleString()} users × ${report.models.length} models in ${seconds.toFixed(2)} s on one core; ${report.groups.toLocaleString()} groups decided; ${tally.losses.toLocaleString()} losses, ${tally.gains.toLocaleString()} gains, ${tally.requirements.toLocaleString()} requirement changes`,
);
