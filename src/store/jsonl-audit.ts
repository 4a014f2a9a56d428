import { constants, mkdirSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { dirname } from "node:path";
import {
  type AuditDecisionV1,
  type AuditEntry,
  type AuditOutcome,
  type AuditRecordV1,
  type AuditSink,
  AuditUnavailableError,
} from "./audit-port.ts";

export interface JsonlAuditOptions {
  /** Entries opened but not yet durable; beyond this open() refuses (the gateway answers 503). */
  maxPending?: number;
  /** Batches being written at once (default 4): a slow disk flush does not hold up the next batch. */
  maxInFlight?: number;
}

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * The store-less audit sink: one JSON record a line, appended to a file. Durable by group commit:
 * records that arrive while a synchronous write is in flight are written together by the next one,
 * so a burst costs one disk flush, and commit() resolves only after the flush covering its record.
 */
export class JsonlAuditSink implements AuditSink {
  private pending = 0;
  private batch: string[] = [];
  private waiters: Waiter[] = [];
  private inFlight = 0;
  private readonly maxInFlight: number;
  private failed: Error | undefined;
  private closed = false;
  private readonly maxPending: number;

  private constructor(
    readonly file: string,
    private readonly handle: FileHandle,
    options: JsonlAuditOptions,
    private readonly dsync: boolean,
  ) {
    this.maxPending = options.maxPending ?? 10_000;
    this.maxInFlight = options.maxInFlight ?? 4;
  }

  static async open(file: string, options: JsonlAuditOptions = {}): Promise<JsonlAuditSink> {
    mkdirSync(dirname(file), { recursive: true });
    // O_DSYNC makes each write durable by itself: one trip to the I/O thread pool per batch
    // instead of a write and then an fdatasync. Where the flag does not exist, fdatasync is used.
    const dsync = constants.O_DSYNC !== undefined;
    const flags =
      constants.O_APPEND | constants.O_CREAT | constants.O_WRONLY | (dsync ? constants.O_DSYNC : 0);
    const handle = await open(file, flags, 0o640);
    return new JsonlAuditSink(file, handle, options, dsync);
  }

  get ready(): boolean {
    return !this.closed && !this.failed && this.pending < this.maxPending;
  }

  open(decision: AuditDecisionV1): AuditEntry {
    if (this.closed) throw new AuditUnavailableError("the audit log is closed");
    if (this.failed)
      throw new AuditUnavailableError(`the audit log cannot be written: ${this.failed.message}`);
    if (this.pending >= this.maxPending) throw new AuditUnavailableError("the audit queue is full");
    this.pending++;
    let done = false;
    return {
      commit: (outcome: AuditOutcome) => {
        if (done) return Promise.reject(new Error("audit entry committed twice"));
        done = true;
        const record: AuditRecordV1 = { ...decision, ...outcome };
        return this.append(`${JSON.stringify(record)}\n`);
      },
    };
  }

  private append(line: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const settle = (err?: Error) => {
        this.pending--;
        if (err) reject(err);
        else resolve();
      };
      if (this.failed) {
        settle(new AuditUnavailableError(`the audit log cannot be written: ${this.failed.message}`));
        return;
      }
      this.batch.push(line);
      this.waiters.push({ resolve: () => settle(), reject: (e) => settle(e) });
      if (this.inFlight < this.maxInFlight) void this.flush();
    });
  }

  /**
   * Writes what has gathered, then whatever gathered meanwhile. Up to `maxInFlight` writes run at
   * once (each O_APPEND write lands whole; lines of concurrent batches may interleave by batch, so
   * the file is not strictly in time order — each record carries its time).
   */
  private async flush(): Promise<void> {
    this.inFlight++;
    while (this.batch.length > 0 && !this.failed) {
      const lines = this.batch;
      const waiters = this.waiters;
      this.batch = [];
      this.waiters = [];
      try {
        await this.handle.write(lines.length === 1 ? lines[0]! : lines.join(""));
        if (!this.dsync) await this.handle.datasync();
        for (const w of waiters) w.resolve();
      } catch (err) {
        this.failed = err as Error;
        const e = new AuditUnavailableError(`the audit log cannot be written: ${(err as Error).message}`);
        for (const w of [...waiters, ...this.waiters]) w.reject(e);
        this.batch = [];
        this.waiters = [];
      }
    }
    this.inFlight--;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.inFlight > 0 || this.batch.length > 0) await new Promise((r) => setTimeout(r, 1));
    await this.handle.close();
  }
}
