import { randomBytes } from "node:crypto";
import type { Command } from "commander";
import { stringify } from "yaml";
import { hashKey } from "../directory/file.ts";
import { loadConfigFile } from "../gateway/config.ts";
import { startGateway } from "../gateway/start.ts";
import { CliFailure } from "./io.ts";

/** Runs until SIGINT/SIGTERM, then closes cleanly (in-flight requests finish). */
function untilSignal(close: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      close().then(resolve, resolve);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}

async function orFail<T>(what: string, p: Promise<T> | (() => T)): Promise<T> {
  try {
    return await (typeof p === "function" ? p() : p);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === "EADDRINUSE")
      throw new CliFailure(`${what}: the address is already in use (${e.message})`);
    throw new CliFailure(`${what}: ${e.message}`);
  }
}

export function registerGatewayCommands(program: Command): void {
  program
    .command("serve")
    .description("run the gateway: OpenAI and Anthropic APIs that enforce the policy on every request")
    .requiredOption("--config <file>", "gateway configuration (YAML or JSON; see docs/gateway.md)")
    .option("--port <port>", "listen on this port instead of the configured one", (v) =>
      Number.parseInt(v, 10),
    )
    .action(async (opts: { config: string; port?: number }) => {
      const config = await orFail("cannot start", () => loadConfigFile(opts.config));
      const gw = await orFail(
        "cannot start",
        startGateway(config, opts.port === undefined ? {} : { port: opts.port }),
      );
      process.stderr.write(
        `clearance: gateway listening on ${gw.url} (policy ${gw.runtime.policy?.hash.slice(0, 12)})\n`,
      );
      await untilSignal(() => gw.close());
    });

  program
    .command("demo")
    .description("run the gateway on the example policy with a demo directory and mock upstreams, offline")
    .option("--port <port>", "gateway port", (v) => Number.parseInt(v, 10), Number(process.env.PORT ?? 8787))
    .action(async (opts: { port: number }) => {
      const { startDemo } = await import("../demo/demo.ts");
      const { DEMO_KEYS } = await import("../demo/keys.ts");
      const demo = await orFail("cannot start the demo", startDemo({ port: opts.port }));
      const url = demo.gateway.url;
      const out = [
        "",
        `Clearance demo gateway: ${url}   (OpenAI base URL ${url}/v1, Anthropic base URL ${url})`,
        "Policy: the latest version published in the store (version 1: examples/policies/us-2026-frontier.yaml); publish with the admin API or `clearance publish FILE --db sqlite:data/demo.db`: in force within a second",
        "Store: sqlite:data/demo.db (directory seeded from examples/gateway/demo-directory.yaml on first start; keys: clearance keys create|list|revoke --db sqlite:data/demo.db)",
        "Mock upstreams: " + demo.mocks.map((m) => `${m.options.name} ${m.url}`).join(", "),
        "Audit log: in the store, chain `demo` (clearance audit verify --db sqlite:data/demo.db)",
        "",
        "Demo keys (public, demo only):",
        ...DEMO_KEYS.map((k) => `  ${k.key.padEnd(26)} ${k.org.padEnd(14)} ${k.about}`),
        "",
        "Try:",
        `  curl -s ${url}/v1/chat/completions -H 'authorization: Bearer clr_demo_acme_us' \\`,
        `    -d '{"model":"claude-mythos-5","user":"farid","messages":[{"role":"user","content":"hi"}]}'`,
        `  curl -s ${url}/v1/chat/completions -H 'authorization: Bearer clr_demo_acme_us' \\`,
        `    -d '{"model":"claude-mythos-5","user":"dana","messages":[{"role":"user","content":"hi"}]}'`,
        `  curl -s ${url}/v1/models -H 'authorization: Bearer clr_demo_eu_public_body' -H 'x-clearance-user: eva'`,
        "",
        `Admin API: ${demo.gateway.admin?.url}   (OpenAPI: ${demo.gateway.admin?.url}/openapi.json; docs/admin.md)`,
        "Admin tokens for this run (shown once):",
        ...demo.adminTokens.map((t) => `  ${t.token}  ${t.name}`),
        `  curl -s ${demo.gateway.admin?.url}/policy/versions -H 'authorization: Bearer ${demo.adminTokens[0]?.token}'`,
        "",
        "Ctrl-C to stop.",
        "",
      ];
      process.stdout.write(out.join("\n"));
      await untilSignal(() => demo.close());
    });

  program
    .command("keygen")
    .description(
      "create a random gateway API key: prints the key once, and the directory entry holding only its hash",
    )
    .requiredOption("--org <id>", "organisation the key belongs to")
    .requiredOption("--id <id>", "key id (for listings and the audit log)")
    .option("--name <name>", "a label")
    .action((opts: { org: string; id: string; name?: string }) => {
      const key = `clr_${randomBytes(24).toString("base64url")}`;
      const entry = {
        id: opts.id,
        org: opts.org,
        prefix: key.slice(0, 12),
        hash: hashKey(key),
        ...(opts.name ? { name: opts.name } : {}),
        created: new Date().toISOString(),
      };
      process.stderr.write(
        "The key is shown once; store it now. Add the entry below under `keys:` in the directory.\n",
      );
      process.stdout.write(`${key}\n\n${stringify([entry])}`);
    });
}
