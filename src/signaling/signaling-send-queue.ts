/**
 * Outgoing signaling packets (phone.sendSignalingData), sent strictly one at a time so that a
 * retried packet can never be overtaken by a later one. FLOOD_WAIT waits the server's time, network
 * errors and a `false` result back off exponentially; both are bounded per packet. A permanent RPC
 * error, too many failures or too long a flood wait reports one failure and stops the queue
 * (tdesktop fails the call when sendSignalingData fails: `Call::sendSignalingData`).
 */
import { CallSignalingError, type TgCallError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { decodeBool } from './phone-call-record.js';
import { classifyRpcFailure, rpcFailureError } from './rpc-failure.js';

export interface SignalingRetryPolicy {
  /** Failed attempts allowed per packet before giving up. */
  readonly maxAttempts: number;
  /** First back-off after a network error or a `false` result; doubles per attempt. */
  readonly baseDelayMs: number;
  /** Longest back-off. */
  readonly maxDelayMs: number;
  /** A FLOOD_WAIT longer than this is not waited out: the queue fails. */
  readonly maxFloodWaitMs: number;
  /** Packets that may wait in the queue; more are dropped (counted). */
  readonly maxQueued: number;
}

export const DEFAULT_SIGNALING_RETRY: SignalingRetryPolicy = Object.freeze({
  maxAttempts: 6,
  baseDelayMs: 200,
  maxDelayMs: 3_000,
  maxFloodWaitMs: 30_000,
  maxQueued: 512,
});

export interface SignalingSendQueueOptions {
  /** Performs one phone.sendSignalingData; resolves with its Bool result. */
  readonly send: (data: Uint8Array) => Promise<unknown>;
  /** Called once when a packet cannot be delivered; the queue is closed by then. */
  readonly onFailure: (err: TgCallError) => void;
  readonly policy?: Partial<SignalingRetryPolicy>;
  readonly logger?: Logger;
}

export interface SignalingSendStats {
  sent: number;
  retries: number;
  floodWaits: number;
  dropped: number;
}

export class SignalingSendQueue {
  readonly stats: SignalingSendStats = { sent: 0, retries: 0, floodWaits: 0, dropped: 0 };
  private readonly queue: Uint8Array[] = [];
  private readonly policy: SignalingRetryPolicy;
  private readonly logger: Logger;
  private running = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly opts: SignalingSendQueueOptions) {
    this.policy = { ...DEFAULT_SIGNALING_RETRY, ...opts.policy };
    this.logger = opts.logger ?? silentLogger;
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Queues one packet; false when the queue is closed or full (the packet is dropped). */
  enqueue(data: Uint8Array): boolean {
    if (this.closed || this.queue.length >= this.policy.maxQueued) {
      this.stats.dropped++;
      return false;
    }
    this.queue.push(data);
    if (!this.running) void this.run();
    return true;
  }

  /** Stops sending; queued packets are dropped and a pending back-off timer is released. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stats.dropped += this.queue.length;
    this.queue.length = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.wake?.();
    this.notifyIdle();
  }

  /** Resolves once nothing is queued or in flight (or the queue is closed). */
  idle(): Promise<void> {
    if (!this.running || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (!this.closed && this.queue.length > 0) {
        const ok = await this.deliver(this.queue[0]!);
        if (this.closed) break;
        if (!ok) return;
        this.queue.shift();
        this.stats.sent++;
      }
    } finally {
      this.running = false;
      this.notifyIdle();
    }
  }

  /** Sends one packet with retries; false when the queue failed (and was closed). */
  private async deliver(data: Uint8Array): Promise<boolean> {
    let failures = 0;
    for (;;) {
      let delayMs: number;
      let lastError: TgCallError;
      try {
        const result = await this.opts.send(data);
        if (decodeBool(result)) return true;
        lastError = new CallSignalingError('SIGNALING_SEND_FAILED', 'phone.sendSignalingData returned false');
        delayMs = this.backoff(failures);
      } catch (err) {
        const failure = classifyRpcFailure(err);
        lastError = rpcFailureError(err, 'phone.sendSignalingData');
        if (failure.kind === 'rpc') return this.giveUp(lastError);
        if (failure.kind === 'flood') {
          if (failure.waitMs > this.policy.maxFloodWaitMs) return this.giveUp(lastError);
          this.stats.floodWaits++;
          delayMs = failure.waitMs;
        } else {
          delayMs = this.backoff(failures);
        }
      }
      if (this.closed) return false;
      failures++;
      if (failures >= this.policy.maxAttempts) return this.giveUp(lastError);
      this.stats.retries++;
      this.logger.debug('retrying signaling packet', { attempt: failures, delayMs, code: lastError.code });
      await this.sleep(delayMs);
      if (this.closed) return false;
    }
  }

  private backoff(failures: number): number {
    return Math.min(this.policy.maxDelayMs, this.policy.baseDelayMs * 2 ** failures);
  }

  private giveUp(err: TgCallError): false {
    if (this.closed) return false;
    this.logger.warn('signaling packet could not be delivered', { code: err.code });
    this.close();
    this.opts.onFailure(err);
    return false;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = () => {
        this.wake = undefined;
        resolve();
      };
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.wake?.();
      }, ms);
    });
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
