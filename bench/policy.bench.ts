/**
 * npm run bench:policy — decisions per second and per-decision latency on the example policy and
 * on a generated one (1,000 directives, 5,000 rules, 100 models, 200 cohorts, 2,000 orgs), plus
 * compile time. Prints figures; never fails on timing.
 */
import { readFileSync } from "node:fs";
import os from "node:os";
import { type CompiledPolicy, decide, type Facts, loadPolicy } from "../src/policy/index.ts";
import { generateFacts, generatePolicy } from "./generate-policy.ts";

const AT = Date.UTC(2026, 6, 1);

function time<T>(f: () => T): [T, number] {
  const start = process.hrtime.bigint();
  const value = f();
  return [value, Number(process.hrtime.bigint() - start) / 1e6];
}

function compileTimed(text: string, label: string): CompiledPolicy {
  // Warm the parser and compiler once, then report the median of five loads.
  loadPolicy(text, label);
  const runs: number[] = [];
  let policy: CompiledPolicy | undefined;
  for (let i = 0; i < 5; i++) {
    const [result, ms] = time(() => loadPolicy(text, label));
    if (!result.policy)
      throw new Error(`${label} is invalid: ${JSON.stringify(result.diagnostics.slice(0, 3))}`);
    policy = result.policy;
    runs.push(ms);
  }
  runs.sort((a, b) => a - b);
  console.log(
    `${label}: load+validate+compile ${runs[2]!.toFixed(1)} ms (median of 5; ${text.length.toLocaleString()} bytes)`,
  );
  return policy!;
}

function bench(label: string, policy: CompiledPolicy, models: readonly string[], facts: readonly Facts[]) {
  const queries = facts.map((f, i) => ({ model: models[i % models.length]!, facts: f }));
  let sink = 0;
  // Warm-up so the JIT has settled before measuring.
  for (let i = 0; i < 200_000; i++) sink += decide(policy, queries[i % queries.length]!, AT).reasons.length;

  const n = 2_000_000;
  const [, ms] = time(() => {
    for (let i = 0; i < n; i++) sink += decide(policy, queries[i % queries.length]!, AT).reasons.length;
  });
  const perSecond = n / (ms / 1000);

  const samples = new Float64Array(200_000);
  for (let i = 0; i < samples.length; i++) {
    const q = queries[i % queries.length]!;
    const t0 = process.hrtime.bigint();
    sink += decide(policy, q, AT).reasons.length;
    samples[i] = Number(process.hrtime.bigint() - t0);
  }
  samples.sort();
  const pct = (p: number) => samples[Math.floor((samples.length - 1) * p)]! / 1000;
  const sample = queries.slice(0, 10_000).map((q) => decide(policy, q, AT));
  const denies = sample.filter((d) => d.decision === "deny").length / sample.length;
  const reasons = sample.reduce((n, d) => n + d.reasons.length, 0) / sample.length;
  console.log(
    `${label}: ${Math.round(perSecond).toLocaleString()} decisions/s on one core; per decision p50 ${pct(0.5).toFixed(2)} µs, p99 ${pct(0.99).toFixed(2)} µs (timer overhead included); ${(denies * 100).toFixed(0)}% deny, ${reasons.toFixed(1)} reasons per decision`,
  );
  return sink;
}

console.log(
  `node ${process.version}, ${os.cpus()[0]?.model ?? "cpu"} × ${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
);

// Runs from dist/bench after `tsc` (see docs/benchmarks.md) or from bench/ under tsx.
const exampleText = readFileSync(
  new URL(
    import.meta.url.includes("/dist/")
      ? "../../examples/policies/us-2026-frontier.yaml"
      : "../examples/policies/us-2026-frontier.yaml",
    import.meta.url,
  ),
  "utf8",
);
const example = compileTimed(exampleText, "example policy");
const exampleFacts = generateFacts(["org-a", "org-b", "org-c", "acme", "frontier-labs"], 1024);
bench("example policy", example, [...example.models.keys()], exampleFacts);

for (const profile of ["realistic", "dense"] as const) {
  const generated = generatePolicy({ profile });
  const label = `generated policy (${profile})`;
  const big = compileTimed(JSON.stringify(generated.doc), label);
  console.log(
    `${label}: ${big.directives.size} directives, ${big.rules.size} rules, ${big.models.size} models, ${Object.keys(big.doc.cohorts ?? {}).length} cohorts, ${generated.orgs.length} orgs`,
  );
  bench(label, big, generated.models, generateFacts(generated.orgs, 4096));
}
