import { readFileSync } from "node:fs";
import { loadDirectoryFile } from "../../src/directory/file.ts";
import { publishPolicyText } from "../../src/gateway/store-policy.ts";
import { openStore, type Store, seedDirectory } from "../../src/store/index.ts";

export const EXAMPLE_POLICY = "examples/policies/us-2026-frontier.yaml";

/** Seeds a store with the demo directory (as `npm start` does on first start). */
export async function seedDemoDirectory(store: Store): Promise<void> {
  await seedDirectory(store, (await loadDirectoryFile("examples/gateway/demo-directory.yaml")).entries());
}

/** Opens the store at `url`, seeds the demo directory and publishes the example policy as version 1. */
export async function demoStore(url: string): Promise<{ store: Store; policy: string }> {
  const store = await openStore(url);
  await seedDemoDirectory(store);
  const policy = readFileSync(EXAMPLE_POLICY, "utf8");
  await publishPolicyText(store, policy, "us-2026-frontier.yaml", "test");
  return { store, policy };
}
