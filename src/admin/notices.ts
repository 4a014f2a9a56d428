import { createHmac } from "node:crypto";
import type { CompiledPolicy } from "../policy/index.ts";
import type { Notice, Store, StoreOps } from "../store/index.ts";
import { newId } from "./context.ts";
import type { ImpactSummary } from "./impact-service.ts";
import { graceOf } from "./policies.ts";

/**
 * Notices: when a published change takes access away, each affected org gets one notice, stored
 * in the publishing transaction and then delivered to the org's webhook (JSON, HMAC-SHA256
 * signature, idempotency key, retries with exponential backoff, every attempt logged). Until the
 * change is in force the gateway adds `x-clearance-notice` to the org's responses (NoticeBoard).
 */
export interface NoticeInput {
  summary: ImpactSummary;
  before: CompiledPolicy;
  after: CompiledPolicy;
  policyVersion: number;
  draftId: string | null;
  directives: readonly string[];
  publishedAt: number;
  effectiveAt: number;
}

export async function createNotices(tx: StoreOps, input: NoticeInput): Promise<Notice[]> {
  const notices: Notice[] = [];
  for (const [orgId, models] of Object.entries(input.summary.losses)) {
    const responsible = new Set<string>();
    for (const e of input.summary.entries) {
      if (e.change !== "loss" || !e.orgs.includes(orgId)) continue;
      for (const r of [...e.because.added, ...e.because.removed])
        if (r.directive) responsible.add(r.directive);
    }
    const directives = [...responsible].filter((d) => input.directives.includes(d));
    const cause = directives.length > 0 ? directives : [...input.directives];
    const grace = graceOf([input.after, input.before], cause);
    const id = newId("ntc");
    const effectiveAt = new Date(input.effectiveAt).toISOString();
    const payload = {
      type: "clearance.access_notice",
      notice_id: id,
      org: orgId,
      change: "loss",
      models,
      directives: cause.map((d) => {
        const info = input.after.directives.get(d) ?? input.before.directives.get(d);
        return {
          id: d,
          authority: info?.authority ?? null,
          title: info?.title ?? null,
          source: info?.source ?? null,
        };
      }),
      policy_version: input.policyVersion,
      published_at: new Date(input.publishedAt).toISOString(),
      effective_at: effectiveAt,
      grace,
      message: `access to ${models.join(", ")} ends ${grace === "immediate" ? "immediately" : `at ${effectiveAt} (notice ${grace})`}`,
    };
    const notice: Notice = {
      id,
      orgId,
      policyVersion: input.policyVersion,
      draftId: input.draftId,
      directives: cause,
      models,
      effectiveAt,
      grace,
      createdAt: new Date(input.publishedAt).toISOString(),
      payload: JSON.stringify(payload),
      state: "pending",
      attempts: 0,
    };
    await tx.createNotice(notice);
    notices.push(notice);
  }
  return notices;
}

/** `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` */
export function signWebhook(secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac("sha256", secret).update(`${unixSeconds}.${body}`).digest("hex");
  return `t=${unixSeconds},v1=${mac}`;
}

/** Checks a signature header as a receiver would (constant-time compare left to the receiver). */
export function verifyWebhook(secret: string, body: string, header: string): boolean {
  const t = /(?:^|,)t=(\d+)/.exec(header)?.[1];
  return t !== undefined && signWebhook(secret, body, Number(t)) === header;
}

export interface WebhookOptions {
  /** The signing secret for orgs without `settings.webhookSecret`. */
  secret?: string;
  /** Attempts per notice, the first included (default 6). */
  maxAttempts?: number;
  /** Delay before the 2nd attempt; doubles each time up to maxDelayMs (defaults 1 s, 5 min). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Per-attempt timeout (default 10 s). */
  timeoutMs?: number;
}

export class NoticeDispatcher {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly active = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;
  private readonly opts: Required<Omit<WebhookOptions, "secret">> & { secret?: string };

  constructor(
    private readonly store: Store,
    private readonly now: () => number,
    options: WebhookOptions = {},
    private readonly log: (message: string) => void = () => {},
  ) {
    this.opts = {
      maxAttempts: options.maxAttempts ?? 6,
      baseDelayMs: options.baseDelayMs ?? 1000,
      maxDelayMs: options.maxDelayMs ?? 300_000,
      timeoutMs: options.timeoutMs ?? 10_000,
      ...(options.secret !== undefined ? { secret: options.secret } : {}),
    };
  }

  /** Starts delivering every pending notice not already being delivered (after publication, at start). */
  kick(): void {
    if (this.closed) return;
    this.track(
      (async () => {
        for (const n of await this.store.listNotices({ state: "pending" })) this.deliver(n, n.attempts + 1);
      })(),
    );
  }

  /** Resolves once no delivery is in flight or waiting for a retry. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.allSettled([...this.inFlight]);
  }

  private track(p: Promise<void>): void {
    const wrapped = p.catch((err) => this.log(`notice delivery: ${(err as Error).message}`));
    this.inFlight.add(wrapped);
    void wrapped.finally(() => this.inFlight.delete(wrapped));
  }

  private deliver(notice: Notice, attempt: number): void {
    if (this.closed || this.active.has(notice.id)) return;
    this.active.add(notice.id);
    this.track(this.attempt(notice, attempt));
  }

  private async attempt(notice: Notice, attempt: number): Promise<void> {
    const org = await this.store.getOrg(notice.orgId);
    const url = org?.settings?.webhookUrl;
    if (!url) {
      await this.store.setNoticeState(notice.id, "no_webhook", attempt - 1);
      this.active.delete(notice.id);
      return;
    }
    const secret = org?.settings?.webhookSecret ?? this.opts.secret;
    let status: number | null = null;
    let error: string | null = null;
    if (!secret) {
      error = "no signing secret: set the org's settings.webhookSecret or the admin API's webhook secret";
    } else {
      try {
        const body = notice.payload;
        const res = await fetch(url, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "idempotency-key": notice.id,
            "x-clearance-event": "access.notice",
            "x-clearance-delivery-attempt": String(attempt),
            "x-clearance-signature": signWebhook(secret, body, Math.floor(this.now() / 1000)),
          },
          body,
          signal: AbortSignal.timeout(this.opts.timeoutMs),
          redirect: "manual",
        });
        status = res.status;
        await res.body?.cancel();
        if (status < 200 || status >= 300) error = `receiver answered ${status}`;
      } catch (err) {
        error = `${(err as Error).name === "TimeoutError" ? "timed out" : (err as Error).message}`;
      }
    }
    const ok = error === null;
    await this.store.addWebhookDelivery({
      noticeId: notice.id,
      orgId: notice.orgId,
      url,
      attempt,
      at: new Date(this.now()).toISOString(),
      status,
      ok,
      error,
    });
    const last = !ok && (attempt >= this.opts.maxAttempts || !secret);
    await this.store.setNoticeState(notice.id, ok ? "delivered" : last ? "failed" : "pending", attempt);
    if (ok || last) {
      this.active.delete(notice.id);
      if (last)
        this.log(`notice ${notice.id} to ${notice.orgId}: gave up after ${attempt} attempts: ${error}`);
      return;
    }
    const delay = Math.min(this.opts.baseDelayMs * 2 ** (attempt - 1), this.opts.maxDelayMs);
    let release!: () => void;
    const waiting = new Promise<void>((r) => {
      release = r;
    });
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      release();
      if (!this.closed) this.track(this.attempt(notice, attempt + 1));
      else this.active.delete(notice.id);
    }, delay);
    this.timers.add(timer);
    this.track(waiting);
  }
}
