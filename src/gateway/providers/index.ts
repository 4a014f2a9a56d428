import type { Surface } from "../errors.ts";
import { anthropicProvider } from "./anthropic.ts";
import { openaiProvider } from "./openai.ts";
import type { ProviderAdapter } from "./types.ts";

/** Providers by wire format. A surface forwards only to deployments that speak its format. */
export const PROVIDERS: Readonly<Record<Surface, ProviderAdapter>> = {
  openai: openaiProvider,
  anthropic: anthropicProvider,
};

export * from "./types.ts";
