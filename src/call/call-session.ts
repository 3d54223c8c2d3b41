/**
 * One call's session once the key exists: the encrypted signaling channel (src/crypto), the
 * WebRTC transport (src/transport) and the audio session (src/media) wired together.
 *
 *   phone.sendSignalingData  <->  SignalingChannelRunner  <->  CallTransport  <->  MediaSession
 *        (encrypted packets)         (JSON payloads)              (RTP/RTCP)        (PCM)
 *
 * It owns no Telegram state: the signaling layer hands it the ready call and carries its packets.
 */
import { EventEmitter } from 'node:events';
import type { IceServer } from 'node-datachannel';
import { SignalingLink, type CarrierStats } from '../carrier/index.js';
import type { SignalingChannelStats } from '../crypto/index.js';
import { TgCallError, TransportError, toError } from '../errors.js';
import type { PathInfo } from '../network/index.js';
import type { Logger } from '../logger.js';
import { safeEmit } from '../safe-emit.js';
import type { MediaSession } from '../media/index.js';
import type { CallReadyInfo } from '../signaling/index.js';
import {
  CallTransport,
  iceServersFromConnections,
  type CloseReason,
  type MediaState,
  type TransportDiagnosis,
  type TransportStats,
} from '../transport/index.js';

export interface CallSessionOptions {
  readonly ready: CallReadyInfo;
  readonly media: MediaSession;
  /** Our audio SSRC: the one the media session sends with. */
  readonly ssrc: number;
  /** Hands one encrypted packet to phone.sendSignalingData. */
  readonly sendSignalingData: (data: Uint8Array) => void;
  /** Replaces the ICE servers from the call's connection list. */
  readonly iceServers?: readonly (string | IceServer)[];
  readonly bindAddress?: string;
  readonly portRange?: { readonly begin: number; readonly end: number };
  readonly connectTimeoutMs?: number;
  /**
   * Relays only (TURN, Telegram reflectors), as if the server had said `p2p_allowed = false`:
   * no direct route, and no host or server-reflexive candidate is signalled.
   */
  readonly relayOnly?: boolean;
  /** After a connected transport is lost, how long to wait for the peer's discard before failing. */
  readonly connectionLossGraceMs?: number;
  /**
   * Whether the call is muted when the session starts. The `Call` owns the flag: later changes
   * come through `setMuted()`, and the session keeps no copy.
   */
  readonly muted?: boolean;
  readonly logger: Logger;
}

const CONNECTION_LOSS_GRACE_MS = 3_000;

/**
 * `connecting` → `connected` → (`lost` →) `failed`, and `closed` from any phase:
 * - `connecting`: the transport is being set up (ICE, DTLS);
 * - `connected`: media flows;
 * - `lost`: the connected transport closed; waiting `connectionLossGraceMs` for the peer's
 *   discard, so the call ends with the peer's reason rather than ours;
 * - `failed`: the session cannot continue and said so (`failed` event, once);
 * - `closed`: released by `close()`; terminal.
 */
export type CallSessionPhase = 'connecting' | 'connected' | 'lost' | 'failed' | 'closed';

export interface CallSessionEvents {
  connected: [];
  remoteMediaState: [state: MediaState];
  /** The connection cannot continue (connect timeout, ICE/DTLS failure, signaling channel exhausted). */
  failed: [error: TgCallError];
}

export interface CallSessionStats {
  readonly signalingChannel: Readonly<SignalingChannelStats>;
  /** What carries the encrypted packets: 'direct' (one blob each) or 'sctp' (V3). */
  readonly signalingCarrier: Readonly<CarrierStats> & { readonly kind: 'direct' | 'sctp' };
  readonly transport: Readonly<TransportStats>;
  /** The route carrying the call: direct (host/srflx), through TURN or a Telegram reflector, and which server. */
  readonly path: PathInfo | undefined;
}

export class CallSession extends EventEmitter<CallSessionEvents> {
  private readonly options: CallSessionOptions;
  private readonly log: Logger;
  private readonly runner: SignalingLink;
  private readonly transport: CallTransport;
  private phaseValue: CallSessionPhase = 'connecting';
  /** Armed while `lost`. */
  private lossTimer: NodeJS.Timeout | undefined;
  /** The typed error the transport reported before it closed with reason `error`. */
  private transportError: TgCallError | undefined;

  constructor(options: CallSessionOptions) {
    super();
    this.options = options;
    this.log = options.logger;
    const { ready, media } = options;
    this.transport = new CallTransport({
      isOutgoing: ready.isOutgoing,
      network: {
        ...(options.iceServers ? { iceServers: options.iceServers } : {}),
        bindAddress: options.bindAddress,
        portRange: options.portRange,
        connectTimeoutMs: options.connectTimeoutMs,
      },
      // The server's p2p_allowed = false, or the application's choice.
      relayOnly: !ready.p2pAllowed || options.relayOnly === true,
      connections: ready.connections,
      // custom_parameters.network_standalone_reflectors (reflector.md §7): fixed port ids, made-up peer candidate.
      standaloneReflectors: ready.customParameters?.['network_standalone_reflectors'] === true,
      ssrc: options.ssrc,
      logger: this.log,
    });

    // The encrypted channel and its carrier (direct, or SCTP for V3): src/carrier/signaling-link.ts.
    this.runner = new SignalingLink({
      version: ready.version,
      key: ready.key,
      isOutgoing: ready.isOutgoing,
      customParameters: ready.customParameters,
      sendData: (blob) => this.options.sendSignalingData(blob),
      onMessage: (payload) => this.transport.receiveSignaling(payload),
      onFatal: (error) => this.fail(error),
      logger: this.log,
    });

    this.transport.on('signaling', (payload) => {
      try {
        this.runner.send(payload);
      } catch (err) {
        // Only local misuse throws here (a message too large for a packet): drop it, keep the call.
        this.log.error('signaling message not sent', { error: toError(err).message });
      }
    });
    this.transport.on('media-params', ({ local, remote }) => {
      try {
        if (local) media.configureRtp({ payloadType: local.payloadType, extensionIds: local.extensionIds });
        if (remote) {
          media.configureRtp({ remoteOpusPayloadTypes: remote.opusPayloadTypes, remoteExtensionIds: remote.extensionIds });
          media.setRemoteSsrc(remote.ssrc);
        }
      } catch (err) {
        this.log.warn('negotiated media parameters not applied', { error: toError(err).message });
      }
    });
    this.transport.on('rtp', (packet) => media.handleRtp(packet));
    this.transport.on('rtcp', (packet) => media.handleRtcp(packet));
    this.transport.on('remote-media-state', (state) => safeEmit(this, this.log, 'remoteMediaState', state));
    this.transport.on('error', (err) => {
      this.log.warn('transport error', { error: err.message });
      // The transport reports why it is about to close with 'error' (e.g. PORT_RANGE_EXHAUSTED from
      // binding its sockets): the call ends with that code, not a generic TRANSPORT_ERROR.
      if (err instanceof TgCallError) this.transportError ??= err;
    });
    // The transport keeps the state and delivers it once connected.
    if (options.muted) this.transport.setMediaState({ muted: true });

    this.transport.on('connected', () => {
      // Only a connecting session connects: a failed one is ending, a closed one is released.
      if (this.phaseValue !== 'connecting') return;
      this.log.info('connected', { connectMs: this.transport.stats.connectTimeMs, ...this.transport.path() });
      this.setPhase('connected');
      if (!media.closed) media.start();
      safeEmit(this, this.log, 'connected');
    });
    this.transport.on('closed', (reason) => {
      if (this.phaseValue === 'connecting') {
        this.fail(reason === 'error' && this.transportError ? this.transportError : transportFailure(reason, this.transport.diagnosis()));
      } else if (this.phaseValue === 'connected') {
        // A peer that hangs up closes its connection before its discardCall reaches us: wait a
        // moment for phoneCallDiscarded, so the call ends with the peer's reason, not ours.
        this.setPhase('lost');
        this.lossTimer = setTimeout(() => {
          this.lossTimer = undefined;
          this.fail(transportFailure(reason, this.transport.diagnosis()));
        }, options.connectionLossGraceMs ?? CONNECTION_LOSS_GRACE_MS);
      }
    });
  }

  get phase(): CallSessionPhase {
    return this.phaseValue;
  }

  getStats(): CallSessionStats {
    return {
      signalingChannel: this.runner.getStats(),
      signalingCarrier: { kind: this.runner.carrierKind, ...this.runner.getCarrierStats() },
      transport: this.transport.stats,
      path: this.transport.path(),
    };
  }

  get isConnected(): boolean {
    return this.transport.state === 'connected';
  }

  start(): void {
    this.runner.start();
    this.transport.start();
  }

  /** One phone.sendSignalingData payload from the peer. Never throws. */
  receiveSignalingData(data: Uint8Array): void {
    if (this.phaseValue === 'closed') return;
    this.runner.receive(data);
  }

  /** The media session's sink: RTP/RTCP out through the transport (dropped until negotiated). */
  sendRtp(packet: Buffer): void {
    if (this.phaseValue !== 'closed') this.transport.sendRtp(packet);
  }

  sendRtcp(packet: Buffer): void {
    if (this.phaseValue !== 'closed') this.transport.sendRtcp(packet);
  }

  /** Forwards the `Call`'s mute flag: silence from the media session, MediaState to the peer. */
  setMuted(muted: boolean): void {
    if (muted) this.options.media.mute();
    else this.options.media.unmute();
    if (this.phaseValue !== 'closed') this.transport.setMediaState({ muted });
  }

  /** Releases the transport, the channel timer and the media session. Idempotent. */
  async close(): Promise<void> {
    this.setPhase('closed');
    this.runner.close();
    this.options.media.close();
    await this.transport.close('local');
  }

  private fail(error: TgCallError): void {
    if (this.phaseValue === 'failed' || this.phaseValue === 'closed') return;
    this.setPhase('failed');
    this.log.warn('connection failed', { code: error.code, error: error.message });
    safeEmit(this, this.log, 'failed', error);
  }

  /** The one place the phase changes; leaving `lost` disarms its grace timer. */
  private setPhase(next: CallSessionPhase): void {
    const previous = this.phaseValue;
    if (previous === next) return;
    this.phaseValue = next;
    this.log.debug('session phase', { from: previous, to: next });
    if (previous === 'lost' && this.lossTimer) {
      clearTimeout(this.lossTimer);
      this.lossTimer = undefined;
    }
  }
}

function webrtcConnections(ready: CallReadyInfo) {
  return ready.connections.filter((c): c is Extract<typeof c, { kind: 'webrtc' }> => c.kind === 'webrtc');
}

/**
 * `detail`: what the network edge tried (routes, relays, drops), so a user sees why no path
 * worked; a call whose peer is out of reach of every relay we were given says so with its own
 * code (peer-reach.ts: the mixed TURN-only / reflector-only case).
 */
function transportFailure(reason: CloseReason, detail: TransportDiagnosis | undefined): TgCallError {
  const tried = detail ? ` — ${detail.tried}` : '';
  switch (reason) {
    case 'disconnect':
      if (detail?.noCommonRelay) return new TransportError('NO_COMMON_RELAY', `no common relay with the peer: ${detail.noCommonRelay}${tried}`);
      return new TransportError('CONNECTION_LOST', `no connection to the peer (connect timeout or connectivity lost)${tried}`);
    case 'failed':
      return new TransportError('CONNECTION_FAILED', `ICE or DTLS failed${tried}`);
    default:
      return new TransportError('TRANSPORT_ERROR', `transport closed: ${reason}`);
  }
}

