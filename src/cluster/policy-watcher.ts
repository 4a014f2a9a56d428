import type { PolicyVersion, Store } from "../store/index.ts";

export interface PolicyWatcherOptions {
  /**
   * Re-check the latest version this often even without a notification, so a missed one heals
   * (default 5,000 ms with LISTEN/NOTIFY on PostgreSQL; 1,000 ms polling on SQLite).
   */
  intervalMs?: number;
  /** Told about a lost LISTEN connection or a failed check; the watcher keeps trying. */
  onError?: (err: Error) => void;
}

/**
 * Follows the published policy versions so every gateway node enforces the newest one: on
 * PostgreSQL it LISTENs for the NOTIFY sent in the publishing transaction and also re-checks
 * periodically (re-subscribing when the LISTEN connection was lost); on SQLite it polls.
 * Callbacks get each newer version once, in order of discovery.
 */
export class PolicyWatcher {
  private latest: PolicyVersion | undefined;
  private readonly callbacks = new Set<(version: PolicyVersion) => void>();
  private unsubscribe: (() => Promise<void>) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private again = false;
  private closed = false;

  private constructor(
    private readonly store: Store,
    private readonly options: PolicyWatcherOptions,
  ) {}

  /** Reads the latest version, subscribes where the store can notify, and starts the re-check timer. */
  static async start(store: Store, options: PolicyWatcherOptions = {}): Promise<PolicyWatcher> {
    const watcher = new PolicyWatcher(store, options);
    watcher.latest = await store.latestPolicy();
    await watcher.subscribe();
    const interval = options.intervalMs ?? (store.subscribePolicyPublished ? 5_000 : 1_000);
    watcher.timer = setInterval(() => {
      if (!watcher.unsubscribe) void watcher.subscribe();
      void watcher.check();
    }, interval);
    watcher.timer.unref?.();
    return watcher;
  }

  /** The newest version seen so far (undefined until one is published). */
  get current(): PolicyVersion | undefined {
    return this.latest;
  }

  /** Calls cb with every newer version from now on; returns a function that stops it. */
  onChange(cb: (version: PolicyVersion) => void): () => void {
    this.callbacks.add(cb);
    return () => this.callbacks.delete(cb);
  }

  /** Re-reads the latest version now (coalesced with a check already running). */
  check(): Promise<void> {
    if (this.checking) {
      this.again = true;
      return this.checking;
    }
    this.checking = (async () => {
      do {
        this.again = false;
        try {
          const latest = await this.store.latestPolicy();
          if (latest && !this.closed && latest.version > (this.latest?.version ?? 0)) {
            this.latest = latest;
            for (const cb of this.callbacks) cb(latest);
          }
        } catch (err) {
          this.options.onError?.(err as Error);
        }
      } while (this.again && !this.closed);
      this.checking = undefined;
    })();
    return this.checking;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    const unsubscribe = this.unsubscribe;
    this.unsubscribe = undefined;
    await unsubscribe?.();
    await this.checking;
  }

  private async subscribe(): Promise<void> {
    if (!this.store.subscribePolicyPublished || this.closed) return;
    try {
      this.unsubscribe = await this.store.subscribePolicyPublished(
        () => void this.check(),
        (err) => {
          // Lost: drop it; the next tick re-subscribes and re-checks, healing what was missed.
          const stale = this.unsubscribe;
          this.unsubscribe = undefined;
          void stale?.();
          this.options.onError?.(err);
        },
      );
      // A version published while we were not listening is picked up now.
      void this.check();
    } catch (err) {
      this.options.onError?.(err as Error);
    }
  }
}
