import type { CompiledPolicy } from "./compile.ts";
import { type Decision, decide, type Query } from "./evaluate.ts";

export interface TimelineEntry {
  /** Epoch ms from which this decision holds; null for "before any directive touching the model". */
  from: number | null;
  decision: Decision;
}

/** What distinguishes one decision from another over time (not the instant itself). */
function signature(d: Decision): string {
  return JSON.stringify([d.decision, d.requirements, d.reasons, d.unknown]);
}

/** The decision over time: one entry per instant at which it changes, the first for "before". */
export function timeline(policy: CompiledPolicy, query: Query): TimelineEntry[] {
  const model = policy.models.get(query.model);
  const instants = model?.instants ?? [];
  const first = instants[0] ?? 0;
  const entries: TimelineEntry[] = [{ from: null, decision: decide(policy, query, first - 1) }];
  for (const at of instants) {
    const decision = decide(policy, query, at);
    if (signature(decision) !== signature(entries[entries.length - 1]!.decision)) {
      entries.push({ from: at, decision });
    }
  }
  return entries;
}
