/**
 * A call's whole signaling path once the key exists, picked from the negotiated version and the
 * server's custom parameters:
 *
 *   JSON payloads <-> SignalingChannelRunner (encrypted channel, src/crypto) <-> carrier <-> blobs
 *
 * V2 (8/9): acked channel, direct carrier. V3 (12/13): raw channel with gzip (bounded inflate,
 * signaling-limits.ts), SCTP carrier (caller = SCTP client), or the direct carrier with `network_signaling_nosctp`.
 * `network_kcp_experiment` makes any version V3 (`signalingModeFor`).
 */
import { createSignalingChannel, SignalingChannelRunner, type SignalingChannelStats } from '../crypto/index.js';
import type { TgCallError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { SctpCarrier, type SctpCarrierOptions } from './sctp-carrier.js';
import { carrierKindFor, DirectCarrier, type CarrierStats, type SignalingCarrier } from './signaling-carrier.js';

export interface SignalingLinkOptions {
  readonly version: string;
  readonly key: Uint8Array;
  readonly isOutgoing: boolean;
  readonly customParameters?: Readonly<Record<string, unknown>> | undefined;
  /** Hands one blob to phone.sendSignalingData. */
  readonly sendData: (blob: Uint8Array) => void;
  /** One decrypted signaling payload (JSON) from the peer. */
  readonly onMessage: (payload: Uint8Array) => void;
  /** The signaling path cannot continue: end the call. */
  readonly onFatal: (error: TgCallError) => void;
  /** SCTP carrier settings (timeouts, limits), for tests and tuning. */
  readonly sctp?: Pick<SctpCarrierOptions, 'establishTimeoutMs' | 'initialRtoSeconds' | 'limits'>;
  readonly logger?: Logger;
  readonly now?: () => number;
}

export class SignalingLink {
  private readonly runner: SignalingChannelRunner;
  private readonly carrier: SignalingCarrier;

  constructor(options: SignalingLinkOptions) {
    const log = options.logger ?? silentLogger;
    const now = options.now ?? Date.now;
    // The channel bounds what it inflates and decodes itself (signaling-limits.ts).
    const channel = createSignalingChannel(options.version, options.key, options.isOutgoing, options.customParameters);
    const kind = carrierKindFor(options.version, options.customParameters);
    const onPacket = (packet: Uint8Array): void => this.runner.receive(packet);
    this.carrier =
      kind === 'sctp'
        ? new SctpCarrier({
            role: options.isOutgoing ? 'client' : 'server',
            sendData: options.sendData,
            onPacket,
            onFatal: options.onFatal,
            logger: log.child('sctp'),
            now,
            ...options.sctp,
          })
        : new DirectCarrier({ sendData: options.sendData, onPacket });
    this.runner = new SignalingChannelRunner({
      channel,
      sendPacket: (packet) => this.carrier.send(packet),
      onMessage: options.onMessage,
      onFatal: options.onFatal,
      now,
      logger: log,
    });
  }

  get carrierKind(): SignalingCarrier['kind'] {
    return this.carrier.kind;
  }

  /** The encrypted channel's counters (a snapshot). */
  getStats(): SignalingChannelStats {
    return this.runner.getStats();
  }

  /** The carrier's counters (a snapshot). */
  getCarrierStats(): CarrierStats {
    const stats = this.carrier.stats;
    return { ...stats, dropped: { ...stats.dropped } };
  }

  start(): void {
    this.carrier.start();
  }

  /** Throws `CryptoError` for local misuse (message too large, counter exhausted). */
  send(payload: Uint8Array): void {
    this.runner.send(payload);
  }

  /** One phone.sendSignalingData blob from the peer. Never throws. */
  receive(blob: Uint8Array): void {
    this.carrier.receive(blob);
  }

  /** Releases the channel's and the carrier's timers. Idempotent. */
  close(): void {
    this.runner.close();
    this.carrier.close();
  }
}
