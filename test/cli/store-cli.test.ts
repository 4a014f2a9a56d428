import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditWriter, openStore } from "../../src/store/index.ts";
import { hashApiKey } from "../../src/store/keys.ts";
import { sqliteDatabase, type TestDatabase } from "../helpers/databases.ts";
import { decision, outcome } from "../store/conformance.ts";
import { clearanceAsync } from "./run.ts";

const clearance = clearanceAsync;

describe("clearance directory, keys and audit commands (sqlite file)", () => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await sqliteDatabase();
    dir = db.url.slice("sqlite:".length).replace(/clearance\.db$/, "");
  });
  afterAll(() => db.drop());

  it("directory import reports every bad row with its line and imports nothing; exit 2", async () => {
    const file = join(dir, "bad.csv");
    writeFileSync(
      file,
      [
        "type,id,country,verified,org,nationality,cohort,since",
        "org,acme,DE,true,,,,",
        "user,ana,,,acme,FR;XX,,",
        "cohort_member,,,,acme,,trusted-partners,someday",
        "user,bo,,,initech,US,,",
        "org,globex,US,maybe,,,,",
      ].join("\n"),
    );
    const r = await clearance("directory", "import", file, "--db", db.url);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      "bad.csv:3: `XX` in `user.nationality` is not an ISO 3166-1 alpha-2 country code",
    );
    expect(r.stderr).toMatch(/bad\.csv:4: `since` must be YYYY-MM-DD/);
    expect(r.stderr).toContain("bad.csv:5: unknown org `initech`");
    expect(r.stderr).toMatch(/bad\.csv:6: .*true or false/);
    expect(r.stderr).toMatch(/clearance: 4 bad rows in `.*bad\.csv`; nothing was imported\n$/);
    const store = await openStore(db.url);
    expect(await store.listOrgs()).toEqual([]);
    await store.close();
  });

  it("directory import of a good JSON Lines file stores orgs, users and members", async () => {
    const file = join(dir, "ok.jsonl");
    writeFileSync(
      file,
      [
        {
          type: "user",
          org: "acme",
          id: "ana",
          nationality: ["fr"],
          permanent_residency: [],
          residence: "DE",
        },
        {
          type: "org",
          id: "acme",
          name: "Acme",
          country: "DE",
          verified: true,
          fallback: true,
          requests_per_minute: 600,
        },
        { type: "cohort_member", cohort: "trusted-partners", org: "acme", since: "2026-06-26" },
      ]
        .map((o) => JSON.stringify(o))
        .join("\n"),
    );
    const r = await clearance("directory", "import", file, "--db", db.url);
    expect(r).toMatchObject({
      code: 0,
      stdout: expect.stringContaining("imported 1 orgs, 1 users, 1 cohort members"),
    });
    const store = await openStore(db.url);
    expect(await store.getOrg("acme")).toMatchObject({
      country: "DE",
      verified: true,
      cohorts: ["trusted-partners"],
      settings: { fallback: true, requestsPerMinute: 600 },
    });
    expect(await store.getUser("acme", "ana")).toEqual({
      orgId: "acme",
      id: "ana",
      nationality: ["FR"],
      permanentResidency: [],
      residence: "DE",
    });
    await store.close();
  });

  it("keys create prints the key once, stores only its hash; list and revoke", async () => {
    const created = await clearance("keys", "create", "--org", "acme", "--name", "ci", "--db", db.url);
    expect(created.code).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^clr_[A-Za-z0-9_-]{32}$/);
    const store = await openStore(db.url);
    const stored = await store.findKeyByHash(hashApiKey(key));
    expect(stored).toMatchObject({ orgId: "acme", name: "ci", prefix: key.slice(0, 12), revokedAt: null });
    const list = await clearance("keys", "list", "--org", "acme", "--db", db.url);
    expect(list.stdout).toContain(stored!.id);
    expect(list.stdout).not.toContain(key);
    const revoked = await clearance("keys", "revoke", "--org", "acme", stored!.id, "--db", db.url);
    expect(revoked.code).toBe(0);
    expect((await store.findKeyByHash(hashApiKey(key)))?.revokedAt).not.toBeNull();
    await store.close();
    const unknown = await clearance("keys", "create", "--org", "nobody", "--db", db.url);
    expect(unknown).toMatchObject({
      code: 2,
      stderr: "clearance: STORE_NOT_FOUND: no organisation `nobody`\n",
    });
  });

  it("audit query, export and verify; verify exits 1 naming the first broken record", async () => {
    const store = await openStore(db.url);
    const w = await AuditWriter.start(store, { node: "gw-1" });
    await Promise.all(Array.from({ length: 20 }, (_, i) => w.open(decision(i)).commit(outcome)));
    await w.close();
    await store.close();

    const q = await clearance("audit", "query", "--org", "acme", "--decision", "deny", "--db", db.url);
    expect(q.code).toBe(0);
    expect(
      q.stdout
        .trim()
        .split("\n")
        .map((l) => l.split(/\s+/).at(-1)),
    ).toEqual(["d-0", "d-10"]);
    const json = await clearance(
      "audit",
      "query",
      "--model",
      "claude-mythos-5",
      "--limit",
      "2",
      "--json",
      "--db",
      db.url,
    );
    expect(
      json.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).decision_id),
    ).toEqual(["d-0", "d-4"]);

    const csv = await clearance(
      "audit",
      "export",
      "--from",
      "2026-07-01T12:00:05Z",
      "--to",
      "2026-07-01T12:00:08Z",
      "--format",
      "csv",
      "--db",
      db.url,
    );
    const lines = csv.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^time,decision_id,chain,seq,/);
    expect(lines).toHaveLength(4);
    const jsonl = await clearance("audit", "export", "--format", "jsonl", "--db", db.url);
    expect(jsonl.stdout.trim().split("\n")).toHaveLength(20);
    expect(JSON.parse(jsonl.stdout.split("\n")[0]!)).toMatchObject({
      v: 1,
      chain: "gw-1",
      seq: expect.any(Number),
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect((await clearance("audit", "export", "--format", "xml", "--db", db.url)).code).toBe(2);

    expect(await clearance("audit", "verify", "--db", db.url)).toMatchObject({
      code: 0,
      stdout: expect.stringContaining("ok: 20 records verified"),
    });
    await db.exec(
      "UPDATE audit_log SET record = replace(record, '\"status\":200', '\"status\":201') WHERE seq = 7",
    );
    const broken = await clearance("audit", "verify", "--db", db.url);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(
      /chain `gw-1`: BROKEN at record 7 \(decision `d-\d+`\): its hash does not match its content/,
    );
  });

  it("bad input is one line and exit 2", async () => {
    expect(await clearance("audit", "verify", "--db", "mysql://x")).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^clearance: STORE_BAD_URL: unknown store URL `mysql:\/\/x`.*\n$/),
    });
    expect(await clearance("audit", "query", "--from", "yesterday", "--db", db.url)).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^clearance: STORE_INVALID: `from` must be YYYY-MM-DD/),
    });
    expect((await clearance("directory", "import", join(dir, "missing.csv"), "--db", db.url)).stderr).toBe(
      `clearance: cannot read \`${join(dir, "missing.csv")}\`: no such file\n`,
    );
  });
});
