import { describe, expect, it } from "vitest";
import { canonicalJson, sha256 } from "../../src/policy/index.ts";
import { chainRecords, GENESIS, recordHash } from "../../src/store/index.ts";
import { decision, outcome } from "./conformance.ts";

describe("audit chain format (docs/store.md)", () => {
  it("hash = sha256(canonicalJson({ chain, prev, record, seq })), so anyone can re-verify an export", () => {
    const record = { ...decision(1), ...outcome };
    const [row] = chainRecords("gw-1", null, [record]);
    expect(row!.prev).toBe(GENESIS);
    expect(row!.hash).toBe(sha256(canonicalJson({ seq: 1, record, prev: GENESIS, chain: "gw-1" })));
    expect(row!.record).toBe(canonicalJson(record));
    expect(recordHash("gw-1", 1, GENESIS, row!.record)).toBe(row!.hash);
  });

  it("links each record to the one before and continues from a head", () => {
    const records = [1, 2, 3].map((i) => ({ ...decision(i), ...outcome }));
    const rows = chainRecords("n", null, records);
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(rows[1]!.prev).toBe(rows[0]!.hash);
    expect(rows[2]!.prev).toBe(rows[1]!.hash);
    const more = chainRecords("n", { node: "n", seq: 3, hash: rows[2]!.hash }, records.slice(0, 1));
    expect(more[0]).toMatchObject({ seq: 4, prev: rows[2]!.hash });
    // The same record in another chain or place hashes differently.
    expect(chainRecords("m", null, records.slice(0, 1))[0]!.hash).not.toBe(rows[0]!.hash);
  });
});
