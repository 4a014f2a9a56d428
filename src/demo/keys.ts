/** The demo's public keys (their hashes are in examples/gateway/demo-directory.yaml). Demo only. */
export const DEMO_KEYS = [
  {
    key: "clr_demo_annex_a_partner",
    org: "org-a",
    about: "Annex A partner (DE); users alice (US), bruno (DE)",
  },
  {
    key: "clr_demo_acme_us",
    org: "acme",
    about: "not in Annex A (US); users carol (US), dana (FR+US), farid (IN)",
  },
  {
    key: "clr_demo_eu_public_body",
    org: "org-b",
    about: "EU public body (AT), Annex A, fallback on; user eva (AT)",
  },
  { key: "clr_demo_frontier_staff", org: "frontier-labs", about: "the provider itself; user kenji (JP)" },
  { key: "clr_demo_acme_revoked", org: "acme", about: "revoked: always 401" },
] as const;
