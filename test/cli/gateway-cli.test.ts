import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { hashKey } from "../../src/directory/file.ts";
import { BIN, clearance, ROOT } from "./run.ts";

describe("clearance keygen", () => {
  it("prints a random key once, and a directory entry holding only its hash", () => {
    const a = clearance(["keygen", "--org", "acme", "--id", "key-1"]);
    const b = clearance(["keygen", "--org", "acme", "--id", "key-2"]);
    expect(a.code).toBe(0);
    const [key, ...rest] = a.stdout.split("\n");
    expect(key).toMatch(/^clr_[A-Za-z0-9_-]{32}$/);
    expect(b.stdout.split("\n")[0]).not.toBe(key);
    const [entry] = parse(rest.join("\n")) as { id: string; org: string; hash: string; prefix: string }[];
    expect(entry).toMatchObject({ id: "key-1", org: "acme", hash: hashKey(key!), prefix: key!.slice(0, 12) });
    expect(rest.join("\n")).not.toContain(key!.slice(12));
  });
});

describe("clearance serve", () => {
  it("refuses to start on a config with errors, located", () => {
    const dir = mkdtempSync(join(tmpdir(), "clearance-serve-"));
    const file = join(dir, "gw.yaml");
    writeFileSync(
      file,
      "policy: p.yaml\ndirectory: d.yaml\naudit: { file: a.jsonl }\ndeployments: {}\nlisten: { port: -1 }\n",
    );
    const r = clearance(["serve", "--config", file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}:5:17: error CONFIG_TYPE listen.port`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves, answers readyz, and stops cleanly on SIGTERM", async () => {
    const dir = mkdtempSync(join(tmpdir(), "clearance-serve-"));
    const file = join(dir, "gw.yaml");
    writeFileSync(
      file,
      `policy: ${ROOT}/examples/policies/us-2026-frontier.yaml
directory: ${ROOT}/examples/gateway/demo-directory.yaml
audit: { file: audit.jsonl }
listen: { port: 0 }
deployments:
  glm-5.2:
    - { provider: openai, base_url: "http://127.0.0.1:9/v1", region: eu }
`,
    );
    const child = spawn(process.execPath, [BIN, "serve", "--config", file], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const url = await new Promise<string>((resolve, reject) => {
      let err = "";
      child.stderr.on("data", (d: Buffer) => {
        err += d.toString();
        const m = /listening on (http:\/\/\S+)/.exec(err);
        if (m) resolve(m[1]!);
      });
      child.once("exit", () => reject(new Error(err)));
    });
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    const denied = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: "Bearer clr_demo_acme_us" },
      body: JSON.stringify({ model: "claude-mythos-5", user: "farid", messages: [] }),
    });
    expect(denied.status).toBe(403);
    const code = await new Promise<number | null>((resolve) => {
      child.once("exit", resolve);
      child.kill("SIGTERM");
    });
    expect(code).toBe(0);
    rmSync(dir, { recursive: true, force: true });
  });
});
