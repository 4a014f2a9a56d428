import { canonicalJson, sha256 } from "../policy/index.ts";
import type { AuditRecord, AuditRecordV1 } from "./audit-port.ts";
import type { ChainHead, Store, StoredAuditRow } from "./types.ts";

/**
 * The hash chain. Each node writes its own chain; record n carries the hash of record n-1
 * (`prev`, 64 zeros for the first) and its own hash:
 *
 *   hash = sha256(canonicalJson({ chain: node, prev, record, seq }))
 *
 * where `record` is the AuditRecordV1 object and canonicalJson sorts keys at every level. The
 * chain's head (last seq and hash) is kept in `audit_chains`, so removing the newest records is
 * detectable too. Editing a record, deleting one or swapping two breaks a hash or a link.
 */
export const GENESIS = "0".repeat(64);

export function recordHash(node: string, seq: number, prev: string, recordJson: string): string {
  // canonicalJson of the envelope with the record already canonical: keys in order chain, prev, record, seq.
  return sha256(`{"chain":${JSON.stringify(node)},"prev":"${prev}","record":${recordJson},"seq":${seq}}`);
}

/** Builds the stored rows for records appended after `head`. */
export function chainRecords(
  node: string,
  head: ChainHead | null,
  records: readonly AuditRecord[],
): StoredAuditRow[] {
  let seq = head?.seq ?? 0;
  let prev = head?.hash ?? GENESIS;
  const rows: StoredAuditRow[] = [];
  for (const record of records) {
    seq++;
    const json = canonicalJson(record);
    const hash = recordHash(node, seq, prev, json);
    rows.push({
      node,
      seq,
      prev,
      hash,
      record: json,
      time: record.time,
      decisionId: record.decision_id,
      org: record.org,
      user: record.user,
      model: record.requested_model,
      decision: record.decision,
      status: record.status,
    });
    prev = hash;
  }
  return rows;
}

export interface ChainReport {
  node: string;
  records: number;
  ok: boolean;
  /** The first broken record and why. */
  broken?: { seq: number; decisionId?: string; reason: string };
}

export interface VerifyReport {
  ok: boolean;
  records: number;
  chains: ChainReport[];
}

/** Recomputes every chain from its first record; stops each chain at its first break. */
export async function verifyAudit(
  store: Store,
  onProgress?: (checked: number) => void,
  pageSize = 5000,
): Promise<VerifyReport> {
  const heads = new Map((await store.chainHeads()).map((h) => [h.node, h]));
  const nodes = [...new Set([...heads.keys(), ...(await store.chainNodes())])].sort();
  const chains: ChainReport[] = [];
  let total = 0;
  for (const node of nodes) {
    const report = await verifyChain(store, node, heads.get(node) ?? null, pageSize, (n) =>
      onProgress?.(total + n),
    );
    total += report.records;
    chains.push(report);
  }
  return { ok: chains.every((c) => c.ok), records: total, chains };
}

async function verifyChain(
  store: Store,
  node: string,
  head: ChainHead | null,
  pageSize: number,
  onProgress: (n: number) => void,
): Promise<ChainReport> {
  let seq = 0;
  let prev = GENESIS;
  let count = 0;
  const fail = (at: number, reason: string, decisionId?: string): ChainReport => ({
    node,
    records: count,
    ok: false,
    broken: { seq: at, reason, ...(decisionId ? { decisionId } : {}) },
  });
  if (!head) return fail(1, "the chain has records but no recorded head (its head row was removed)");
  for (;;) {
    const page = await store.chainPage(node, seq, pageSize);
    for (const row of page) {
      const expected = seq + 1;
      if (row.seq !== expected) {
        return fail(
          expected,
          `record ${expected} is missing (next stored is ${row.seq}): records were removed`,
        );
      }
      if (row.prev !== prev) {
        return fail(
          row.seq,
          "its previous-hash does not match the record before it: records were removed or reordered",
          row.decisionId,
        );
      }
      if (recordHash(node, row.seq, row.prev, row.record) !== row.hash) {
        return fail(row.seq, "its hash does not match its content: the record was edited", row.decisionId);
      }
      const mismatch = columnMismatch(row);
      if (mismatch)
        return fail(
          row.seq,
          `column \`${mismatch}\` differs from the hashed record: it was edited`,
          row.decisionId,
        );
      seq = row.seq;
      prev = row.hash;
      count++;
    }
    onProgress(count);
    if (page.length < pageSize) break;
  }
  if (seq !== head.seq || prev !== head.hash) {
    return seq < head.seq
      ? fail(
          seq + 1,
          `the head says ${head.seq} records but the chain ends at ${seq}: the newest records were removed`,
        )
      : fail(head.seq + 1, `records after the recorded head (${head.seq}) were added outside the writer`);
  }
  return { node, records: count, ok: true };
}

function columnMismatch(row: StoredAuditRow): string | undefined {
  let r: Partial<AuditRecordV1>;
  try {
    r = JSON.parse(row.record) as Partial<AuditRecordV1>;
  } catch {
    return "record";
  }
  if (r.time !== row.time) return "time";
  if (r.decision_id !== row.decisionId) return "decision_id";
  if ((r.org ?? null) !== row.org) return "org";
  if ((r.user ?? null) !== row.user) return "user_id";
  if ((r.requested_model ?? null) !== row.model) return "model";
  if (r.decision !== row.decision) return "decision";
  if (r.status !== row.status) return "status";
  return undefined;
}
