import type { Notice, Store } from "../store/index.ts";

/**
 * For the gateway: `x-clearance-notice` values per org from the store's active notices, kept in
 * memory and refreshed every `refreshMs`, so the lookup on the request path is synchronous.
 */
export class NoticeBoard {
  private notices: Notice[] = [];
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly store: Store,
    private readonly now: () => number,
  ) {}

  static async start(
    store: Store,
    options: { refreshMs?: number; now?: () => number } = {},
  ): Promise<NoticeBoard> {
    const board = new NoticeBoard(store, options.now ?? Date.now);
    await board.refresh();
    board.timer = setInterval(() => void board.refresh().catch(() => {}), options.refreshMs ?? 5000);
    board.timer.unref();
    return board;
  }

  async refresh(): Promise<void> {
    this.notices = await this.store.activeNotices(new Date(this.now()).toISOString());
  }

  /** The `x-clearance-notice` header value for an org at `now` (epoch ms), or undefined. */
  noticesFor(orgId: string, now: number): string | undefined {
    return noticeHeader(this.notices, orgId, now);
  }

  close(): void {
    clearInterval(this.timer);
  }
}

/** `ntc_…; models="fable-5"; effective="2026-08-01T00:00:00.000Z"; grace="P30D"`, comma-separated. */
export function noticeHeader(notices: readonly Notice[], orgId: string, now: number): string | undefined {
  const iso = new Date(now).toISOString();
  const mine = notices.filter((n) => n.orgId === orgId && n.effectiveAt > iso);
  if (mine.length === 0) return undefined;
  const q = (s: string) => `"${s.replace(/[^\x20-\x7e]|["\\]/g, "")}"`;
  return mine
    .map(
      (n) => `${n.id}; models=${q(n.models.join(","))}; effective=${q(n.effectiveAt)}; grace=${q(n.grace)}`,
    )
    .join(", ");
}
