import type { z } from "zod";
import {
  ATTRIBUTES,
  type AttributeType,
  isAttribute,
  isCountryType,
  isListType,
  OPERATORS,
  OPERATORS_BY_TYPE,
} from "./attributes.ts";
import { isCountryCode } from "./countries.ts";
import type { Diagnostic, PathSegment, PolicyCode } from "./errors.ts";
import { EFFECTS, type PolicyDoc, PolicyDocument } from "./schema.ts";
import { didYouMean } from "./suggest.ts";
import { parseDuration, parseInstant } from "./time.ts";

/**
 * Checks a parsed document: structure (zod) and meaning (references, dates, countries,
 * operators). Every problem is reported at once; nothing throws. Diagnostics carry paths;
 * the caller adds file positions.
 */
export function validateDocument(value: unknown): { doc?: PolicyDoc; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const parsed = PolicyDocument.safeParse(value, { reportInput: true });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      // Conditions get their own, more specific checks below.
      if (isInsideWhen(issue.path)) continue;
      diagnostics.push(...fromZodIssue(issue));
    }
  }
  new SemanticChecks(diagnostics).run(value);
  const hasErrors = diagnostics.some((d) => d.severity === "error");
  return { doc: hasErrors || !parsed.success ? undefined : parsed.data, diagnostics };
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

type Raw = Record<string, unknown>;
const isRecord = (v: unknown): v is Raw => typeof v === "object" && v !== null && !Array.isArray(v);
const entries = (v: unknown): [string, unknown][] => (isRecord(v) ? Object.entries(v) : []);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

function isInsideWhen(path: readonly PropertyKey[]): boolean {
  return path[0] === "directives" && path[2] === "rules" && path[4] === "when";
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return `a ${typeof v}`;
}

const EXPECTED: Record<string, string> = { object: "a mapping", array: "a list", string: "a string" };

function fromZodIssue(issue: z.core.$ZodIssue): Diagnostic[] {
  const path = issue.path.filter((p): p is PathSegment => typeof p !== "symbol");
  const last = path[path.length - 1];
  const make = (code: PolicyCode, message: string, at = path, atKey = false): Diagnostic => ({
    severity: "error",
    code,
    message,
    path: at,
    ...(atKey ? { atKey } : {}),
  });
  switch (issue.code) {
    case "invalid_type": {
      if (issue.input === undefined) {
        return [make("POLICY_MISSING_FIELD", `missing required field \`${String(last)}\``)];
      }
      const expected = EXPECTED[issue.expected] ?? `a ${issue.expected}`;
      return [make("POLICY_TYPE", `expected ${expected}, got ${typeName(issue.input)}`)];
    }
    case "unrecognized_keys":
      return issue.keys.map((key) =>
        make("POLICY_UNKNOWN_KEY", `unknown key \`${key}\``, [...path, key], true),
      );
    case "invalid_value":
      if (path.length === 1 && last === "version") {
        return [
          make(
            "POLICY_UNSUPPORTED_VERSION",
            `unsupported version \`${String(issue.input)}\`; this build reads version 1`,
          ),
        ];
      }
      return [
        make(
          "POLICY_TYPE",
          `\`${String(issue.input)}\` is not one of ${issue.values.map((v) => `\`${String(v)}\``).join(", ")}`,
        ),
      ];
    case "too_small":
      return [make("POLICY_TYPE", `must have at least ${String(issue.minimum)} item`)];
    case "invalid_union":
      return [make("POLICY_TYPE", `expected a string, boolean or number, got ${typeName(issue.input)}`)];
    default:
      return [make("POLICY_TYPE", issue.message.toLowerCase())];
  }
}

/** Expands jurisdiction groups to country sets; members may be countries or other groups. */
export function expandJurisdictions(groups: Record<string, readonly string[]>): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const visit = (name: string, seen: Set<string>): Set<string> => {
    const done = out.get(name);
    if (done) return done;
    const result = new Set<string>();
    if (seen.has(name)) return result; // cycles are reported by validation
    seen.add(name);
    for (const member of groups[name] ?? []) {
      if (Object.hasOwn(groups, member)) for (const c of visit(member, seen)) result.add(c);
      else result.add(member);
    }
    seen.delete(name);
    out.set(name, result);
    return result;
  };
  for (const name of Object.keys(groups)) visit(name, new Set());
  return out;
}

interface RuleInfo {
  effect: string;
  models: Set<string>;
  from?: number;
  to?: number;
}

class SemanticChecks {
  private models = new Map<string, { default: string; capabilities: string[] }>();
  private capabilities = new Set<string>();
  private cohorts = new Set<string>();
  private groups: Record<string, string[]> = {};
  private rules = new Map<string, RuleInfo>();

  constructor(private readonly out: Diagnostic[]) {}

  private error(code: PolicyCode, path: PathSegment[], message: string, atKey = false): void {
    this.out.push({ severity: "error", code, message, path, ...(atKey ? { atKey } : {}) });
  }

  private warn(path: PathSegment[], message: string): void {
    this.out.push({ severity: "warning", code: "POLICY_NEVER_APPLIES", message, path });
  }

  private checkId(id: unknown, path: PathSegment[]): void {
    if (typeof id === "string" && !ID.test(id)) {
      this.error("POLICY_BAD_ID", path, `id \`${id}\` may only use letters, digits, \`.\`, \`_\` and \`-\``);
    }
  }

  run(doc: unknown): void {
    if (!isRecord(doc)) return;
    this.collectJurisdictions(doc.jurisdictions);
    this.collectModels(doc.models);
    for (const [id, cohort] of entries(doc.cohorts)) {
      this.checkId(id, ["cohorts", id]);
      this.cohorts.add(id);
      list(isRecord(cohort) ? cohort.members : undefined).forEach((m, i) =>
        this.checkId(m, ["cohorts", id, "members", i]),
      );
    }
    const directives = list(doc.directives);
    this.collectRules(directives);
    directives.forEach((d, i) => {
      if (isRecord(d)) this.checkDirective(d, ["directives", i]);
    });
  }

  private collectJurisdictions(raw: unknown): void {
    for (const [name, members] of entries(raw)) {
      if (Array.isArray(members))
        this.groups[name] = members.filter((m): m is string => typeof m === "string");
    }
    for (const [name, members] of Object.entries(this.groups)) {
      const path = ["jurisdictions", name];
      if (isCountryCode(name)) {
        this.error("POLICY_JURISDICTION_NAME", path, `group \`${name}\` is named like a country code`, true);
      } else this.checkId(name, path);
      members.forEach((m, i) => {
        if (!isCountryCode(m) && !Object.hasOwn(this.groups, m)) {
          this.error(
            "POLICY_UNKNOWN_COUNTRY",
            [...path, i],
            `\`${m}\` is neither an ISO 3166-1 alpha-2 code nor a jurisdiction group${this.countryHint(m)}`,
          );
        }
      });
    }
    for (const cycle of findCycles(this.groups)) {
      this.error(
        "POLICY_JURISDICTION_CYCLE",
        ["jurisdictions", cycle[0]!],
        `jurisdiction groups contain each other: ${cycle.map((c) => `\`${c}\``).join(" → ")}`,
        true,
      );
    }
  }

  private countryHint(value: string): string {
    if (isCountryCode(value.toUpperCase()))
      return `; country codes are upper case: \`${value.toUpperCase()}\``;
    if (value === "UK") return "; the ISO code for the United Kingdom is `GB`";
    if (value === "EL") return "; the ISO code for Greece is `GR`";
    return didYouMean(value, Object.keys(this.groups));
  }

  private collectModels(raw: unknown): void {
    for (const [id, model] of entries(raw)) {
      this.checkId(id, ["models", id]);
      const m = isRecord(model) ? model : {};
      const capabilities = list(m.capabilities).filter((c): c is string => typeof c === "string");
      capabilities.forEach((c) => this.capabilities.add(c));
      this.models.set(id, { default: str(m.default) ?? "allow", capabilities });
    }
    for (const [id, model] of entries(raw)) {
      list(isRecord(model) ? model.fallbacks : undefined).forEach((f, i) => {
        const path = ["models", id, "fallbacks", i];
        if (typeof f !== "string") return;
        if (f === id) this.error("POLICY_UNKNOWN_MODEL", path, `model \`${id}\` cannot be its own fallback`);
        else this.checkModelRef(f, path);
      });
    }
  }

  private checkModelRef(id: string, path: PathSegment[]): boolean {
    if (this.models.has(id)) return true;
    this.error("POLICY_UNKNOWN_MODEL", path, `unknown model \`${id}\`${didYouMean(id, this.models.keys())}`);
    return false;
  }

  /** First pass: every rule's ref, effect, targets and window, so `exempts` can point anywhere. */
  private collectRules(directives: unknown[]): void {
    const seen = new Map<string, number>();
    directives.forEach((d, i) => {
      if (!isRecord(d) || typeof d.id !== "string") return;
      const first = seen.get(d.id);
      if (first !== undefined) {
        this.error(
          "POLICY_DUPLICATE_ID",
          ["directives", i, "id"],
          `directive id \`${d.id}\` is already used by directives[${first}]`,
        );
        return;
      }
      seen.set(d.id, i);
      const window = this.window(d);
      const ruleSeen = new Map<string, number>();
      list(d.rules).forEach((r, j) => {
        if (!isRecord(r) || typeof r.id !== "string") return;
        const dup = ruleSeen.get(r.id);
        if (dup !== undefined) {
          this.error(
            "POLICY_DUPLICATE_ID",
            ["directives", i, "rules", j, "id"],
            `rule id \`${r.id}\` is already used by rules[${dup}] of directive \`${d.id}\``,
          );
          return;
        }
        ruleSeen.set(r.id, j);
        this.rules.set(`${d.id}/${r.id}`, {
          effect: str(r.effect) ?? "",
          models: this.targets(r),
          ...window,
        });
      });
    });
  }

  private window(d: Raw): { from?: number; to?: number } {
    const from = typeof d.effective === "string" ? parseInstant(d.effective) : undefined;
    const to = typeof d.expires === "string" ? parseInstant(d.expires) : undefined;
    return { from, to };
  }

  /** The models a rule targets: named models plus models with a named capability; all when neither is given. */
  private targets(r: Raw): Set<string> {
    const named = list(r.models).filter((m): m is string => typeof m === "string");
    const caps = list(r.capabilities).filter((c): c is string => typeof c === "string");
    if (!Array.isArray(r.models) && !Array.isArray(r.capabilities)) return new Set(this.models.keys());
    const out = new Set(named.filter((m) => this.models.has(m)));
    for (const [id, m] of this.models) if (m.capabilities.some((c) => caps.includes(c))) out.add(id);
    return out;
  }

  private checkDirective(d: Raw, path: PathSegment[]): void {
    this.checkId(d.id, [...path, "id"]);
    for (const field of ["issued", "effective", "expires"] as const) {
      const v = d[field];
      if (typeof v === "string" && parseInstant(v) === undefined) {
        this.error(
          "POLICY_BAD_INSTANT",
          [...path, field],
          `\`${v}\` is not a date (\`YYYY-MM-DD\`) or an RFC 3339 datetime with offset`,
        );
      }
    }
    const { from, to } = this.window(d);
    if (from !== undefined && to !== undefined && to <= from) {
      this.error(
        "POLICY_BAD_WINDOW",
        [...path, "expires"],
        `expires \`${String(d.expires)}\` is not after effective \`${String(d.effective)}\``,
      );
    }
    if (typeof d.notice === "string" && parseDuration(d.notice) === undefined) {
      this.error(
        "POLICY_BAD_DURATION",
        [...path, "notice"],
        `\`${d.notice}\` is not an ISO 8601 duration such as \`P30D\` or \`PT12H\``,
      );
    }
    if (Array.isArray(d.rules) && d.rules.length === 0) {
      this.warn([...path, "rules"], `directive \`${String(d.id)}\` has no rules`);
    }
    list(d.rules).forEach((r, j) => {
      if (isRecord(r)) this.checkRule(r, [...path, "rules", j], { from, to });
    });
  }

  private checkRule(r: Raw, path: PathSegment[], window: { from?: number; to?: number }): void {
    this.checkId(r.id, [...path, "id"]);
    const effect = str(r.effect);
    list(r.models).forEach((m, i) => {
      if (typeof m === "string") this.checkModelRef(m, [...path, "models", i]);
    });
    list(r.capabilities).forEach((c, i) => {
      if (typeof c === "string" && !this.capabilities.has(c)) {
        this.error(
          "POLICY_UNKNOWN_CAPABILITY",
          [...path, "capabilities", i],
          `no model has capability \`${c}\`${didYouMean(c, this.capabilities)}`,
        );
      }
    });
    if (r.when !== undefined) this.checkWhen(r.when, [...path, "when"], effect);
    if (!effect || !(EFFECTS as readonly string[]).includes(effect)) return;

    if (effect === "exempt") this.checkExempts(r, path, window);
    else if (r.exempts !== undefined) {
      this.error(
        "POLICY_EFFECT_FIELD",
        [...path, "exempts"],
        `\`exempts\` is only valid with effect \`exempt\``,
        true,
      );
    }
    if (effect === "require" && r.require === undefined) {
      this.error(
        "POLICY_EFFECT_FIELD",
        path,
        "effect `require` needs a `require` field such as `{ region: [eu] }`",
      );
    } else if (effect !== "require" && r.require !== undefined) {
      this.error(
        "POLICY_EFFECT_FIELD",
        [...path, "require"],
        `\`require\` is only valid with effect \`require\``,
        true,
      );
    }
    if (effect === "allow") {
      const targets = this.targets(r);
      if (targets.size > 0 && [...targets].every((m) => this.models.get(m)?.default === "allow")) {
        this.warn(
          path,
          "allow rule targets only models that are allowed by default, so it never changes a decision",
        );
      }
    }
  }

  private checkExempts(r: Raw, path: PathSegment[], window: { from?: number; to?: number }): void {
    if (!Array.isArray(r.exempts) || r.exempts.length === 0) {
      if (r.exempts === undefined) {
        this.error("POLICY_EFFECT_FIELD", path, "effect `exempt` needs `exempts`: the deny rules it lifts");
      }
      return;
    }
    const own = this.targets(r);
    const explicitTargets = Array.isArray(r.models) || Array.isArray(r.capabilities);
    r.exempts.forEach((ref, i) => {
      const at = [...path, "exempts", i];
      if (typeof ref !== "string") return;
      const target = this.rules.get(ref);
      if (!target) {
        const hint = ref.includes("/")
          ? didYouMean(ref, this.rules.keys())
          : "; refer to rules as `directive/rule`";
        this.error("POLICY_UNKNOWN_RULE", at, `unknown rule \`${ref}\`${hint}`);
        return;
      }
      if (target.effect !== "deny") {
        this.error(
          "POLICY_EXEMPT_NOT_DENY",
          at,
          `rule \`${ref}\` has effect \`${target.effect}\`; only deny rules can be exempted`,
        );
        return;
      }
      if (explicitTargets && ![...own].some((m) => target.models.has(m))) {
        this.warn(at, `exempt rule targets no model that \`${ref}\` denies, so it never lifts it`);
      } else if (!overlaps(window, target)) {
        this.warn(at, `exempt rule is never in force at the same time as \`${ref}\``);
      }
    });
  }

  private checkWhen(when: unknown, path: PathSegment[], effect: string | undefined): void {
    if (!isRecord(when)) {
      this.error("POLICY_TYPE", path, `expected a mapping of attribute conditions, got ${typeName(when)}`);
      return;
    }
    for (const [key, value] of Object.entries(when)) {
      const at = [...path, key];
      if (key === "any" || key === "all") {
        if (!Array.isArray(value)) this.error("POLICY_TYPE", at, `\`${key}\` expects a list of conditions`);
        else value.forEach((c, i) => this.checkWhen(c, [...at, i], effect));
      } else if (!isAttribute(key)) {
        this.error(
          "POLICY_UNKNOWN_ATTRIBUTE",
          at,
          `unknown attribute \`${key}\`${didYouMean(key, Object.keys(ATTRIBUTES))}`,
          true,
        );
      } else {
        this.checkOperators(ATTRIBUTES[key], key, value, at, effect);
      }
    }
  }

  private checkOperators(
    type: AttributeType,
    attr: string,
    ops: unknown,
    path: PathSegment[],
    effect: string | undefined,
  ): void {
    if (!isRecord(ops)) {
      this.error(
        "POLICY_TYPE",
        path,
        `expected operators such as \`{ in: [...] }\` for \`${attr}\`, got ${typeName(ops)}`,
      );
      return;
    }
    if (Object.keys(ops).length === 0) {
      this.error("POLICY_MISSING_FIELD", path, `no operator given for \`${attr}\``);
    }
    for (const [op, value] of Object.entries(ops)) {
      const at = [...path, op];
      if (!(OPERATORS as readonly string[]).includes(op)) {
        this.error(
          "POLICY_UNKNOWN_OPERATOR",
          at,
          `unknown operator \`${op}\`${didYouMean(op, OPERATORS)}`,
          true,
        );
        continue;
      }
      if (!OPERATORS_BY_TYPE[type].includes(op)) {
        const allowed = OPERATORS_BY_TYPE[type].map((o) => `\`${o}\``).join(", ");
        this.error(
          "POLICY_OPERATOR_TYPE",
          at,
          `operator \`${op}\` does not apply to \`${attr}\`; use ${allowed}`,
          true,
        );
        continue;
      }
      if (op === "exists") {
        if (typeof value !== "boolean") this.error("POLICY_TYPE", at, `\`exists\` takes true or false`);
        else if (grantsOnUnknown(effect, value)) {
          this.error(
            "POLICY_OPERATOR_TYPE",
            at,
            `\`exists: ${value}\` in ${effect === "allow" || effect === "exempt" ? "an" : "a"} ${effect} rule would let an unknown \`${attr}\` grant access; unknown facts never grant access`,
          );
        }
      } else if (op === "in" || op === "not_in") {
        if (!Array.isArray(value)) {
          this.error("POLICY_TYPE", at, `\`${op}\` takes a list, got ${typeName(value)}`);
          continue;
        }
        if (value.length === 0 && op === "in")
          this.warn(at, "`in: []` never holds, so this condition never matches");
        value.forEach((v, i) => this.checkValue(type, attr, v, [...at, i]));
      } else {
        this.checkValue(type, attr, value, at);
      }
    }
  }

  private checkValue(type: AttributeType, attr: string, v: unknown, path: PathSegment[]): void {
    if (type === "boolean") {
      if (typeof v !== "boolean")
        this.error("POLICY_TYPE", path, `\`${attr}\` is true or false, got ${typeName(v)}`);
      return;
    }
    if (typeof v !== "string") {
      this.error("POLICY_TYPE", path, `\`${attr}\` compares with strings, got ${typeName(v)}`);
      return;
    }
    if (isCountryType(type) && !isCountryCode(v) && !Object.hasOwn(this.groups, v)) {
      this.error(
        "POLICY_UNKNOWN_COUNTRY",
        path,
        `\`${v}\` is neither an ISO 3166-1 alpha-2 code nor a jurisdiction group${this.countryHint(v)}`,
      );
    } else if (type === "cohort-list" && !this.cohorts.has(v)) {
      this.error("POLICY_UNKNOWN_COHORT", path, `unknown cohort \`${v}\`${didYouMean(v, this.cohorts)}`);
    } else if (isListType(type) && v === "") {
      this.error("POLICY_TYPE", path, "empty string");
    }
  }
}

/**
 * Unknown facts never grant access, so an allow/exempt rule may not match on a fact being
 * absent, and a deny/require rule may not stop matching because a fact is absent.
 */
function grantsOnUnknown(effect: string | undefined, exists: boolean): boolean {
  if (effect === "allow" || effect === "exempt") return exists === false;
  if (effect === "deny" || effect === "require") return exists === true;
  return false;
}

function overlaps(a: { from?: number; to?: number }, b: { from?: number; to?: number }): boolean {
  if (a.from === undefined || b.from === undefined) return true;
  return a.from < (b.to ?? Number.POSITIVE_INFINITY) && b.from < (a.to ?? Number.POSITIVE_INFINITY);
}

function findCycles(groups: Record<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const visit = (name: string) => {
    state.set(name, "visiting");
    stack.push(name);
    for (const member of groups[name] ?? []) {
      if (!Object.hasOwn(groups, member)) continue;
      const s = state.get(member);
      if (s === "visiting") cycles.push([...stack.slice(stack.indexOf(member)), member]);
      else if (s === undefined) visit(member);
    }
    stack.pop();
    state.set(name, "done");
  };
  for (const name of Object.keys(groups)) if (!state.has(name)) visit(name);
  return cycles;
}
