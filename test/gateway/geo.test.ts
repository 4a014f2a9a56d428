import { afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  type ClientLocator,
  type CountryLookup,
  clientLocator,
  openCountryLookup,
} from "../../src/gateway/geo.ts";
import { type Harness, KEYS, startHarness } from "./harness.ts";

const POLICY = `
version: 1
models:
  us-only: { provider: openai, default: allow }
directives:
  - id: geo
    authority: Test Authority
    title: Served only to requests from the US
    source: test
    issued: 2026-01-01
    effective: 2026-01-01
    rules:
      - id: outside-us
        effect: deny
        models: [us-only]
        when: { request.country: { not_in: [US] } }
`;

let geo: CountryLookup;
beforeAll(async () => {
  geo = await openCountryLookup();
});

describe("IP → country from the embedded database", () => {
  it("knows public addresses, and gives no country for loopback and private ones", () => {
    expect(geo.country("8.8.8.8")).toBe("US");
    expect(geo.country("81.2.69.142")).toBe("GB");
    expect(geo.country("::ffff:193.170.0.1")).toBe("AT");
    for (const ip of ["127.0.0.1", "10.1.2.3", "192.168.1.1", "::1", "fd00::1", "not-an-ip"])
      expect(geo.country(ip)).toBeUndefined();
  });

  it("ignores forwarding headers from untrusted peers", () => {
    const locator: ClientLocator = clientLocator(geo, [], "x-country");
    expect(locator.locate("81.2.69.142", { "x-forwarded-for": "8.8.8.8", "x-country": "US" })).toEqual({
      ip: "81.2.69.142",
      country: "GB",
    });
  });

  it("takes the nearest untrusted hop from a trusted proxy, so a client-supplied prefix cannot spoof", () => {
    const locator = clientLocator(geo, ["127.0.0.1", "10.0.0.0/8"], undefined);
    // The client sent `X-Forwarded-For: 8.8.8.8`; our proxies appended the real address and their own.
    expect(locator.locate("127.0.0.1", { "x-forwarded-for": "8.8.8.8, 81.2.69.142, 10.0.0.5" })).toEqual({
      ip: "81.2.69.142",
      country: "GB",
    });
    expect(locator.locate("10.9.9.9", { "x-forwarded-for": "garbage" }).country).toBeUndefined();
  });
});

describe("request.country in decisions", () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });
  const call = (headers: Record<string, string>) =>
    fetch(`${h!.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEYS.acme}`, "content-type": "application/json", ...headers },
      body: JSON.stringify({ model: "us-only", messages: [] }),
    });
  const deployments = `
  us-only:
    - { provider: openai, base_url: "{openai-us}", region: us }`;

  it("a spoofed X-Forwarded-For or country header from an untrusted peer is ignored: loopback has no country, so deny", async () => {
    h = await startHarness({
      policyText: POLICY,
      mocks: { "openai-us": { kind: "openai" } },
      deployments,
      extra: "network: { country_header: x-country }",
    });
    const res = await call({ "x-forwarded-for": "8.8.8.8", "x-country": "US" });
    expect(res.status).toBe(403);
    const body = (await res.json()) as { error: { message: string } };
    expect(body.error.message).toContain("the country the request comes from");
    const record = h.audit().find((r) => r.decision_id === res.headers.get("x-clearance-decision-id"));
    expect(record).toMatchObject({ request_country: null, decision: "deny" });
  });

  it("behind a trusted proxy, X-Forwarded-For and the configured header decide the country", async () => {
    h = await startHarness({
      policyText: POLICY,
      mocks: { "openai-us": { kind: "openai" } },
      deployments,
      extra: "network: { trusted_proxies: [127.0.0.1/32], country_header: x-country }",
    });
    const us = await call({ "x-forwarded-for": "8.8.8.8" });
    expect(us.status).toBe(200);
    expect(h.audit().find((r) => r.decision_id === us.headers.get("x-clearance-decision-id"))).toMatchObject({
      request_country: "US",
      source_ip: "8.8.8.8",
    });
    expect((await call({ "x-forwarded-for": "81.2.69.142" })).status).toBe(403);
    expect((await call({ "x-country": "us" })).status).toBe(200);
    expect((await call({ "x-country": "ZZ" })).status).toBe(403);
  });
});
