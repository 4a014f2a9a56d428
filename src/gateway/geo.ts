import { createRequire } from "node:module";
import { BlockList, isIP } from "node:net";
import maxmind, { type Reader, type Response } from "maxmind";
import { normalizeFacts } from "../policy/index.ts";

/** IP → ISO country code, from the CC0 geo-whois-asn-country database shipped in an npm package. */
export interface CountryLookup {
  country(ip: string): string | undefined;
}

interface CountryRecord {
  country_code?: string;
}

export function defaultGeoDatabase(): string {
  return createRequire(import.meta.url).resolve(
    "@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb",
  );
}

/** Loopback, private, link-local, CGNAT and unique-local ranges: no country (unknown). */
const NON_PUBLIC = new BlockList();
for (const [net, bits] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.168.0.0", 16],
] as const)
  NON_PUBLIC.addSubnet(net, bits, "ipv4");
for (const [net, bits] of [
  ["::1", 128],
  ["::", 128],
  ["fc00::", 7],
  ["fe80::", 10],
] as const)
  NON_PUBLIC.addSubnet(net, bits, "ipv6");

/** `::ffff:1.2.3.4` → `1.2.3.4` */
export function normalizeIp(ip: string): string {
  return ip.startsWith("::ffff:") && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}

export function isPublicIp(ip: string): boolean {
  const family = isIP(ip);
  if (!family) return false;
  return !NON_PUBLIC.check(ip, family === 4 ? "ipv4" : "ipv6");
}

export async function openCountryLookup(file = defaultGeoDatabase()): Promise<CountryLookup> {
  const reader: Reader<Response> = await maxmind.open(file, { cache: { max: 10_000 } });
  return {
    country(raw: string) {
      const ip = normalizeIp(raw);
      if (!isPublicIp(ip)) return undefined;
      return asCountry((reader.get(ip) as CountryRecord | null)?.country_code);
    },
  };
}

/** A country code as the policy accepts it, or undefined (unknown) for anything else. */
export function asCountry(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const { facts } = normalizeFacts({ "request.country": value });
  const c = facts["request.country"];
  return typeof c === "string" ? c : undefined;
}

/** Peers whose forwarding headers are believed. */
export function trustedProxyList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const c of cidrs) {
    const [addr, bits] = c.split("/") as [string, string | undefined];
    const type = isIP(addr) === 6 ? "ipv6" : "ipv4";
    if (bits === undefined) list.addAddress(addr, type);
    else list.addSubnet(addr, Number(bits), type);
  }
  return list;
}

export interface ClientLocator {
  /** The client address and country for a request from `peer` with these headers. */
  locate(
    peer: string | undefined,
    headers: Record<string, string | string[] | undefined>,
  ): { ip: string | null; country: string | undefined };
}

/**
 * The request's country: from the peer address; or, only when the peer is a trusted proxy, from
 * the configured country header or the nearest untrusted address in X-Forwarded-For. Headers from
 * any other peer are ignored: a client cannot claim a country.
 */
export function clientLocator(
  lookup: CountryLookup,
  trusted: readonly string[],
  countryHeader: string | undefined,
): ClientLocator {
  const list = trustedProxyList(trusted);
  const isTrusted = (ip: string) => {
    const family = isIP(ip);
    return family !== 0 && trusted.length > 0 && list.check(ip, family === 6 ? "ipv6" : "ipv4");
  };
  // Direct clients: the answer depends on the address alone, and keep-alive connections repeat it.
  const cache = new Map<string, { ip: string; country: string | undefined }>();
  const lookupCached = (ip: string) => {
    let hit = cache.get(ip);
    if (!hit) {
      if (cache.size >= 10_000) cache.clear();
      hit = { ip, country: lookup.country(ip) };
      cache.set(ip, hit);
    }
    return hit;
  };
  return {
    locate(rawPeer, headers) {
      if (!rawPeer) return { ip: null, country: undefined };
      const peer = normalizeIp(rawPeer);
      if (!isTrusted(peer)) return lookupCached(peer);
      if (countryHeader) {
        const h = headers[countryHeader];
        const value = Array.isArray(h) ? h[0] : h;
        if (value) return { ip: peer, country: asCountry(value.trim()) };
      }
      const xff = headers["x-forwarded-for"];
      const hops = (Array.isArray(xff) ? xff.join(",") : (xff ?? ""))
        .split(",")
        .map((s) => normalizeIp(s.trim()))
        .filter(Boolean);
      // Walk from the nearest hop outwards, skipping our own proxies; the first other address is the client.
      for (let i = hops.length - 1; i >= 0; i--) {
        const hop = hops[i]!;
        if (!isIP(hop)) return { ip: peer, country: undefined };
        if (!isTrusted(hop)) return { ip: hop, country: lookup.country(hop) };
      }
      return { ip: hops[0] ?? peer, country: lookup.country(hops[0] ?? peer) };
    },
  };
}
