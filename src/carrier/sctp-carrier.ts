/**
 * The V3 signaling carrier: encrypted packets travel as SCTP user messages (stream 0, PPID 53,
 * ordered) and every SCTP packet is one phone.sendSignalingData blob, in the clear
 * (call-crypto-and-signaling.md §5.4; v3-sctp.md "Rules for an implementation" 1–7, verified
 * against ntgcalls 3.0.5). The SCTP stack is werift-sctp; this adapter bounds it:
 *
 * - every incoming blob passes `parseSctpPacket` (stateless; malformed = dropped whole) and
 *   `filterSctpPacket` (against the association's state; refused chunks are cut out) before werift
 *   sees it, and werift's handling is serialized, one packet at a time, with a bounded backlog;
 * - the receive window (256 KiB), the streams (1 each way), the outgoing queue and the number of
 *   packets handled and sent per second are capped; what exceeds a cap is a counted drop;
 * - the caller is the SCTP client (sends INIT), the callee the server, as Android does (§5.4);
 *   the initial RTO is 1 s instead of werift's 3 s, so INIT/COOKIE/DATA losses recover within
 *   ntgcalls' 10 s connect timeout (v3-sctp.md rule 7);
 * - an association that is not up within `establishTimeoutMs` ends the call with
 *   `SCTP_NOT_ESTABLISHED`, or `SCTP_ASSOCIATION_FAILED` when werift gives up (INIT retries
 *   exhausted, ABORT) before that;
 * - `close()` stops werift, which clears all of its timers, and sends nothing more.
 */
import { TransportError, type TransportErrorCode } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { TokenBucket, type RateLimit } from '../crypto/token-bucket.js';
import { DEFAULT_SCTP_PACKET_LIMITS, keepSctpChunks, parseSctpPacket, type SctpPacketLimits, type SctpPacketSummary } from './sctp-packet.js';
import { filterSctpPacket, type SctpPolicyLimits } from './sctp-policy.js';
import type { CarrierCallbacks, CarrierStats, SignalingCarrier } from './signaling-carrier.js';
import { createWeriftAssociation, SCTP_STATE, type WeriftAssociation } from './werift-sctp.js';

/** tgcalls `SignalingSctpConnection`: Start(5000, 5000, 262144), stream 0 (§5.4). */
export const SCTP_PORT = 5000;
export const SCTP_STREAM = 0;
/** WebRTC's binary PPID; ntgcalls ignores messages with PPID 0 (v3-sctp.md "PPID"). */
export const SCTP_PPID_BINARY = 53;

export interface SctpCarrierLimits extends SctpPacketLimits, SctpPolicyLimits {
  /** Bytes advertised as our receive window; DATA beyond what is left is dropped. */
  readonly receiveWindow: number;
  /** Largest outgoing user message (tgcalls' max message size is 262 144; peers refuse encrypted packets > 128 KiB). */
  readonly maxMessageSize: number;
  /** Messages (and their bytes) queued while the association is not up yet. */
  readonly maxPendingMessages: number;
  readonly maxPendingBytes: number;
  /** DATA chunks queued or unacknowledged inside the SCTP stack. */
  readonly maxQueuedChunks: number;
  /** Blobs waiting for the stack to finish the previous one. */
  readonly maxBacklog: number;
  /** Incoming blobs handled: burst and per second. */
  readonly inbound: RateLimit;
  /** Outgoing blobs (phone.sendSignalingData calls): burst and per second. */
  readonly outbound: RateLimit;
}

/**
 * A call setup is 10–25 packets each way (v3-sctp.md rule 9); the rates leave room for
 * retransmissions and stop a peer from turning a flood into CPU or into our request budget.
 */
export const DEFAULT_SCTP_CARRIER_LIMITS: SctpCarrierLimits = Object.freeze({
  ...DEFAULT_SCTP_PACKET_LIMITS,
  // werift re-sorts its out-of-order TSN set (as strings) for every DATA chunk it buffers and
  // rescans its reassembly queue, so its work per packet grows with the square of these two
  // (bench/signaling-v3.ts). 64 TSNs past a gap still hold a 75 KB message in flight; dcSCTP puts
  // ~20 DATA chunks in a 1191-byte packet at most. What exceeds them is dropped and resent.
  tsnWindow: 64,
  maxDataChunks: 32,
  receiveWindow: 256 * 1024,
  maxMessageSize: 128 * 1024,
  maxPendingMessages: 64,
  maxPendingBytes: 1024 * 1024,
  maxQueuedChunks: 512,
  maxBacklog: 64,
  inbound: Object.freeze({ capacity: 64, perSecond: 32 }),
  outbound: Object.freeze({ capacity: 64, perSecond: 32 }),
});

export interface SctpCarrierOptions extends CarrierCallbacks {
  /** The caller is the client (sends INIT), the callee the server. */
  readonly role: 'client' | 'server';
  /** From start() to ESTABLISHED; later the call ends with SCTP_NOT_ESTABLISHED. Default 12 s. */
  readonly establishTimeoutMs?: number;
  /** Initial retransmission timeout, seconds (werift's default is 3). Default 1. */
  readonly initialRtoSeconds?: number;
  readonly limits?: Partial<SctpCarrierLimits>;
  readonly logger?: Logger;
  readonly now?: () => number;
}

/** Blob-level reasons (the whole blob) and chunk-level ones (from 'unexpected-chunk' to 'sack-range'). */
export const SCTP_DROP_REASONS = [
  'size',
  'checksum',
  'malformed',
  'unknown-chunk',
  'limit',
  'unexpected-chunk',
  'stream',
  'tsn-window',
  'receive-window',
  'data-per-packet',
  'sack-range',
  'inbound-budget',
  'backlog',
  'stack-error',
  'outbound-budget',
  'queue-full',
  'too-large',
  'closed',
] as const;
export type SctpDropReason = (typeof SCTP_DROP_REASONS)[number];

export interface SctpCarrierStats extends CarrierStats {
  duplicateData: number;
  dropped: Record<SctpDropReason, number>;
  /** The association went down after it was established (peer ABORT, SHUTDOWN). */
  closedByPeer: boolean;
}

const DEFAULT_ESTABLISH_TIMEOUT_MS = 12_000;

export class SctpCarrier implements SignalingCarrier {
  readonly kind = 'sctp' as const;
  readonly stats: SctpCarrierStats;
  private readonly options: SctpCarrierOptions;
  private readonly limits: SctpCarrierLimits;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly sctp: WeriftAssociation;
  private readonly inboundBudget: TokenBucket;
  private readonly outboundBudget: TokenBucket;
  private readonly pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private readonly backlog: SctpPacketSummaryWithBytes[] = [];
  private draining = false;
  private started = false;
  private startedAt = 0;
  private established = false;
  private closed = false;
  private failed = false;
  private deadline: NodeJS.Timeout | undefined;

  constructor(options: SctpCarrierOptions) {
    this.options = options;
    this.limits = { ...DEFAULT_SCTP_CARRIER_LIMITS, ...options.limits };
    this.log = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
    this.stats = {
      blobsOut: 0,
      blobsIn: 0,
      packetsOut: 0,
      packetsIn: 0,
      duplicateData: 0,
      closedByPeer: false,
      dropped: Object.fromEntries(SCTP_DROP_REASONS.map((r) => [r, 0])) as Record<SctpDropReason, number>,
    };
    this.inboundBudget = new TokenBucket(this.limits.inbound);
    this.outboundBudget = new TokenBucket(this.limits.outbound);
    // werift calls transport.send and awaits it; it must never throw or reject.
    this.sctp = createWeriftAssociation(options.role, { send: async (packet) => this.emit(packet), close: () => {} }, SCTP_PORT);
    this.sctp.rto = options.initialRtoSeconds ?? 1;
    this.sctp.advertisedRwnd = this.limits.receiveWindow;
    this.sctp.localPartialReliability = false;
    this.sctp._inboundStreamsMax = 1;
    this.sctp._outboundStreamsCount = 1;
    this.sctp.stateChanged.connected.subscribe(() => this.onEstablished());
    this.sctp.stateChanged.closed.subscribe(() => this.onClosed());
    this.sctp.onReceive.subscribe((streamId, _ppid, data) => this.onMessage(streamId, data));
  }

  get isEstablished(): boolean {
    return this.established;
  }

  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.startedAt = this.now();
    this.deadline = setTimeout(() => {
      this.deadline = undefined;
      if (!this.established) this.fail('SCTP_NOT_ESTABLISHED', `the SCTP association over signaling did not come up within ${this.establishTimeoutMs} ms`);
    }, this.establishTimeoutMs);
    this.sctp.start(SCTP_PORT).catch((err: unknown) => this.stackError('start', err));
  }

  send(packet: Uint8Array): void {
    if (this.closed || this.failed) return this.drop('closed');
    if (packet.length > this.limits.maxMessageSize) return this.drop('too-large');
    if (!this.established) {
      if (this.pending.length >= this.limits.maxPendingMessages || this.pendingBytes + packet.length > this.limits.maxPendingBytes) return this.drop('queue-full');
      this.pending.push(packet);
      this.pendingBytes += packet.length;
      return;
    }
    this.transmit(packet);
  }

  receive(blob: Uint8Array): void {
    if (this.closed) return this.drop('closed');
    this.stats.blobsIn++;
    if (!this.inboundBudget.take(1, this.now())) return this.drop('inbound-budget');
    const parsed = parseSctpPacket(blob, this.limits);
    if (!parsed.ok) return this.drop(parsed.reason);
    if (this.backlog.length >= this.limits.maxBacklog) return this.drop('backlog');
    this.backlog.push({ summary: parsed.packet, bytes: blob });
    if (!this.draining) void this.drain();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.deadline) clearTimeout(this.deadline);
    this.deadline = undefined;
    this.pending.length = 0;
    this.backlog.length = 0;
    // stop() clears werift's T1/T2/T3, reconfig, heartbeat and SACK timers; the ABORT it sends is
    // swallowed by emit() (the call is over; Telegram would refuse the request anyway).
    this.sctp.stop().catch((err: unknown) => this.log.debug('sctp stop failed', { error: String(err) }));
  }

  private get establishTimeoutMs(): number {
    return this.options.establishTimeoutMs ?? DEFAULT_ESTABLISH_TIMEOUT_MS;
  }

  /** Feeds queued blobs to werift one at a time: its handleData is async and not reentrant. */
  private async drain(): Promise<void> {
    this.draining = true;
    try {
      for (let next = this.backlog.shift(); next && !this.closed; next = this.backlog.shift()) {
        const verdict = filterSctpPacket(next.summary, this.view(), this.limits);
        for (const reason of verdict.dropped) this.drop(reason);
        this.stats.duplicateData += verdict.duplicateData;
        const packet = keepSctpChunks(next.bytes, next.summary, verdict.keep);
        if (!packet) continue;
        try {
          await this.sctp.handleData(Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength));
        } catch (err) {
          this.stackError('packet', err);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private view() {
    const s = this.sctp;
    return {
      role: this.options.role,
      peerTsnKnown: s.lastReceivedTsn !== undefined,
      established: this.established,
      lastReceivedTsn: s.lastReceivedTsn ?? 0,
      nextLocalTsn: s.localTsn,
      receiveWindow: Math.max(0, s.advertisedRwnd),
    };
  }

  private transmit(packet: Uint8Array): void {
    if (this.stats.closedByPeer) return this.drop('closed');
    const queued = this.sctp.outboundQueue.length + this.sctp.sentQueue.length;
    if (queued + Math.ceil(packet.length / 1200) > this.limits.maxQueuedChunks) return this.drop('queue-full');
    this.stats.packetsOut++;
    // Not awaited: werift resolves it only when its whole outbound queue has drained (rule 6).
    this.sctp
      .send(SCTP_STREAM, SCTP_PPID_BINARY, Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength), { ordered: true })
      .catch((err: unknown) => this.stackError('send', err));
  }

  /** werift's transport.send: one SCTP packet = one phone.sendSignalingData blob. */
  private emit(packet: Buffer): void {
    if (this.closed) return;
    if (!this.outboundBudget.take(1, this.now())) return this.drop('outbound-budget');
    this.stats.blobsOut++;
    try {
      this.options.sendData(new Uint8Array(packet.buffer, packet.byteOffset, packet.byteLength));
    } catch (err) {
      this.log.warn('sendData threw', { error: String(err) });
    }
  }

  private onEstablished(): void {
    // werift reports ESTABLISHED again for every duplicate COOKIE-ECHO it answers.
    if (this.established || this.closed) return;
    this.established = true;
    this.stats.establishedMs = this.now() - this.startedAt;
    if (this.deadline) clearTimeout(this.deadline);
    this.deadline = undefined;
    this.log.debug('sctp association established', { role: this.options.role, ms: this.stats.establishedMs });
    const queued = this.pending.splice(0);
    this.pendingBytes = 0;
    for (const packet of queued) this.transmit(packet);
  }

  private onClosed(): void {
    if (this.closed) return;
    if (!this.established) {
      this.fail('SCTP_ASSOCIATION_FAILED', 'the SCTP association over signaling failed before it was established (INIT retries exhausted or ABORT)');
      return;
    }
    // After setup the media path no longer needs signaling, and a peer that hangs up aborts its
    // association just before its discard arrives: let the discard end the call with its reason.
    this.stats.closedByPeer = true;
    this.log.info('sctp association closed by the peer');
  }

  private onMessage(streamId: number, data: Buffer): void {
    if (this.closed || streamId !== SCTP_STREAM) return;
    this.stats.packetsIn++;
    try {
      this.options.onPacket(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    } catch (err) {
      this.log.warn('onPacket threw', { error: String(err) });
    }
  }

  private fail(code: TransportErrorCode, message: string): void {
    if (this.failed || this.closed) return;
    this.failed = true;
    this.log.warn('sctp carrier failed', { code });
    try {
      this.options.onFatal(new TransportError(code, message));
    } catch (err) {
      this.log.warn('onFatal threw', { error: String(err) });
    }
  }

  private stackError(where: string, err: unknown): void {
    this.stats.dropped['stack-error']++;
    this.log.debug('sctp stack error', { where, error: err instanceof Error ? err.message : String(err) });
  }

  private drop(reason: SctpDropReason): void {
    this.stats.dropped[reason]++;
  }
}

interface SctpPacketSummaryWithBytes {
  readonly summary: SctpPacketSummary;
  readonly bytes: Uint8Array;
}
