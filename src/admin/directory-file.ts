import type { Org, User } from "../directory/types.ts";
import { type Diagnostic, formatDiagnostic, normalizeFacts, type PathSegment } from "../policy/index.ts";
import { parseSource } from "../policy/source.ts";

/**
 * A directory in one YAML or JSON file, for `clearance impact --directory FILE`:
 *
 *   orgs:  [{ id, name?, country?, sector?, verified?, cohorts? }]
 *   users: [{ org, id, nationality?, permanent_residency?, residence? }]
 *
 * Absent values are unknown (never granting access). Every problem is reported with its location.
 */
export interface DirectoryFile {
  orgs: Org[];
  users: User[];
}

export interface DirectoryFileResult {
  directory?: DirectoryFile;
  errors: string[];
}

const ORG_KEYS = new Set(["id", "name", "country", "sector", "verified", "cohorts"]);
const USER_KEYS = new Set(["org", "id", "nationality", "permanent_residency", "residence"]);
const ID = /^[A-Za-z0-9._:@-]{1,128}$/;

export function readDirectoryFile(text: string, file: string): DirectoryFileResult {
  const source = parseSource(text);
  if (source.syntaxErrors.length > 0) {
    return { errors: source.syntaxErrors.map((d) => formatDiagnostic({ ...d, file })) };
  }
  const located: { line: number; column: number; text: string }[] = [];
  const fail = (path: PathSegment[], message: string, atKey = false) => {
    const at = source.locate(path, atKey);
    const d: Diagnostic = {
      severity: "error",
      code: "POLICY_TYPE",
      message,
      path,
      file,
      ...(at ? { line: at.line, column: at.column } : {}),
    };
    const where = [file, d.line, d.column].filter((x) => x !== undefined).join(":");
    located.push({ line: d.line ?? 0, column: d.column ?? 0, text: `${where}: ${message}` });
  };
  const root = source.value;
  if (typeof root !== "object" || root === null || Array.isArray(root)) {
    fail([], "a directory file is a mapping with `orgs` and `users` lists");
    return { errors: located.map((l) => l.text) };
  }
  const doc = root as Record<string, unknown>;
  for (const key of Object.keys(doc))
    if (key !== "orgs" && key !== "users")
      fail([key], `unknown key \`${key}\`; expected \`orgs\` and \`users\``, true);
  const list = (key: string): unknown[] => {
    const v = doc[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      fail([key], `\`${key}\` must be a list`);
      return [];
    }
    return v;
  };

  const orgs: Org[] = [];
  const orgIds = new Set<string>();
  list("orgs").forEach((raw, i) => {
    const path = ["orgs", i];
    if (typeof raw !== "object" || raw === null || Array.isArray(raw))
      return fail(path, "an org is a mapping");
    const o = raw as Record<string, unknown>;
    for (const k of Object.keys(o))
      if (!ORG_KEYS.has(k)) fail([...path, k], `unknown org key \`${k}\``, true);
    if (typeof o.id !== "string" || !ID.test(o.id))
      return fail([...path, "id"], "an org needs an `id` of letters, digits and `. _ : @ -`");
    if (orgIds.has(o.id)) return fail([...path, "id"], `org \`${o.id}\` appears twice`);
    orgIds.add(o.id);
    const { facts, errors: factErrors } = normalizeFacts({
      "org.country": o.country,
      "org.sector": o.sector,
      "org.verified": o.verified,
      "org.cohorts": o.cohorts,
    });
    for (const e of factErrors) fail(path, e.message.replace("`org.", "`"));
    if (o.name !== undefined && typeof o.name !== "string")
      fail([...path, "name"], "`name` must be a string");
    const org: Org = { id: o.id };
    if (typeof o.name === "string") org.name = o.name;
    if (facts["org.country"] !== undefined) org.country = facts["org.country"] as string;
    if (facts["org.sector"] !== undefined) org.sector = facts["org.sector"] as string;
    if (facts["org.verified"] !== undefined) org.verified = facts["org.verified"] as boolean;
    if (facts["org.cohorts"] !== undefined) org.cohorts = [...(facts["org.cohorts"] as string[])];
    orgs.push(org);
  });

  const users: User[] = [];
  const userIds = new Set<string>();
  list("users").forEach((raw, i) => {
    const path = ["users", i];
    if (typeof raw !== "object" || raw === null || Array.isArray(raw))
      return fail(path, "a user is a mapping");
    const u = raw as Record<string, unknown>;
    for (const k of Object.keys(u))
      if (!USER_KEYS.has(k)) fail([...path, k], `unknown user key \`${k}\``, true);
    if (typeof u.org !== "string" || !orgIds.has(u.org))
      return fail([...path, "org"], `\`org\` must name an org of this file, got \`${String(u.org)}\``);
    if (typeof u.id !== "string" || !ID.test(u.id))
      return fail([...path, "id"], "a user needs an `id` of letters, digits and `. _ : @ -`");
    const key = `${u.org}\u0000${u.id}`;
    if (userIds.has(key)) return fail([...path, "id"], `user \`${u.id}\` of org \`${u.org}\` appears twice`);
    userIds.add(key);
    const { facts, errors: factErrors } = normalizeFacts({
      "user.nationality": u.nationality,
      "user.permanent_residency": u.permanent_residency,
      "user.residence": u.residence,
    });
    for (const e of factErrors) fail(path, e.message.replace("`user.", "`"));
    const user: User = { orgId: u.org, id: u.id };
    if (facts["user.nationality"] !== undefined)
      user.nationality = [...(facts["user.nationality"] as string[])];
    if (facts["user.permanent_residency"] !== undefined)
      user.permanentResidency = [...(facts["user.permanent_residency"] as string[])];
    if (facts["user.residence"] !== undefined) user.residence = facts["user.residence"] as string;
    users.push(user);
  });
  located.sort((a, b) => a.line - b.line || a.column - b.column);
  const errors = located.map((l) => l.text);
  return errors.length > 0 ? { errors } : { directory: { orgs, users }, errors };
}
