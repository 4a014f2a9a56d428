import { describe, expect, it } from "vitest";
import { FileDirectory, hashKey, parseDirectory } from "../../src/directory/file.ts";
import { factsFor } from "../../src/directory/types.ts";
import { parseConfig } from "../../src/gateway/config.ts";
import { FileInvalidError, formatFileDiagnostic } from "../../src/shared/located.ts";

const errorsOf = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    if (err instanceof FileInvalidError) return err.diagnostics.map(formatFileDiagnostic);
    throw err;
  }
  throw new Error("expected the file to be rejected");
};

describe("directory file", () => {
  it("loads the demo directory, keys by hash only, facts without defaults", async () => {
    const dir = await FileDirectory.open("examples/gateway/demo-directory.yaml");
    const key = await dir.findKeyByHash(hashKey("clr_demo_acme_us"));
    expect(key).toMatchObject({ id: "key-acme", orgId: "acme", revokedAt: null });
    expect((await dir.findKeyByHash(hashKey("clr_demo_acme_revoked")))?.revokedAt).toBeTruthy();
    const org = (await dir.getOrg("acme"))!;
    const user = await dir.getUser("acme", "dana");
    expect(factsFor(org, user, "dana")).toEqual({
      "org.id": "acme",
      "org.country": "US",
      "org.sector": "private",
      "org.verified": true,
      "user.id": "dana",
      "user.nationality": ["FR", "US"],
      "user.residence": "FR",
    });
    expect(await dir.getUser("org-a", "dana")).toBeUndefined();
  });

  it("reports every problem with file:line:column", () => {
    const text = [
      "orgs:",
      "  - { id: a, country: Germany }",
      "  - { id: a, colour: blue }",
      "users:",
      "  - { org: nobody, id: u, nationality: [XX] }",
      "keys:",
      "  - { id: k, org: a, prefix: p, hash: nothex, created: 2026-01-01 }",
    ].join("\n");
    const errors = errorsOf(() => parseDirectory(text, "dir.yaml"));
    expect(errors).toContain(
      "dir.yaml:3:14: error DIRECTORY_UNKNOWN_KEY orgs[1].colour: unknown key `colour`",
    );
    expect(errors).toContain(
      "dir.yaml:7:39: error DIRECTORY_TYPE keys[0].hash: expected the sha256 of the key as 64 lowercase hex digits",
    );
    const checked = errorsOf(() =>
      parseDirectory(text.replace(", colour: blue", "").replace("nothex", "a".repeat(64)), "dir.yaml"),
    );
    expect(checked).toEqual([
      "dir.yaml:2:23: error DIRECTORY_INVALID orgs[0].country: `Germany` is not an ISO 3166-1 alpha-2 country code",
      "dir.yaml:3:11: error DIRECTORY_INVALID orgs[1].id: duplicate org id `a`",
      "dir.yaml:5:12: error DIRECTORY_INVALID users[0].org: unknown org `nobody`",
      "dir.yaml:5:41: error DIRECTORY_INVALID users[0].nationality[0]: `XX` is not an ISO 3166-1 alpha-2 country code",
    ]);
  });
});

describe("gateway config", () => {
  const base = `policy: p.yaml
directory: d.yaml
audit: { file: a.jsonl }
deployments:
  glm-5.2:
    - { provider: openai, base_url: "https://example.test/v1", region: EU, api_key_env: GLM_KEY }
`;
  it("applies defaults, resolves paths against the config's folder, reads credentials from the environment", () => {
    const c = parseConfig(base, "/etc/clearance/gateway.yaml", { GLM_KEY: "secret" });
    expect(c).toMatchObject({
      host: "127.0.0.1",
      port: 8787,
      policyFile: "/etc/clearance/p.yaml",
      reload: true,
    });
    expect(c.deployments.get("glm-5.2")?.[0]).toMatchObject({
      id: "glm-5.2@eu#1",
      region: "eu",
      upstreamModel: "glm-5.2",
      apiKey: "secret",
      baseUrl: "https://example.test/v1",
    });
  });

  it("rejects a missing credential, a bad provider, a bad proxy range and unknown keys, each located", () => {
    const text = `${base.replace("provider: openai", "provider: azure")}network: { trusted_proxies: [10.0.0.0/33] }\nlisten: { prot: 1 }\n`;
    const errors = errorsOf(() => parseConfig(text, "gw.yaml", {}));
    expect(errors[0]).toBe(
      'gw.yaml:6:19: error CONFIG_TYPE deployments["glm-5.2"][0].provider: invalid option: expected one of "openai"|"anthropic"',
    );
    expect(errors).toContain("gw.yaml:8:11: error CONFIG_UNKNOWN_KEY listen.prot: unknown key `prot`");
    const checked = errorsOf(() =>
      parseConfig(base + "network: { trusted_proxies: [10.0.0.0/33] }\n", "gw.yaml", {}),
    );
    expect(checked).toEqual([
      'gw.yaml:6:89: error CONFIG_MISSING_CREDENTIAL deployments["glm-5.2"][0].api_key_env: environment variable `GLM_KEY` is not set',
      "gw.yaml:7:30: error CONFIG_BAD_ADDRESS network.trusted_proxies[0]: `10.0.0.0/33` is not an IP address or CIDR range",
    ]);
  });
});

describe("examples/gateway/gateway.yaml", () => {
  it("is a valid configuration once its credentials are in the environment", async () => {
    const { loadConfigFile } = await import("../../src/gateway/config.ts");
    const env = { ANTHROPIC_API_KEY: "a", ANTHROPIC_EU_API_KEY: "b", GLM_API_KEY: "c", OPENAI_API_KEY: "d" };
    const c = loadConfigFile("examples/gateway/gateway.yaml", env);
    expect([...c.deployments.keys()]).toEqual(["claude-mythos-5", "fable-5", "glm-5.2", "cyber-preview"]);
    expect(c.policyFile?.endsWith("examples/policies/us-2026-frontier.yaml")).toBe(true);
    expect(() => loadConfigFile("examples/gateway/gateway.yaml", {})).toThrow(
      /ANTHROPIC_API_KEY` is not set/,
    );
  });
});

describe("gateway error catalog", () => {
  it("documents every gateway error code in docs/gateway.md", async () => {
    const { readFileSync } = await import("node:fs");
    const { GATEWAY_ERRORS } = await import("../../src/gateway/errors.ts");
    const doc = readFileSync("docs/gateway.md", "utf8");
    // One table row per code (Biome pads the table's columns).
    const missing = Object.keys(GATEWAY_ERRORS).filter(
      (code) => !new RegExp(`^\\| \`${code}\` +\\|`, "m").test(doc),
    );
    expect(missing).toEqual([]);
  });
});
