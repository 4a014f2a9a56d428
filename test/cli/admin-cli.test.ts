import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, verifyAudit } from "../../src/store/index.ts";
import { EXAMPLE, WITHDRAWAL } from "../admin/helpers.ts";
import { sqliteDatabase, type TestDatabase } from "../helpers/databases.ts";
import { BIN, clearanceAsync } from "./run.ts";

const clearance = clearanceAsync;

describe("clearance impact, history, report and admin commands", () => {
  let db: TestDatabase;
  let dir: string;
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  beforeAll(async () => {
    db = await sqliteDatabase();
    dir = db.url.slice("sqlite:".length).replace(/clearance\.db$/, "");
    file("old.yaml", EXAMPLE);
    file("new.yaml", WITHDRAWAL);
  });
  afterAll(() => db.drop());

  it("impact --directory FILE: who loses what, and why; --json is the API's summary", async () => {
    const directory = file(
      "dir.yaml",
      `orgs:
  - { id: acme, country: US, sector: private, verified: true }
  - { id: org-a, country: FR, verified: true }
users:
  - { org: acme, id: ann, nationality: [US], permanent_residency: [], residence: US }
  - { org: acme, id: ben, nationality: [US], permanent_residency: [], residence: DE }
  - { org: org-a, id: amy, nationality: [FR], permanent_residency: [], residence: FR }
`,
    );
    const old = join(dir, "old.yaml");
    const next = join(dir, "new.yaml");
    const human = await clearance("impact", "--from", old, "--to", next, "--directory", directory);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain("at 2026-08-01T00:00:00.000Z");
    expect(human.stdout).toMatch(
      /LOSS fable-5: 1 principal in 1 org \(allow → deny\) because \+deny us-2026-08-01\/fable-outside-us/,
    );
    expect(human.stdout).toContain("  acme/ben");
    const json = await clearance(
      "impact",
      "--from",
      old,
      "--to",
      next,
      "--directory",
      directory,
      "--json",
      "--at",
      "2026-09-01",
    );
    expect(JSON.parse(json.stdout)).toMatchObject({
      at: "2026-09-01T00:00:00.000Z",
      principals: 3,
      losses: { acme: ["fable-5"] },
    });
  });

  it("impact refuses a bad directory file with every error located; exit 2", async () => {
    const bad = file(
      "bad.yaml",
      "orgs:\n  - { id: acme, country: Germany }\nusers:\n  - { org: nope, id: ann }\n",
    );
    const res = await clearance(
      "impact",
      "--from",
      join(dir, "old.yaml"),
      "--to",
      join(dir, "new.yaml"),
      "--directory",
      bad,
    );
    expect(res.code).toBe(2);
    expect(res.stderr.split("\n").slice(0, 3)).toEqual([
      expect.stringMatching(
        /bad\.yaml:2:\d+: error DIRECTORY_\w+ orgs\[0\]\.country: `Germany` is not an ISO 3166-1 alpha-2/,
      ),
      expect.stringMatching(/bad\.yaml:4:\d+: error DIRECTORY_\w+ users\[0\]\.org: unknown org `nope`/),
      expect.stringMatching(/clearance: `.*bad\.yaml` is not a valid directory file \(2 errors\)/),
    ]);
  });

  it("admin serve, token create, impact --db, history and report cohort work on one store", async () => {
    const created = await clearance(
      "admin",
      "token",
      "create",
      "--name",
      "ada",
      "--role",
      "admin",
      "--db",
      db.url,
    );
    expect(created.code).toBe(0);
    const adminToken = created.stdout.trim();
    expect(adminToken).toMatch(/^cla_/);
    const tokens: Record<string, string> = { admin: adminToken };
    for (const [name, role] of [
      ["eddie", "editor"],
      ["april", "approver"],
      ["aude", "auditor"],
    ] as const)
      tokens[role] = (
        await clearance("admin", "token", "create", "--name", name, "--role", role, "--db", db.url)
      ).stdout.trim();
    expect(
      (await clearance("admin", "token", "create", "--name", "x", "--role", "root", "--db", db.url)).stderr,
    ).toMatch(/unknown role `root`/);

    const server = spawn(
      process.execPath,
      [BIN, "admin", "serve", "--db", db.url, "--listen", "127.0.0.1:0"],
      {
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    try {
      const base = await new Promise<string>((resolve, reject) => {
        let err = "";
        server.stderr.on("data", (c) => {
          err += c;
          const m = /admin API on (http:\/\/127\.0\.0\.1:\d+)/.exec(err);
          if (m) resolve(m[1]!);
        });
        server.on("exit", () => reject(new Error(`server exited: ${err}`)));
      });
      const call = async (method: string, path: string, token: string, body?: unknown) => {
        const res = await fetch(`${base}/admin/v1${path}`, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            ...(body ? { "content-type": "application/json" } : {}),
          },
          ...(body ? { body: JSON.stringify(body) } : {}),
        });
        return { status: res.status, json: (await res.json()) as Record<string, unknown> };
      };
      expect((await fetch(`${base}/admin/v1/openapi.json`)).status).toBe(200);
      await call("PUT", "/orgs/acme", tokens.admin!, { country: "US" });
      await call("PUT", "/orgs/acme/users/ben", tokens.admin!, {
        nationality: ["US"],
        permanent_residency: [],
        residence: "DE",
      });
      const d = await call("POST", "/drafts", tokens.editor!, { title: "v1", document: EXAMPLE });
      const id = d.json.id as string;
      expect((await call("POST", `/drafts/${id}/validate`, tokens.editor!)).status).toBe(200);
      expect((await call("POST", `/drafts/${id}/impact`, tokens.editor!)).status).toBe(200);
      expect((await call("POST", `/drafts/${id}/approve`, tokens.approver!)).status).toBe(200);
      expect((await call("POST", `/drafts/${id}/publish`, tokens.approver!)).json.version).toBe(1);
    } finally {
      server.kill("SIGTERM");
      await new Promise((r) => server.once("exit", r));
    }

    const impact = await clearance(
      "impact",
      "--from",
      join(dir, "old.yaml"),
      "--to",
      join(dir, "new.yaml"),
      "--db",
      db.url,
      "--json",
    );
    expect(JSON.parse(impact.stdout).losses).toEqual({ acme: ["fable-5"] });

    const history = await clearance("history", "us-2026-06-12", "--db", db.url);
    expect(history.code).toBe(0);
    expect(history.stdout.trim().split("\n")).toEqual([
      expect.stringMatching(/eddie \(editor\) wrote draft `drf_\w+` “v1”$/),
      expect.stringMatching(
        /eddie \(editor\) validated draft `drf_\w+`: valid; changes `cyber-preview-2026`, `eu-2026-hosting`, `us-2026-06-12`, `us-2026-06-26`$/,
      ),
      expect.stringMatching(/eddie \(editor\) computed the impact of draft/),
      expect.stringMatching(/april \(approver\) approved draft/),
      expect.stringMatching(/april \(approver\) published draft `drf_\w+` as version 1/),
    ]);

    const html = await clearance(
      "report",
      "cohort",
      "--cohort",
      "annex-a",
      "--authority",
      "US Department of Commerce",
      "--format",
      "html",
      "--db",
      db.url,
    );
    expect(html.code).toBe(0);
    expect(html.stdout).toMatch(/<h1>Cohort participation report: annex-a<\/h1>/);
    const refused = await clearance(
      "report",
      "cohort",
      "--cohort",
      "annex-a",
      "--authority",
      "Elsewhere",
      "--db",
      db.url,
    );
    expect(refused).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^clearance: ADMIN_NOT_DISCLOSED: cohort `annex-a` is disclosed to/),
    });
    const matrix = await clearance("report", "matrix", "--at", "2026-07-01", "--db", db.url);
    expect(matrix.stdout).toContain("fable-5,FR,,deny,,deny:us-2026-06-12/foreign-persons");

    const store = await openStore(db.url);
    try {
      expect(await verifyAudit(store)).toMatchObject({ ok: true });
      expect((await store.chainHeads()).map((h) => h.node).sort()).toEqual(["admin", "admin-cli"]);
    } finally {
      await store.close();
    }
  });
});
