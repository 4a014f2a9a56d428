import { z } from "zod";
import { ATTRIBUTE_NAMES } from "./attributes.ts";

/**
 * The shape of a policy document. Structure only: cross-references, dates and countries are
 * checked in validate.ts, which also runs when this schema fails so that all errors show at once.
 * `schema/policy.schema.json` is generated from this (npm run schema).
 */

const Id = z.string().describe("letters, digits, `.`, `_` and `-`");
const Instant = z.string().describe("`YYYY-MM-DD` (00:00 UTC) or an RFC 3339 datetime with offset");
const Scalar = z.union([z.string(), z.boolean(), z.number()]);

const Operators = z
  .strictObject({
    in: z.array(Scalar).optional().describe("holds when the value (any element of a list) is in the set"),
    not_in: z.array(Scalar).optional().describe("holds when the value (no element of a list) is in the set"),
    eq: Scalar.optional().describe("holds when the value equals this"),
    contains: Scalar.optional().describe("holds when the list contains this"),
    exists: z.boolean().optional().describe("holds when the attribute is known (true) or unknown (false)"),
  })
  .describe("operators on one attribute; several are ANDed");

export interface WhenDoc {
  any?: WhenDoc[];
  all?: WhenDoc[];
  [attribute: string]: unknown;
}

const attributeShape = Object.fromEntries(ATTRIBUTE_NAMES.map((name) => [name, Operators.optional()]));

export const When: z.ZodType<WhenDoc> = z
  .strictObject({
    ...attributeShape,
    get any() {
      return z.array(When).optional().describe("holds when any of these conditions holds");
    },
    get all() {
      return z.array(When).optional().describe("holds when all of these conditions hold");
    },
  })
  .describe("conditions on org, user and request attributes; keys are ANDed");

export const EFFECTS = ["deny", "allow", "exempt", "require"] as const;
export type Effect = (typeof EFFECTS)[number];

export const Rule = z.strictObject({
  id: Id,
  effect: z.enum(EFFECTS),
  description: z.string().optional(),
  models: z.array(z.string()).optional().describe("model ids this rule targets"),
  capabilities: z.array(z.string()).optional().describe("targets every model with one of these capabilities"),
  when: When.optional(),
  exempts: z
    .array(z.string())
    .optional()
    .describe("for effect exempt: `directive/rule` refs of deny rules lifted"),
  require: z
    .strictObject({ region: z.array(z.string()).min(1).describe("deployment regions allowed to serve") })
    .optional()
    .describe("for effect require: serving constraints"),
});

export const Directive = z.strictObject({
  id: Id,
  authority: z.string(),
  title: z.string(),
  source: z.string().optional().describe("the letter, rule or licence this encodes"),
  description: z.string().optional(),
  issued: Instant,
  effective: Instant,
  expires: Instant.nullable().optional(),
  notice: z.string().optional().describe("ISO 8601 duration of advance notice before access is taken away"),
  rules: z.array(Rule),
});

export const Model = z.strictObject({
  provider: z.string(),
  description: z.string().optional(),
  capabilities: z.array(z.string()).optional(),
  default: z
    .enum(["allow", "deny"])
    .optional()
    .describe("access when no rule grants or denies; allow if omitted"),
  fallbacks: z.array(z.string()).optional().describe("models that may serve in its place, in order"),
  open_weights: z.boolean().optional(),
});

export const Cohort = z.strictObject({
  description: z.string().optional(),
  members: z.array(z.string()).describe("organisation ids"),
  disclosed_to: z.string().optional().describe("the authority this cohort's membership is disclosed to"),
});

export const PolicyDocument = z.strictObject({
  $schema: z.string().optional(),
  version: z.literal(1),
  jurisdictions: z.record(z.string(), z.array(z.string())).optional(),
  models: z.record(z.string(), Model),
  cohorts: z.record(z.string(), Cohort).optional(),
  directives: z.array(Directive),
});

export type PolicyDoc = z.infer<typeof PolicyDocument>;
export type DirectiveDoc = z.infer<typeof Directive>;
export type RuleDoc = z.infer<typeof Rule>;
export type ModelDoc = z.infer<typeof Model>;

export function policyJsonSchema(): unknown {
  return {
    ...z.toJSONSchema(PolicyDocument, { target: "draft-2020-12" }),
    $id: "https://clearance.dev/schema/policy.schema.json",
    title: "Clearance policy document",
  };
}
