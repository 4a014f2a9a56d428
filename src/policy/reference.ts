import { type CompiledPolicy, type CompiledRule, TRUE, UNKNOWN } from "./compile.ts";
import { cohortsOf, type Decision, modelFor, Outcome, type Query } from "./evaluate.ts";

/**
 * The semantics of docs/policy.md, one rule at a time: the specification in code. `decide` gives
 * the same decisions faster through match tables; test/policy/reference.test.ts checks they agree.
 */
export function decideReference(policy: CompiledPolicy, query: Query, at: number): Decision {
  const model = modelFor(policy, query.model, at);
  const facts = query.facts;
  const cohorts = cohortsOf(policy, facts);
  const inForce = (r: CompiledRule) => r.from <= at && at < r.to;
  const test = (r: CompiledRule) => r.test(facts, cohorts);
  const outcome = new Outcome(model);

  for (const deny of model.deny.filter(inForce)) {
    const result = test(deny);
    if (result !== TRUE && result !== UNKNOWN) continue; // a deny that could hold applies
    const exemptions = (model.exemptsByDeny.get(deny.ref) ?? []).filter(inForce);
    outcome.deny(
      deny,
      result === UNKNOWN,
      exemptions.filter((e) => test(e) === TRUE), // an exemption applies only when it surely holds
      exemptions.filter((e) => test(e) === UNKNOWN),
    );
  }
  if (model.default === "deny") {
    const allows = model.allow.filter(inForce);
    outcome.grant(
      allows.filter((r) => test(r) === TRUE),
      allows.filter((r) => test(r) === UNKNOWN),
    );
  }
  for (const req of model.require.filter(inForce)) {
    const result = test(req);
    if (result === TRUE || result === UNKNOWN) outcome.require(req, result === UNKNOWN);
  }
  return outcome.finish(policy, at, facts, cohorts);
}
