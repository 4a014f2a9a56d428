/**
 * The policy layer's error catalog. Every code is stable and documented in docs/errors.md
 * (a test checks that). Messages are lowercase, one line, user input in backticks.
 */
export const POLICY_CODES = {
  POLICY_INVALID: "a policy with errors was loaded; the message lists them all",
  POLICY_SYNTAX: "the file is not well-formed YAML or JSON",
  POLICY_UNSUPPORTED_VERSION: "the document's `version` is not one this build understands",
  POLICY_MISSING_FIELD: "a required field is absent",
  POLICY_UNKNOWN_KEY: "a key that the schema does not define",
  POLICY_TYPE: "a value of the wrong type",
  POLICY_BAD_ID: "an id with characters outside letters, digits, `.`, `_` and `-`",
  POLICY_DUPLICATE_ID: "two directives, or two rules of one directive, share an id",
  POLICY_UNKNOWN_MODEL: "a model that the document does not declare",
  POLICY_UNKNOWN_CAPABILITY: "a capability that no declared model has",
  POLICY_UNKNOWN_COHORT: "a cohort that the document does not declare",
  POLICY_UNKNOWN_COUNTRY: "neither an ISO 3166-1 alpha-2 code nor a jurisdiction group",
  POLICY_UNKNOWN_ATTRIBUTE: "a condition on an attribute Clearance does not know",
  POLICY_UNKNOWN_OPERATOR: "a condition operator Clearance does not know",
  POLICY_OPERATOR_TYPE: "an operator or value that does not fit the attribute's type",
  POLICY_UNKNOWN_RULE: "`exempts` names a rule that does not exist",
  POLICY_EXEMPT_NOT_DENY: "`exempts` names a rule whose effect is not `deny`",
  POLICY_EFFECT_FIELD: "a field missing for, or not valid with, the rule's effect",
  POLICY_BAD_INSTANT: "a date or datetime that is not `YYYY-MM-DD` or RFC 3339",
  POLICY_BAD_DURATION: "a duration that is not ISO 8601 (`P30D`, `PT12H`)",
  POLICY_BAD_WINDOW: "`expires` is not after `effective`",
  POLICY_JURISDICTION_CYCLE: "jurisdiction groups that contain each other",
  POLICY_JURISDICTION_NAME: "a jurisdiction group named like a country code",
  POLICY_NEVER_APPLIES: "(warning) a rule that can never change a decision",
  FACTS_UNKNOWN_ATTRIBUTE: "a fact for an attribute Clearance does not know",
  FACTS_TYPE: "a fact whose value does not fit the attribute's type",
  FACTS_UNKNOWN_COUNTRY: "a fact naming something that is not an ISO 3166-1 alpha-2 code",
  DECIDE_UNKNOWN_MODEL: "a decision was asked for a model the policy does not declare",
  DECIDE_BAD_INSTANT: "the instant to decide at is not a valid date or datetime",
} as const;

export type PolicyCode = keyof typeof POLICY_CODES;

export type Severity = "error" | "warning";
export type PathSegment = string | number;

/** One problem found in a document, with where it is. */
export interface Diagnostic {
  severity: Severity;
  code: PolicyCode;
  message: string;
  path: PathSegment[];
  file?: string;
  line?: number;
  column?: number;
  /** Locate at the key rather than its value (unknown keys, bad names). */
  atKey?: boolean;
}

/** Typed error thrown across module boundaries; `code` is stable, `message` is for people. */
export class ClearanceError extends Error {
  readonly code: string;
  readonly diagnostics: readonly Diagnostic[];

  constructor(code: string, message: string, diagnostics: readonly Diagnostic[] = []) {
    super(message);
    this.name = "ClearanceError";
    this.code = code;
    this.diagnostics = diagnostics;
  }
}

export function isClearanceError(err: unknown, code?: string): err is ClearanceError {
  return err instanceof ClearanceError && (code === undefined || err.code === code);
}

/** `directives[1].rules[0].exempts[0]` */
export function formatPath(path: readonly PathSegment[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out || "(document)";
}

/** `policy.yaml:14:7: error POLICY_UNKNOWN_RULE directives[1].rules[0].exempts[0]: unknown rule ...` */
export function formatDiagnostic(d: Diagnostic): string {
  const where = [d.file ?? "<input>", d.line, d.column].filter((x) => x !== undefined).join(":");
  return `${where}: ${d.severity} ${d.code} ${formatPath(d.path)}: ${d.message}`;
}
