/** The facts a rule may read. A fact that is absent is unknown; an empty list is known to be empty. */
export type AttributeType = "string" | "boolean" | "country" | "country-list" | "cohort-list";

export const ATTRIBUTES = {
  "org.id": "string",
  "org.country": "country",
  "org.sector": "string",
  "org.cohorts": "cohort-list",
  "org.verified": "boolean",
  "user.id": "string",
  "user.nationality": "country-list",
  "user.permanent_residency": "country-list",
  "user.residence": "country",
  "request.country": "country",
  "request.purpose": "string",
} as const satisfies Record<string, AttributeType>;

export type Attribute = keyof typeof ATTRIBUTES;

export const ATTRIBUTE_NAMES = Object.keys(ATTRIBUTES) as Attribute[];

export function isAttribute(name: string): name is Attribute {
  return Object.hasOwn(ATTRIBUTES, name);
}

export function isListType(type: AttributeType): boolean {
  return type === "country-list" || type === "cohort-list";
}

export function isCountryType(type: AttributeType): boolean {
  return type === "country" || type === "country-list";
}

/** Operators each attribute type accepts; anything else is a validation error. */
export const OPERATORS_BY_TYPE: Record<AttributeType, readonly string[]> = {
  string: ["in", "not_in", "eq", "exists"],
  country: ["in", "not_in", "eq", "exists"],
  boolean: ["eq", "exists"],
  "country-list": ["in", "not_in", "contains", "exists"],
  "cohort-list": ["in", "not_in", "contains", "exists"],
};

export const OPERATORS = ["in", "not_in", "eq", "contains", "exists"] as const;
export type Operator = (typeof OPERATORS)[number];

/** A value of a fact: strings, booleans, or lists of strings. */
export type FactValue = string | boolean | readonly string[];
export type Facts = Partial<Record<Attribute, FactValue>>;
