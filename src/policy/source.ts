import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import type { Diagnostic, PathSegment } from "./errors.ts";

/** A parsed document and a way to find where a path sits in the text. */
export interface Source {
  value: unknown;
  locate(path: readonly PathSegment[], atKey?: boolean): { line: number; column: number } | undefined;
  syntaxErrors: Diagnostic[];
}

/**
 * Parses YAML or JSON (YAML 1.2 is a superset of JSON) keeping positions for located errors.
 * Well-formed JSON takes a fast path; positions are then worked out only if an error needs one.
 */
export function parseSource(text: string): Source {
  if (/^\s*[{[]/.test(text)) {
    try {
      const value: unknown = JSON.parse(text);
      let yaml: Source | undefined;
      return {
        value,
        syntaxErrors: [],
        locate: (path, atKey) => {
          yaml ??= parseYaml(text);
          return yaml.locate(path, atKey);
        },
      };
    } catch {
      // Not strict JSON (comments, trailing commas, duplicate keys...): YAML reports where.
    }
  }
  return parseYaml(text);
}

function parseYaml(text: string): Source {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, version: "1.2" });
  const position = (offset: number) => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const syntaxErrors: Diagnostic[] = doc.errors.map((e) => ({
    severity: "error",
    code: "POLICY_SYNTAX",
    message: e.message
      .split("\n")[0]!
      .replace(/ at line \d+, column \d+:?$/, "")
      .toLowerCase(),
    path: [],
    ...position(e.pos[0]),
  }));

  function locate(path: readonly PathSegment[], atKey = false) {
    let node: unknown = doc.contents;
    let keyNode: unknown;
    let best: unknown = node;
    for (const seg of path) {
      keyNode = undefined;
      if (isMap(node)) {
        const pair = node.items.find(
          (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg),
        );
        if (!pair) break;
        keyNode = pair.key;
        node = pair.value;
      } else if (isSeq(node) && typeof seg === "number") {
        node = node.items[seg];
      } else {
        break;
      }
      if (!node) break;
      best = node;
    }
    const target = (atKey || !node) && keyNode ? keyNode : best;
    const range = (target as Node | undefined)?.range;
    return range ? position(range[0]) : undefined;
  }

  let value: unknown;
  try {
    value = syntaxErrors.length ? undefined : doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    syntaxErrors.push({
      severity: "error",
      code: "POLICY_SYNTAX",
      message: (err as Error).message.toLowerCase(),
      path: [],
      line: 1,
      column: 1,
    });
  }
  return { value, locate, syntaxErrors };
}
