import { ATTRIBUTES, type Attribute, type Facts, type FactValue, isAttribute } from "./attributes.ts";
import { isCountryCode } from "./countries.ts";
import { didYouMean } from "./suggest.ts";

export interface FactsResult {
  facts: Facts;
  errors: { code: "FACTS_UNKNOWN_ATTRIBUTE" | "FACTS_TYPE" | "FACTS_UNKNOWN_COUNTRY"; message: string }[];
}

/**
 * Checks and normalises facts from outside (a directory file, a command line, an API body):
 * country codes upper-cased, booleans as booleans, lists as lists. `null`/absent means unknown.
 */
export function normalizeFacts(raw: Record<string, unknown>): FactsResult {
  const facts: Facts = {};
  const errors: FactsResult["errors"] = [];
  for (const [name, value] of Object.entries(raw)) {
    if (!isAttribute(name)) {
      errors.push({
        code: "FACTS_UNKNOWN_ATTRIBUTE",
        message: `unknown attribute \`${name}\`${didYouMean(name, Object.keys(ATTRIBUTES))}`,
      });
      continue;
    }
    if (value === null || value === undefined) continue;
    const result = normalizeValue(name, value);
    if (typeof result === "object" && "error" in result) errors.push(result.error);
    else facts[name] = result;
  }
  return { facts, errors };
}

type Normalized = FactValue | { error: FactsResult["errors"][number] };

function normalizeValue(name: Attribute, value: unknown): Normalized {
  const type = ATTRIBUTES[name];
  const typeError = (expected: string): Normalized => ({
    error: {
      code: "FACTS_TYPE",
      message: `\`${name}\` expects ${expected}, got \`${JSON.stringify(value)}\``,
    },
  });
  const country = (v: unknown): string | Normalized => {
    if (typeof v !== "string") return typeError("ISO 3166-1 alpha-2 country codes");
    const code = v.trim().toUpperCase();
    if (isCountryCode(code)) return code;
    return {
      error: {
        code: "FACTS_UNKNOWN_COUNTRY",
        message: `\`${v}\` in \`${name}\` is not an ISO 3166-1 alpha-2 country code`,
      },
    };
  };
  switch (type) {
    case "boolean":
      if (typeof value === "boolean") return value;
      if (value === "true" || value === "false") return value === "true";
      return typeError("true or false");
    case "string":
      return typeof value === "string" && value !== "" ? value : typeError("a non-empty string");
    case "country":
      return country(value);
    case "country-list":
    case "cohort-list": {
      if (!Array.isArray(value)) return typeError("a list");
      const out: string[] = [];
      for (const v of value) {
        const n =
          type === "country-list"
            ? country(v)
            : typeof v === "string" && v !== ""
              ? v
              : typeError("a list of ids");
        if (typeof n !== "string") return n;
        out.push(n);
      }
      return out;
    }
  }
}

/**
 * Parses `key=value` as given on a command line: lists split on commas (`user.nationality=US,FR`,
 * and `user.nationality=` is the known-empty list), booleans from `true`/`false`.
 */
export function parseAssignments(assignments: readonly string[]): FactsResult {
  const raw: Record<string, unknown> = {};
  const errors: FactsResult["errors"] = [];
  for (const a of assignments) {
    const eq = a.indexOf("=");
    if (eq <= 0) {
      errors.push({ code: "FACTS_TYPE", message: `\`${a}\` is not of the form \`attribute=value\`` });
      continue;
    }
    const name = a.slice(0, eq).trim();
    const text = a.slice(eq + 1).trim();
    const type = isAttribute(name) ? ATTRIBUTES[name] : undefined;
    const isList = type === "country-list" || type === "cohort-list";
    raw[name] = isList ? (text === "" ? [] : text.split(",").map((s) => s.trim())) : text;
  }
  const result = normalizeFacts(raw);
  return { facts: result.facts, errors: [...errors, ...result.errors] };
}
