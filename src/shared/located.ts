import type { z } from "zod";
import { formatPath, type PathSegment } from "../policy/index.ts";
import { parseSource } from "../policy/source.ts";

/** One problem in a configuration or directory file, with where it is. */
export interface FileDiagnostic {
  code: string;
  message: string;
  path: PathSegment[];
  file: string;
  line?: number;
  column?: number;
}

/** `gateway.yaml:12:5: error CONFIG_TYPE deployments.fable-5[0].region: expected a string` */
export function formatFileDiagnostic(d: FileDiagnostic): string {
  const where = [d.file, d.line, d.column].filter((x) => x !== undefined).join(":");
  return `${where}: error ${d.code} ${formatPath(d.path)}: ${d.message}`;
}

/** A check beyond the schema (cross references, duplicates), reported at a path. */
export interface Problem {
  path: PathSegment[];
  message: string;
  code?: string;
  atKey?: boolean;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; diagnostics: FileDiagnostic[] };

/**
 * Parses YAML/JSON text, validates it with a zod schema and then with `check`, and returns every
 * problem located as `file:line:column`. `prefix` namespaces the codes (`CONFIG`, `DIRECTORY`).
 */
export function parseLocated<S extends z.ZodType>(
  text: string,
  file: string,
  schema: S,
  prefix: string,
  check?: (value: z.output<S>) => Problem[],
): Parsed<z.output<S>> {
  const source = parseSource(text);
  if (source.syntaxErrors.length > 0) {
    return {
      ok: false,
      diagnostics: source.syntaxErrors.map((d) => ({
        code: `${prefix}_SYNTAX`,
        message: d.message,
        path: [],
        file,
        line: d.line,
        column: d.column,
      })),
    };
  }
  const locate = (p: Problem): FileDiagnostic => ({
    code: p.code ?? `${prefix}_INVALID`,
    message: p.message,
    path: p.path,
    file,
    ...source.locate(p.path, p.atKey),
  });
  const result = schema.safeParse(source.value ?? {});
  if (!result.success) {
    const problems: Problem[] = [];
    for (const issue of result.error.issues) {
      const path = issue.path.filter((s): s is string | number => typeof s !== "symbol");
      if (issue.code === "unrecognized_keys") {
        for (const key of issue.keys) {
          problems.push({
            path: [...path, key],
            message: `unknown key \`${key}\``,
            code: `${prefix}_UNKNOWN_KEY`,
            atKey: true,
          });
        }
      } else {
        problems.push({ path, message: lowerFirst(issue.message), code: `${prefix}_TYPE` });
      }
    }
    return { ok: false, diagnostics: sortDiagnostics(problems.map(locate)) };
  }
  const problems = check ? check(result.data) : [];
  if (problems.length > 0) return { ok: false, diagnostics: sortDiagnostics(problems.map(locate)) };
  return { ok: true, value: result.data };
}

function sortDiagnostics(ds: FileDiagnostic[]): FileDiagnostic[] {
  return ds.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

/** Thrown when a file cannot be used; the message lists every located problem, one a line. */
export class FileInvalidError extends Error {
  readonly code: string;
  constructor(
    code: string,
    readonly file: string,
    readonly diagnostics: readonly FileDiagnostic[],
  ) {
    super(
      `${file} has ${diagnostics.length} error${diagnostics.length === 1 ? "" : "s"}:\n${diagnostics.map(formatFileDiagnostic).join("\n")}`,
    );
    this.name = "FileInvalidError";
    this.code = code;
  }
}
