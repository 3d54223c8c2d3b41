/**
 * Outgoing signaling packets (phone.sendSignalingData). Up to `maxInFlight` requests run at once,
 * like official clients, which fire each request without waiting for the previous one: a round trip
 * per packet would add seconds to call setup. The encrypted channel tolerates reordering (its acked
 * messages are always resent as an in-order prefix), so a retried packet may be overtaken;
 * `maxInFlight: 1` gives strict order. FLOOD_WAIT waits the server's time, network errors and a
 * `false` result back off exponentially; both are bounded per packet. A permanent RPC error, too many
 * failures or too long a flood wait reports one failure and stops the queue (tdesktop fails the call
 * when sendSignalingData fails: `Call::sendSignalingData`).
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
  /** Packets that may be outstanding (queued or in flight); more are dropped (counted). */
  readonly maxQueued: number;
  /** Requests in flight at once (1 = strictly ordered). */
  readonly maxInFlight: number;
}

export const DEFAULT_SIGNALING_RETRY: SignalingRetryPolicy = Object.freeze({
  maxAttempts: 6,
  baseDelayMs: 200,
  maxDelayMs: 3_000,
  maxFloodWaitMs: 30_000,
  maxQueued: 512,
  maxInFlight: 8,
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
  private readonly counters: SignalingSendStats = { sent: 0, retries: 0, floodWaits: 0, dropped: 0 };
  private readonly queue: Uint8Array[] = [];
  private readonly policy: SignalingRetryPolicy;
  private readonly logger: Logger;
  private inFlight = 0;
  private closed = false;
  /** Back-off sleeps in progress: their timers and how to wake them early on close. */
  private readonly sleeping = new Map<NodeJS.Timeout, () => void>();
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly opts: SignalingSendQueueOptions) {
    this.policy = { ...DEFAULT_SIGNALING_RETRY, ...opts.policy };
    if (!(this.policy.maxInFlight >= 1)) throw new RangeError('maxInFlight must be at least 1');
    this.logger = opts.logger ?? silentLogger;
  }

  get pending(): number {
    return this.queue.length;
  }

  getStats(): SignalingSendStats {
    return { ...this.counters };
  }

  /** Queues one packet; false when the queue is closed or full (the packet is dropped). */
  enqueue(data: Uint8Array): boolean {
    if (this.closed || this.queue.length + this.inFlight >= this.policy.maxQueued) {
      this.counters.dropped++;
      return false;
    }
    this.queue.push(data);
    this.pump();
    return true;
  }

  /** Stops sending; queued packets are dropped and pending back-off timers are released. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    // queued packets and those still in flight (their results no longer matter)
    this.counters.dropped += this.queue.length + this.inFlight;
    this.queue.length = 0;
    for (const [timer, wake] of this.sleeping) {
      clearTimeout(timer);
      wake();
    }
    this.sleeping.clear();
    this.notifyIdle();
  }

  /** Resolves once nothing is queued or in flight (or the queue is closed). */
  idle(): Promise<void> {
    if (this.closed || (this.inFlight === 0 && this.queue.length === 0)) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (!this.closed && this.inFlight < this.policy.maxInFlight && this.queue.length > 0) {
      const data = this.queue.shift()!;
      this.inFlight++;
      void this.deliver(data).then((ok) => {
        this.inFlight--;
        if (ok) this.counters.sent++;
        this.pump();
        if (this.inFlight === 0 && this.queue.length === 0) this.notifyIdle();
      });
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
          this.counters.floodWaits++;
          delayMs = failure.waitMs;
        } else {
          delayMs = this.backoff(failures);
        }
      }
      if (this.closed) return false;
      failures++;
      if (failures >= this.policy.maxAttempts) return this.giveUp(lastError);
      this.counters.retries++;
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
      const timer = setTimeout(() => {
        this.sleeping.delete(timer);
        resolve();
      }, ms);
      this.sleeping.set(timer, resolve);
    });
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
