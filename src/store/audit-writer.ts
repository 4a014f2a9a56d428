import { canonicalJson } from "../policy/index.ts";
import { chainRecords } from "./audit-chain.ts";
import {
  type AuditDecisionV1,
  type AuditEntry,
  type AuditOutcome,
  type AuditRecordV1,
  type AuditSink,
  AuditUnavailableError,
} from "./audit-port.ts";
import { isStoreError } from "./errors.ts";
import type { ChainHead, Store } from "./types.ts";

export interface AuditWriterOptions {
  /** This gateway node's id: the name of the chain it writes. */
  node: string;
  /** Records opened but not yet committed, at most (default 10,000); beyond, open() throws. */
  maxQueue?: number;
  /** Records per transaction, at most (default 5,000). */
  maxBatch?: number;
  /** A commit that cannot be made durable within this many ms is rejected (default 5,000). */
  commitTimeoutMs?: number;
  /** First retry delay after a failed write, doubling up to maxRetryMs (defaults 50 and 1,000). */
  retryMs?: number;
  maxRetryMs?: number;
  /** Told when the sink goes down or comes back, with the reason: wire it to the log. */
  onStateChange?: (ready: boolean, reason: string) => void;
  now?: () => number;
}

export interface AuditWriterStats {
  committed: number;
  batches: number;
  largestBatch: number;
  failedWrites: number;
  rejected: number;
  queued: number;
  reserved: number;
}

interface Pending {
  record: AuditRecordV1;
  deadline: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * The audit sink over a Store, with group commit: commit() queues the record; one flush per event
 * loop turn writes everything queued in one transaction, chained onto this node's head, and then
 * resolves those commits. A failed write marks the sink down (open() throws), keeps the records
 * queued until their deadline, and retries with backoff; the first write or ping that succeeds
 * brings it back. After a failure the chain head and the batch are re-read from the store, so a
 * commit whose acknowledgement was lost is neither written twice nor forked.
 */
export class AuditWriter implements AuditSink {
  private readonly opts: Required<Omit<AuditWriterOptions, "onStateChange">> &
    Pick<AuditWriterOptions, "onStateChange">;
  private queue: Pending[] = [];
  private reservedCount = 0;
  private flushing = false;
  private scheduled = false;
  private down: string | undefined;
  private closed = false;
  private resync = false;
  private retryDelay: number;
  private retryTimer: NodeJS.Timeout | undefined;
  private drainWaiters: (() => void)[] = [];
  private readonly counters = { committed: 0, batches: 0, largestBatch: 0, failedWrites: 0, rejected: 0 };

  private constructor(
    private readonly store: Store,
    private head: ChainHead | null,
    options: AuditWriterOptions,
  ) {
    if (!options.node) throw new TypeError("audit writer needs a node id");
    this.opts = {
      node: options.node,
      maxQueue: options.maxQueue ?? 10_000,
      maxBatch: options.maxBatch ?? 5_000,
      commitTimeoutMs: options.commitTimeoutMs ?? 5_000,
      retryMs: options.retryMs ?? 50,
      maxRetryMs: options.maxRetryMs ?? 1_000,
      onStateChange: options.onStateChange,
      now: options.now ?? Date.now,
    };
    this.retryDelay = this.opts.retryMs;
  }

  /** Reads this node's chain head, then accepts records. Throws STORE_UNAVAILABLE if the store is down. */
  static async start(store: Store, options: AuditWriterOptions): Promise<AuditWriter> {
    return new AuditWriter(store, await store.chainHead(options.node), options);
  }

  get ready(): boolean {
    return !this.closed && this.down === undefined && this.reservedCount < this.opts.maxQueue;
  }

  get stats(): AuditWriterStats {
    return { ...this.counters, queued: this.queue.length, reserved: this.reservedCount };
  }

  open(decision: AuditDecisionV1): AuditEntry {
    if (this.closed) throw new AuditUnavailableError("the audit log is closed");
    if (this.down !== undefined)
      throw new AuditUnavailableError(`the audit store is unavailable: ${this.down}`);
    if (this.reservedCount >= this.opts.maxQueue) {
      throw new AuditUnavailableError(`the audit queue is full (${this.reservedCount} records waiting)`);
    }
    this.reservedCount++;
    let used = false;
    return {
      commit: (outcome: AuditOutcome) => {
        if (used) return Promise.reject(new Error("audit entry committed twice"));
        used = true;
        const record = toRecord(decision, outcome);
        return new Promise<void>((resolve, reject) => {
          this.queue.push({ record, deadline: this.opts.now() + this.opts.commitTimeoutMs, resolve, reject });
          this.schedule();
        });
      },
    };
  }

  /** Stops accepting records and waits until the queued ones are committed or have timed out. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.queue.length > 0 || this.flushing) await new Promise<void>((r) => this.drainWaiters.push(r));
    clearTimeout(this.retryTimer);
  }

  private schedule(): void {
    if (this.scheduled || this.flushing || this.down !== undefined || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.flushing || this.queue.length === 0) return;
    this.flushing = true;
    let batch = this.queue.splice(0, this.opts.maxBatch);
    // A write that hangs (a partitioned network) makes the sink not ready, so new requests get 503
    // at once rather than waiting on it; the outcome of the hanging write decides what follows.
    const watchdog = setTimeout(
      () => this.markDown(`the audit store has not answered for ${this.opts.commitTimeoutMs} ms`),
      this.opts.commitTimeoutMs,
    );
    watchdog.unref?.();
    try {
      if (this.resync) {
        this.head = await this.store.chainHead(this.opts.node);
        const stored = await this.store.findAuditRecords(batch.map((p) => p.record.decision_id));
        if (stored.size > 0) {
          const rest: Pending[] = [];
          for (const p of batch) {
            const json = stored.get(p.record.decision_id);
            if (json === undefined) rest.push(p);
            // Written by an attempt whose acknowledgement was lost: it is committed.
            else if (json === canonicalJson(p.record)) this.settle([p]);
            else
              this.refuse(
                p,
                `decision id \`${p.record.decision_id}\` is already in the audit log with another record`,
              );
          }
          batch = rest;
        }
        this.resync = false;
      }
      if (batch.length > 0) {
        const rows = chainRecords(
          this.opts.node,
          this.head,
          batch.map((p) => p.record),
        );
        await this.store.appendAudit(this.opts.node, this.head, rows);
        const last = rows[rows.length - 1]!;
        this.head = { node: this.opts.node, seq: last.seq, hash: last.hash };
        this.counters.batches++;
        this.counters.largestBatch = Math.max(this.counters.largestBatch, batch.length);
        this.settle(batch);
      }
      this.retryDelay = this.opts.retryMs;
      this.up();
    } catch (err) {
      this.counters.failedWrites++;
      this.resync = true;
      this.queue.unshift(...batch);
      this.expire();
      // A moved head (another writer with our node id) is retried at once after re-reading it.
      if (!isStoreError(err, "STORE_CONFLICT")) this.markDown((err as Error).message);
      this.scheduleRetry();
    } finally {
      clearTimeout(watchdog);
      this.flushing = false;
      this.schedule();
      this.checkDrained();
    }
  }

  private settle(done: readonly Pending[]): void {
    for (const p of done) {
      this.reservedCount--;
      this.counters.committed++;
      p.resolve();
    }
  }

  private refuse(p: Pending, reason: string): void {
    this.reservedCount--;
    this.counters.rejected++;
    p.reject(new AuditUnavailableError(reason));
  }

  /** Rejects queued records whose deadline has passed: their requests must not be answered 2xx. */
  private expire(): void {
    const now = this.opts.now();
    const keep: Pending[] = [];
    for (const p of this.queue) {
      if (p.deadline <= now) {
        this.reservedCount--;
        this.counters.rejected++;
        p.reject(
          new AuditUnavailableError(
            `audit record not committed within ${this.opts.commitTimeoutMs} ms: ${this.down ?? "store busy"}`,
          ),
        );
      } else keep.push(p);
    }
    this.queue = keep;
  }

  private markDown(reason: string): void {
    const first = this.down === undefined;
    this.down = reason;
    if (first) this.opts.onStateChange?.(false, reason);
  }

  private up(): void {
    if (this.down === undefined) return;
    this.down = undefined;
    this.opts.onStateChange?.(true, "audit store reachable again");
  }

  private scheduleRetry(): void {
    if (this.retryTimer) return;
    const delay = this.retryDelay;
    this.retryDelay = Math.min(this.retryDelay * 2, this.opts.maxRetryMs);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.recover();
    }, delay);
    this.retryTimer.unref?.();
  }

  private async recover(): Promise<void> {
    this.expire();
    this.checkDrained();
    if (this.queue.length > 0) return this.flush();
    if (this.down === undefined) return;
    try {
      await this.store.ping();
      this.head = await this.store.chainHead(this.opts.node);
      this.resync = false;
      this.retryDelay = this.opts.retryMs;
      this.up();
    } catch (err) {
      this.down = (err as Error).message;
      this.scheduleRetry();
    }
  }

  private checkDrained(): void {
    if (this.queue.length > 0 || this.flushing) return;
    for (const w of this.drainWaiters.splice(0)) w();
  }
}

/** Copies exactly the record's fields (nothing else, so no prompt or completion can slip in). */
function toRecord(d: AuditDecisionV1, o: AuditOutcome): AuditRecordV1 {
  const ms = Date.parse(d.time);
  return {
    v: 1,
    time: Number.isNaN(ms) ? d.time : new Date(ms).toISOString(),
    decision_id: d.decision_id,
    key_id: d.key_id ?? null,
    org: d.org ?? null,
    user: d.user ?? null,
    request_country: d.request_country ?? null,
    source_ip: d.source_ip ?? null,
    requested_model: d.requested_model ?? null,
    decision: d.decision,
    reasons: d.reasons,
    unknown: d.unknown,
    policy: d.policy ?? null,
    error_code: d.error_code ?? null,
    served_model: o.served_model ?? null,
    deployment: o.deployment ?? null,
    upstream_status: o.upstream_status ?? null,
    status: o.status,
    added_latency_ms: o.added_latency_ms,
  };
}
