/**
 * A large, deterministic policy for benchmarks: directives with deny, exempt, allow and require
 * rules over many models, cohorts and organisations, with windows spread over three years.
 */
import type { Facts } from "../src/policy/index.ts";

export interface GeneratedPolicy {
  doc: Record<string, unknown>;
  models: string[];
  orgs: string[];
}

export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EMBARGOED = ["CN", "RU", "IR", "KP", "SY", "CU", "BY", "VE"];
const COUNTRIES = [
  "US",
  "FR",
  "DE",
  "AT",
  "IT",
  "ES",
  "NL",
  "PL",
  "GB",
  "CH",
  "CN",
  "IN",
  "JP",
  "KR",
  "BR",
  "CA",
  "AU",
  "NO",
  "SE",
  "IE",
];
const SECTORS = ["public", "private", "defence", "health", "education", "finance"];

/**
 * `realistic`: rules shaped like export controls — denials for nationals or requests from listed
 * countries, entity lists of organisations, sanctioned groups, a few broad "foreign persons" bans at
 * domestic organisations; exemptions and grants for cohorts and named organisations.
 * `dense`: a stress case where a third of all rules are broad `not_in` bans, so a typical
 * principal is caught by a dozen rules at once and every decision carries many reasons.
 */
export type Profile = "realistic" | "dense";

export function generatePolicy({
  directives = 1000,
  rulesPerDirective = 5,
  models = 100,
  cohorts = 200,
  orgs = 2000,
  seed = 42,
  profile = "realistic" as Profile,
} = {}): GeneratedPolicy {
  const random = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const some = <T>(xs: readonly T[], n: number): T[] => Array.from({ length: n }, () => pick(xs));
  const modelIds = Array.from({ length: models }, (_, i) => `model-${i}`);
  const orgIds = Array.from({ length: orgs }, (_, i) => `org-${i}`);
  const cohortIds = Array.from({ length: cohorts }, (_, i) => `cohort-${i}`);
  const capabilities = Array.from({ length: 10 }, (_, i) => `cap-${i}`);

  const modelDocs = Object.fromEntries(
    modelIds.map((id, i) => [
      id,
      {
        provider: pick(["openai", "anthropic", "zhipu"]),
        capabilities: random() < 0.3 ? [pick(capabilities)] : [],
        default: i % 10 === 0 ? "deny" : "allow",
      },
    ]),
  );
  const cohortDocs = Object.fromEntries(
    cohortIds.map((id) => [id, { members: [...new Set(some(orgIds, 10 + Math.floor(random() * 40)))] }]),
  );

  const denseCondition = (): Record<string, unknown> => {
    const kind = random();
    if (kind < 0.3) return { "user.nationality": { not_in: some(COUNTRIES, 1 + Math.floor(random() * 3)) } };
    if (kind < 0.5) return { "request.country": { in: [...some(COUNTRIES, 2), "EU"] } };
    if (kind < 0.65) return { "org.cohorts": { contains: pick(cohortIds) } };
    if (kind < 0.75) return { "org.country": { in: ["EU"] }, "org.sector": { eq: pick(SECTORS) } };
    if (kind < 0.85) return { "org.id": { in: some(orgIds, 3) } };
    return { any: [{ "user.residence": { in: some(COUNTRIES, 2) } }, { "org.verified": { eq: false } }] };
  };
  const realisticCondition = (effect: string): Record<string, unknown> => {
    const kind = random();
    if (effect === "exempt" || effect === "allow") {
      if (kind < 0.6) return { "org.cohorts": { contains: pick(cohortIds) } };
      if (kind < 0.9) return { "org.id": { in: some(orgIds, 1 + Math.floor(random() * 5)) } };
      return { "org.cohorts": { contains: pick(cohortIds) }, "org.verified": { eq: true } };
    }
    if (effect === "require") {
      if (kind < 0.7) return { "org.country": { in: ["EU"] }, "org.sector": { eq: pick(SECTORS) } };
      return {
        any: [
          { "org.country": { in: some(COUNTRIES, 2) } },
          { "user.residence": { in: some(COUNTRIES, 2) } },
        ],
      };
    }
    if (kind < 0.35) return { "user.nationality": { in: some(EMBARGOED, 2 + Math.floor(random() * 3)) } };
    if (kind < 0.55) return { "request.country": { in: some(EMBARGOED, 1 + Math.floor(random() * 3)) } };
    if (kind < 0.75) return { "org.id": { in: some(orgIds, 1 + Math.floor(random() * 10)) } };
    if (kind < 0.9) return { "org.cohorts": { contains: pick(cohortIds) } };
    const home = pick(COUNTRIES);
    return {
      "org.country": { eq: home },
      "user.nationality": { not_in: [home] },
      "user.permanent_residency": { not_in: [home] },
    };
  };
  const condition = (effect: string) => (profile === "dense" ? denseCondition() : realisticCondition(effect));

  const day = (offset: number) =>
    new Date(Date.UTC(2024, 0, 1) + offset * 86_400_000).toISOString().slice(0, 10);
  const denies: { ref: string; from: number; to: number }[] = [];
  const defaultDeny = modelIds.filter((id) => modelDocs[id]!.default === "deny");
  const directiveDocs = Array.from({ length: directives }, (_, i) => {
    const start = Math.floor(random() * 1000);
    const end = random() < 0.3 ? start + 30 + Math.floor(random() * 400) : undefined;
    const id = `dir-${i}`;
    // Exemptions name a deny in force at some point of their own window, as an amendment would.
    const liftable = denies.filter((d) => d.from < (end ?? Number.POSITIVE_INFINITY) && d.to > start);
    const rules = Array.from({ length: rulesPerDirective }, (_, j) => {
      const r = random();
      const effect =
        r < 0.5 || liftable.length === 0 ? "deny" : r < 0.7 ? "exempt" : r < 0.8 ? "allow" : "require";
      const models = (from: readonly string[]) => [...new Set(some(from, 1 + Math.floor(random() * 2)))];
      const targets =
        effect === "exempt"
          ? {} // the models of the deny it lifts
          : effect === "allow"
            ? { models: models(defaultDeny) }
            : random() < 0.1
              ? { capabilities: [pick(capabilities)] }
              : { models: models(modelIds) };
      const rule: Record<string, unknown> = { id: `r${j}`, effect, ...targets, when: condition(effect) };
      if (effect === "exempt") rule.exempts = [pick(liftable).ref];
      if (effect === "require") rule.require = { region: [pick(["eu", "us", "apac"])] };
      if (effect === "deny")
        denies.push({ ref: `${id}/r${j}`, from: start, to: end ?? Number.POSITIVE_INFINITY });
      return rule;
    });
    return {
      id,
      authority: pick(["US Department of Commerce", "European Commission", "UK DSIT", "Provider policy"]),
      title: `Directive ${i}`,
      issued: day(start),
      effective: day(start),
      ...(end !== undefined ? { expires: day(end) } : {}),
      rules,
    };
  });

  return {
    doc: {
      version: 1,
      jurisdictions: { EU: ["FR", "DE", "AT", "IT", "ES", "NL", "PL", "SE", "IE"] },
      models: modelDocs,
      cohorts: cohortDocs,
      directives: directiveDocs,
    },
    models: modelIds,
    orgs: orgIds,
  };
}

/** Principals as a gateway would see them: most attributes known, some unknown. */
export function generateFacts(orgs: readonly string[], count: number, seed = 7): Facts[] {
  const random = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  return Array.from({ length: count }, () => {
    const facts: Facts = {
      "org.id": pick(orgs),
      "org.country": pick(COUNTRIES),
      "org.sector": pick(SECTORS),
      "org.verified": random() < 0.7,
      // Mostly nationals of common countries; a few from embargoed ones; some dual nationals.
      "user.nationality": [
        random() < 0.05 ? pick(EMBARGOED) : pick(COUNTRIES),
        ...(random() < 0.1 ? [pick(COUNTRIES)] : []),
      ],
      "user.permanent_residency": random() < 0.2 ? [pick(COUNTRIES)] : [],
      "request.country": pick(COUNTRIES),
    };
    if (random() < 0.8) facts["user.residence"] = pick(COUNTRIES);
    return facts;
  });
}
