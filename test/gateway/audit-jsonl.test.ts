import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { AuditDecisionV1, AuditEntry, AuditSink } from "../../src/store/audit-port.ts";
import { AuditUnavailableError } from "../../src/store/audit-port.ts";
import { JsonlAuditSink } from "../../src/store/jsonl-audit.ts";
import { type Harness, KEYS, startHarness } from "./harness.ts";

const decision = (id: string): AuditDecisionV1 => ({
  v: 1,
  time: "2026-10-01T12:00:00.000Z",
  decision_id: id,
  key_id: "k",
  org: "acme",
  user: null,
  request_country: null,
  source_ip: null,
  requested_model: "glm-5.2",
  decision: "allow",
  reasons: [],
  unknown: [],
  policy: "abc",
});
const outcome = {
  served_model: "glm-5.2",
  deployment: "d",
  upstream_status: 200,
  status: 200,
  added_latency_ms: 0.1,
};

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempFile = () => {
  const d = mkdtempSync(join(tmpdir(), "clearance-audit-"));
  dirs.push(d);
  return join(d, "sub", "audit.jsonl");
};

describe("JSONL audit sink", () => {
  it("writes one record a line, every commit durable when it resolves, bursts grouped", async () => {
    const file = tempFile();
    const sink = await JsonlAuditSink.open(file);
    const entries = Array.from({ length: 200 }, (_, i) => sink.open(decision(`d${i}`)));
    await Promise.all(entries.map((e) => e.commit(outcome)));
    const lines = readFileSync(file, "utf8").trim().split("\n");
    expect(lines).toHaveLength(200);
    expect(new Set(lines.map((l) => JSON.parse(l).decision_id)).size).toBe(200);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      v: 1,
      decision_id: "d0",
      status: 200,
      served_model: "glm-5.2",
    });
    await sink.close();
  });

  it("refuses new entries when its queue is full, and accepts again once it drains", async () => {
    const sink = await JsonlAuditSink.open(tempFile(), { maxPending: 2 });
    const a = sink.open(decision("a"));
    const b = sink.open(decision("b"));
    expect(sink.ready).toBe(false);
    expect(() => sink.open(decision("c"))).toThrow(AuditUnavailableError);
    await Promise.all([a.commit(outcome), b.commit(outcome)]);
    expect(sink.ready).toBe(true);
    await sink.open(decision("d")).commit(outcome);
    await sink.close();
    expect(() => sink.open(decision("e"))).toThrow(AuditUnavailableError);
  });
});

/** An audit sink that is down: the gateway must answer 503 and forward nothing. */
class DownSink implements AuditSink {
  ready = false;
  open(): AuditEntry {
    throw new AuditUnavailableError("down for the test");
  }
  async close() {}
}

describe("gateway without a working audit log", () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it("answers 503 for allowed and denied requests alike, forwards nothing, and is not ready", async () => {
    h = await startHarness({ start: { audit: new DownSink() } });
    for (const user of ["dana", "farid"]) {
      const res = await fetch(`${h.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${KEYS.acme}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "claude-mythos-5", user, messages: [] }),
      });
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("service_unavailable");
    }
    expect(Object.values(h.mocks).every((m) => m.received.length === 0)).toBe(true);
    const ready = await fetch(`${h.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ checks: { policy: true, directory: true, audit: false } });
  });
});
