import { ATTRIBUTES, isListType } from "./attributes.ts";
import type { CompiledPolicy, CompiledRule, Condition, Reason } from "./compile.ts";
import type { Decision } from "./evaluate.ts";
import { formatInstantShort } from "./time.ts";

/** A condition in words: `user.nationality includes none of [US] and org.sector is public`. */
export function describeCondition(c: Condition | undefined): string {
  if (!c) return "always";
  if (c.kind !== "test") {
    const parts = c.items.map(describeCondition);
    return c.kind === "all" ? parts.join(" and ") : `(${parts.join(" or ")})`;
  }
  const list = isListType(ATTRIBUTES[c.attribute]);
  const values = `[${c.values.join(", ")}]`;
  switch (c.op) {
    case "in":
      return `${c.attribute} ${list ? "includes one of" : "is in"} ${values}`;
    case "not_in":
      return `${c.attribute} ${list ? "includes none of" : "is not in"} ${values}`;
    case "eq":
      return `${c.attribute} is ${String(c.values[0])}`;
    case "contains":
      return `${c.attribute} contains ${String(c.values[0])}`;
    case "exists":
      return `${c.attribute} is ${c.values[0] ? "known" : "unknown"}`;
  }
}

/** `“Licence required for foreign persons” (US Department of Commerce, is-informed letter ...), in force since 2026-06-12` */
export function describeDirective(policy: CompiledPolicy, directiveId: string): string {
  const d = policy.directives.get(directiveId);
  if (!d) return `\`${directiveId}\``;
  const origin = [d.authority, d.source].filter(Boolean).join(", ");
  const until = d.expires === null ? "" : ` until ${formatInstantShort(d.expires)}`;
  return `“${d.title}” (${origin}), in force from ${formatInstantShort(d.effective)}${until}`;
}

function ruleOf(policy: CompiledPolicy, r: Reason): CompiledRule | undefined {
  return r.directive && r.rule ? policy.rules.get(`${r.directive}/${r.rule}`) : undefined;
}

/** One sentence per reason, then the unknown facts, then what would change a denial. */
export function explainDecision(policy: CompiledPolicy, decision: Decision): string[] {
  const lines: string[] = [];
  for (const reason of decision.reasons) {
    const rule = ruleOf(policy, reason);
    if (!rule) {
      lines.push(`${capitalise(reason.title)}.`);
      continue;
    }
    const what = `${describeDirective(policy, rule.directive)}, when ${describeCondition(rule.condition)}`;
    switch (reason.effect) {
      case "deny":
        lines.push(
          reason.lifted_by
            ? `Would be denied by \`${rule.ref}\` (${what}), but ${reason.lifted_by.map((r) => `\`${r}\``).join(", ")} lifts it.`
            : `Denied by \`${rule.ref}\`: ${what}.`,
        );
        break;
      case "exempt":
        lines.push(
          `Exempted by \`${rule.ref}\`: ${what}; lifts ${(reason.lifts ?? []).map((r) => `\`${r}\``).join(", ")}.`,
        );
        break;
      case "allow":
        lines.push(`Granted by \`${rule.ref}\`: ${what}.`);
        break;
      case "require":
        lines.push(
          `Must be served from region ${(rule.region ?? []).join(" or ")}, by \`${rule.ref}\`: ${what}.`,
        );
        break;
    }
  }
  if (decision.requirements.region?.length === 0) {
    lines.push("No region satisfies every serving requirement at once, so the request cannot be served.");
  }
  if (decision.unknown.length > 0) {
    lines.push(
      `Unknown: ${decision.unknown.join(", ")}; an unknown fact is counted against access (it never grants it).`,
    );
  }
  if (decision.decision === "deny") lines.push(...remedies(policy, decision));
  return lines;
}

/** For a denial: the exemptions and grants in force that would change it, in words a person can act on. */
export function remedies(policy: CompiledPolicy, decision: Decision): string[] {
  const model = policy.models.get(decision.model);
  if (!model) return [];
  const at = Date.parse(decision.at);
  const inForce = (r: CompiledRule) => at >= r.from && at < r.to;
  const out: string[] = [];
  for (const reason of decision.reasons) {
    const rule = ruleOf(policy, reason);
    if (rule?.effect === "deny") {
      for (const e of (model.exemptsByDeny.get(rule.ref) ?? []).filter(inForce)) {
        out.push(
          `\`${e.ref}\` lifts \`${rule.ref}\` for ${model.id} when ${describeCondition(e.condition)}${cohortNote(policy, e)}.`,
        );
      }
    } else if (reason.effect === "default" && model.default === "deny") {
      for (const a of model.allow.filter(inForce)) {
        out.push(
          `\`${a.ref}\` grants ${model.id} when ${describeCondition(a.condition)}${cohortNote(policy, a)}.`,
        );
      }
    }
  }
  return out;
}

function cohortNote(policy: CompiledPolicy, rule: CompiledRule): string {
  const cohorts = new Set<string>();
  const visit = (c: Condition | undefined): void => {
    if (!c) return;
    if (c.kind === "test") {
      if (c.attribute === "org.cohorts" && c.op !== "not_in")
        for (const v of c.values) cohorts.add(String(v));
    } else c.items.forEach(visit);
  };
  visit(rule.condition);
  if (cohorts.size === 0) return "";
  const names = [...cohorts].map((id) => {
    const description = policy.doc.cohorts?.[id]?.description;
    return description ? `\`${id}\` (${description})` : `\`${id}\``;
  });
  return `; ask for the organisation to be added to cohort ${names.join(" or ")}`;
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
