import type { LifecycleEvent, StoreOps } from "../store/index.ts";

/**
 * The events of one directive (every event of each draft that touches it, rollbacks that change
 * it), of one draft, or all; oldest first.
 */
export async function history(
  ops: StoreOps,
  filter: { directive?: string; draft?: string } = {},
): Promise<LifecycleEvent[]> {
  const events = await ops.listLifecycleEvents(filter.draft ? { draftId: filter.draft } : {});
  const directive = filter.directive;
  if (!directive) return events;
  const drafts = new Set(
    (await ops.listDrafts()).filter((d) => d.directives.includes(directive)).map((d) => d.id),
  );
  for (const e of events) if (e.directives.includes(directive) && e.draftId) drafts.add(e.draftId);
  return events.filter((e) => (e.draftId ? drafts.has(e.draftId) : e.directives.includes(directive)));
}

const VERB: Record<string, string> = {
  created: "wrote draft",
  edited: "edited draft",
  validation_failed: "validated draft (it has errors)",
  validated: "validated draft",
  impact_computed: "computed the impact of draft",
  approved: "approved draft",
  published: "published draft",
  rolled_back: "rolled the policy back",
};

/** One sentence per event: `2026-07-01T09:00:00.000Z  alice (editor) wrote draft drf_… “fable-5 lift”`. */
export function storyLine(e: LifecycleEvent): string {
  const d = e.detail as Record<string, unknown>;
  const parts = [`${e.at}  ${e.actor} (${String(d.role ?? "?")}) ${VERB[e.action] ?? e.action}`];
  if (e.draftId) parts.push(` \`${e.draftId}\``);
  if (d.title) parts.push(` “${String(d.title)}”`);
  if (e.action === "validated")
    parts.push(`: valid; changes ${e.directives.map((x) => `\`${x}\``).join(", ") || "no directive"}`);
  if (e.action === "validation_failed") parts.push(`: ${String(d.errors)} error(s)`);
  if (e.action === "impact_computed") {
    const t = d.totals as { gains: number; losses: number; requirements: number } | undefined;
    parts.push(
      ` at ${String(d.at)}: ${t?.gains ?? 0} gain, ${t?.losses ?? 0} lose access, ${t?.requirements ?? 0} get new requirements`,
    );
  }
  if (e.action === "approved" && d.comment) parts.push(`: “${String(d.comment)}”`);
  if (e.action === "published")
    parts.push(
      ` as version ${e.policyVersion}, in force ${String(d.effective_at)}; ${String(d.notices)} org(s) notified${Array.isArray(d.warnings) ? ` (warning: ${d.warnings.join("; ")})` : ""}`,
    );
  if (e.action === "rolled_back")
    parts.push(
      ` from version ${String(d.from_version)} to the document of version ${String(d.to_version)}, published as version ${e.policyVersion}${d.reason ? `: “${String(d.reason)}”` : ""}`,
    );
  if (e.action === "edited" && d.reset_from) parts.push(` (back to draft from \`${String(d.reset_from)}\`)`);
  return parts.join("");
}
