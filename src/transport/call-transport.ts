/**
 * The call transport: turns tgcalls v2 JSON signaling into a libdatachannel peer connection
 * (ICE, DTLS-SRTP, SCTP data channel) for either role, and carries RTP/RTCP and MediaState.
 *
 * It sees only plaintext JSON payloads: `receiveSignaling(payload)` in, the `signaling` event out
 * (the encrypted signaling channel lives in src/crypto). Order of work (transport-v2.md §3, §5):
 * - caller: local offer at `start()` → our `InitialSetup` (actpass) and our `NegotiateChannels`
 *   offer; once the peer's `InitialSetup` and the answer to our offer are in, the synthesized
 *   remote answer (`a=setup:passive`) is applied;
 * - callee: on the caller's `InitialSetup`, the synthesized remote offer (`a=setup:active`) is
 *   applied and our answer created → our `InitialSetup` (passive). Our `NegotiateChannels` go out
 *   only after our `InitialSetup`;
 * - peer candidates may arrive before anything else (ntgcalls sends them and its offer before its
 *   `InitialSetup`): they are buffered until the remote description exists.
 * - MediaState goes over the data channel when it accepts it, otherwise over signaling (the caller
 *   side libdatachannel data channel race, transport-v2.md §5); it is accepted from both.
 *
 * Nothing on the receive path throws: bad messages are counted in `stats` and logged.
 */
import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { TransportError, toError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import {
  DEFAULT_MEDIA_STATE,
  decodeSignalingMessage,
  encodeSignalingMessage,
  signalingMessageToJson,
  type CandidatesMessage,
  type InitialSetupMessage,
  type MediaState,
  type SignalingMessage,
} from './messages.js';
import {
  ContentNegotiation,
  OPUS_PAYLOAD_TYPE,
  type LocalMediaParams,
  type NegotiationStep,
  type RemoteMediaParams,
} from './negotiation.js';
import type { NetworkOptions } from './network-options.js';
import { CallPeerConnection } from './peer-connection.js';
import { LOCAL_SECTIONS, type CandidatePair, type CreatePeerConnection, type PeerConnectionPort } from './peer-connection-port.js';
import { classifyMediaPacket } from './rtp-demux.js';
import {
  buildRemoteDescription,
  classifyRemoteCandidate,
  initialSetupFromLocal,
  validateRemoteSetup,
  type LocalDescriptionInfo,
} from './sdp.js';

export type TransportState = 'new' | 'connecting' | 'connected' | 'failed' | 'closed';

/**
 * Why the transport ended: `local` = `close()` was called; `disconnect` = no connection within the
 * connect timeout, connectivity lost for that long, or the peer closed DTLS; `failed` = ICE/DTLS
 * failed; `error` = an internal failure (native object, unusable remote description).
 */
export type CloseReason = 'local' | 'disconnect' | 'failed' | 'error';

export interface CallTransportOptions {
  /** True on the side that placed the call (caller: ICE controlling, DTLS actpass → client). */
  readonly isOutgoing: boolean;
  /** ICE servers, bind address, port range and connect timeout. */
  readonly network?: NetworkOptions;
  /**
   * `p2p_allowed = false`: advertise relay candidates only (`iceTransportPolicy: 'relay'`). Note:
   * libdatachannel only filters the candidates it announces; libjuice still checks from its host
   * socket, which a real TURN server refuses (no permission for our host IP), so the path is relayed.
   */
  readonly relayOnly?: boolean;
  /** After connecting, how long MediaState waits for the data channel before going over signaling. Default 2000. */
  readonly dataChannelGraceMs?: number;
  readonly logger?: Logger;
  /** Our audio SSRC (non-zero uint32); random by default. */
  readonly ssrc?: number;
  /** Random uint32 source for exchange ids (tests inject a seeded one). */
  readonly randomUint32?: () => number;
  /** The peer connection; default: libdatachannel's (`CallPeerConnection`). Tests inject fakes. */
  readonly createPeerConnection?: CreatePeerConnection;
}

export interface MediaParams {
  /** What we send with; undefined until the peer answered our offer accepting Opus. */
  readonly local: LocalMediaParams | undefined;
  /** What the peer sends with; undefined until its offer arrived. */
  readonly remote: RemoteMediaParams | undefined;
}

export interface TransportStats {
  signalingIn: number;
  signalingOut: number;
  /** Undecodable or invalid JSON messages (including unusable InitialSetup values). */
  malformedMessages: number;
  /** Messages with an `@type` we do not know (ignored, as tgcalls does). */
  unknownMessageTypes: number;
  /** Valid messages we ignored: duplicate InitialSetup, crossing or stale NegotiateChannels, binary data channel messages. */
  ignoredMessages: number;
  /** Messages that arrived after close. */
  droppedMessages: number;
  localCandidates: number;
  remoteCandidatesAdded: number;
  /** Malformed, unsupported (TCP, hostnames such as Telegram reflectors, component 2), refused or overflowing. */
  remoteCandidatesDropped: number;
  rtpIn: number;
  rtcpIn: number;
  /** Incoming packets that are neither RTP nor RTCP. */
  mediaInMalformed: number;
  rtpOut: number;
  rtcpOut: number;
  /** Outgoing packets dropped: before our offer was answered, before the track opened, or after close. */
  mediaOutDropped: number;
  mediaStateViaDataChannel: number;
  mediaStateViaSignaling: number;
  /** ms from `start()` to the first `connected`. */
  connectTimeMs: number | undefined;
}

export interface CallTransportEvents {
  /** A plaintext JSON payload to send through the encrypted signaling channel. */
  signaling: [payload: Uint8Array];
  state: [state: TransportState];
  connected: [];
  /** A decrypted RTP packet from the peer. */
  rtp: [packet: Buffer];
  /** A decrypted RTCP packet from the peer. */
  rtcp: [packet: Buffer];
  'remote-media-state': [state: MediaState];
  /** Negotiated parameters changed (our offer answered, or a peer offer received). */
  'media-params': [params: MediaParams];
  error: [err: Error];
  /** Emitted once, after every native handle of this transport was released. */
  closed: [reason: CloseReason];
}

/** Peer candidates buffered before the remote description exists. */
const MAX_BUFFERED_CANDIDATES = 64;
/** Peer payloads kept when they arrive before `start()`. */
const MAX_EARLY_PAYLOADS = 256;

export class CallTransport extends EventEmitter<CallTransportEvents> {
  readonly isOutgoing: boolean;
  /** Our audio SSRC. */
  readonly ssrc: number;
  private readonly options: CallTransportOptions;
  private readonly log: Logger;
  private readonly connectTimeoutMs: number;
  private readonly dataChannelGraceMs: number;
  private readonly negotiation: ContentNegotiation;
  private pc: PeerConnectionPort | undefined;
  private currentState: TransportState = 'new';
  private reason: CloseReason | undefined;
  private closePromise: Promise<void> | undefined;
  private startedAt = 0;
  private everConnected = false;
  private localInfo: LocalDescriptionInfo | undefined;
  private localSetupSent = false;
  private peerSetup: { message: InitialSetupMessage; fingerprint: { hash: string; value: string } } | undefined;
  private remoteApplied = false;
  private bufferedCandidates: string[] = [];
  /** Caller: our candidates held until our remote description is applied (see onLocalCandidate). */
  private heldLocalCandidates: string[] = [];
  /** Peer payloads received before `start()`, processed by it. */
  private early: (Uint8Array | string)[] = [];
  /** NegotiateChannels held until our InitialSetup went out. */
  private heldNegotiation: SignalingMessage[] = [];
  private mediaState: MediaState = DEFAULT_MEDIA_STATE;
  private mediaStateDelivered = false;
  private connectTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private dataChannelTimer: NodeJS.Timeout | undefined;
  private readonly counters: TransportStats = {
    signalingIn: 0,
    signalingOut: 0,
    malformedMessages: 0,
    unknownMessageTypes: 0,
    ignoredMessages: 0,
    droppedMessages: 0,
    localCandidates: 0,
    remoteCandidatesAdded: 0,
    remoteCandidatesDropped: 0,
    rtpIn: 0,
    rtcpIn: 0,
    mediaInMalformed: 0,
    rtpOut: 0,
    rtcpOut: 0,
    mediaOutDropped: 0,
    mediaStateViaDataChannel: 0,
    mediaStateViaSignaling: 0,
    connectTimeMs: undefined,
  };

  constructor(options: CallTransportOptions) {
    super();
    this.options = options;
    this.isOutgoing = options.isOutgoing;
    this.log = (options.logger ?? silentLogger).child(options.isOutgoing ? 'transport:caller' : 'transport:callee');
    this.connectTimeoutMs = options.network?.connectTimeoutMs ?? 20_000;
    this.dataChannelGraceMs = options.dataChannelGraceMs ?? 2_000;
    if (!(this.connectTimeoutMs > 0)) throw new RangeError('connectTimeoutMs must be positive');
    const ssrc = options.ssrc ?? randomInt(1, 0x1_0000_0000);
    if (!Number.isInteger(ssrc) || ssrc <= 0 || ssrc > 0xffffffff) throw new RangeError('ssrc must be a non-zero uint32');
    this.ssrc = ssrc;
    this.negotiation = new ContentNegotiation({
      isOutgoing: options.isOutgoing,
      localSsrc: ssrc,
      randomUint32: options.randomUint32 ?? (() => randomInt(0, 0x1_0000_0000)),
    });
  }

  get state(): TransportState {
    return this.currentState;
  }

  /** Why the transport closed (undefined while open). */
  get closeReason(): CloseReason | undefined {
    return this.reason;
  }

  /** True once the peer answered our offer accepting Opus: RTP may be sent (official clients drop earlier media). */
  get canSendMedia(): boolean {
    return this.negotiation.canSendMedia;
  }

  get mediaParams(): MediaParams {
    return { local: this.negotiation.localParams, remote: this.negotiation.remoteParams };
  }

  get stats(): Readonly<TransportStats> {
    return { ...this.counters };
  }

  /** Creates the peer connection and begins signaling. Throws only when called twice or after close. */
  start(): void {
    if (this.currentState !== 'new') throw new TransportError('TRANSPORT_STARTED', `start() in state ${this.currentState}`);
    this.startedAt = performance.now();
    this.setState('connecting');
    // A 'state' listener may have closed us already.
    if (this.isClosed()) return;
    try {
      const create = this.options.createPeerConnection ?? ((o) => new CallPeerConnection(o));
      this.pc = create({
        name: this.isOutgoing ? 'tgcall-caller' : 'tgcall-callee',
        isOutgoing: this.isOutgoing,
        network: this.options.network ?? {},
        relayOnly: this.options.relayOnly ?? false,
        ssrc: this.ssrc,
        payloadType: OPUS_PAYLOAD_TYPE,
        logger: this.log,
        sink: {
          localCandidate: (c) => this.onLocalCandidate(c),
          stateChange: (s) => this.onPeerConnectionState(s),
          media: (p) => this.onMedia(p),
          dataChannelOpen: () => this.onDataChannelOpen(),
          dataChannelMessage: (m) => this.onDataChannelMessage(m),
          dataChannelClosed: () => this.log.debug('data channel closed'),
          error: (err) => this.reportError(err),
        },
      });
    } catch (err) {
      this.fail('error', err);
      return;
    }
    this.connectTimer = setTimeout(() => {
      this.connectTimer = undefined;
      this.log.warn('not connected in time', { timeoutMs: this.connectTimeoutMs });
      void this.close('disconnect');
    }, this.connectTimeoutMs);

    this.queueNegotiation(this.negotiation.start());
    if (this.isOutgoing) {
      try {
        this.localInfo = this.pc.createOffer();
      } catch (err) {
        this.fail('error', err);
        return;
      }
      this.sendLocalSetup(this.localInfo);
    }
    const early = this.early;
    this.early = [];
    for (const payload of early) this.receiveSignaling(payload);
  }

  /** A decrypted signaling payload from the peer (one JSON message). Never throws. */
  receiveSignaling(payload: Uint8Array | string): void {
    try {
      if (this.currentState === 'closed') {
        this.counters.droppedMessages++;
        return;
      }
      if (this.currentState === 'new') {
        if (this.early.length < MAX_EARLY_PAYLOADS) this.early.push(typeof payload === 'string' ? payload : Uint8Array.from(payload));
        else this.counters.droppedMessages++;
        return;
      }
      this.counters.signalingIn++;
      this.handlePayload(payload, 'signaling');
    } catch (err) {
      this.reportError(err);
    }
  }

  /** Sends one RTP packet (our SSRC and payload type). False when dropped: not negotiated or not connected yet, or closed. */
  sendRtp(packet: Uint8Array): boolean {
    if (!this.pc || this.currentState === 'closed' || !this.negotiation.canSendMedia || !this.pc.sendMedia(packet)) {
      this.counters.mediaOutDropped++;
      return false;
    }
    this.counters.rtpOut++;
    return true;
  }

  /** Sends one RTCP packet. False when dropped (not connected yet, or closed). */
  sendRtcp(packet: Uint8Array): boolean {
    if (!this.pc || this.currentState === 'closed' || !this.pc.sendMedia(packet)) {
      this.counters.mediaOutDropped++;
      return false;
    }
    this.counters.rtcpOut++;
    return true;
  }

  /** Updates our MediaState (mute, battery, video); sent when connected and whenever it changes. */
  setMediaState(state: Partial<MediaState>): void {
    const next: MediaState = { ...this.mediaState, ...state };
    const changed = (Object.keys(DEFAULT_MEDIA_STATE) as (keyof MediaState)[]).some((k) => next[k] !== this.mediaState[k]);
    this.mediaState = next;
    if (!changed) return;
    this.mediaStateDelivered = false;
    this.deliverMediaState();
  }

  /** The ICE candidate pair in use, or null before connecting / after close. */
  selectedCandidatePair(): CandidatePair | null {
    return this.pc?.selectedCandidatePair() ?? null;
  }

  /**
   * Ends the transport and releases every timer and native handle. Idempotent; resolves when the
   * native handles are released (then `closed` is emitted).
   */
  close(reason: CloseReason = 'local'): Promise<void> {
    if (this.closePromise) return this.closePromise;
    this.reason = reason;
    this.clearTimers();
    this.bufferedCandidates = [];
    this.heldLocalCandidates = [];
    this.heldNegotiation = [];
    this.early = [];
    this.setState('closed');
    const pc = this.pc;
    this.closePromise = (pc ? pc.close() : Promise.resolve()).then(() => {
      this.log.debug('closed', { reason });
      this.safeEmit('closed', reason);
    });
    return this.closePromise;
  }

  // ---------------------------------------------------------------------------------------------

  private handlePayload(payload: Uint8Array | string, via: 'signaling' | 'data-channel'): void {
    const result = decodeSignalingMessage(payload);
    if (result.kind === 'error') {
      this.counters.malformedMessages++;
      this.log.warn('malformed signaling message', { via, code: result.error.code, error: result.error.message });
      return;
    }
    if (result.kind === 'unknown') {
      this.counters.unknownMessageTypes++;
      this.log.debug('ignored message of unknown type', { via, type: result.type });
      return;
    }
    const message = result.message;
    this.log.debug('received', { via, type: message.type });
    switch (message.type) {
      case 'InitialSetup':
        this.onPeerSetup(message);
        break;
      case 'Candidates':
        this.onPeerCandidates(message);
        break;
      case 'NegotiateChannels':
        this.queueNegotiation(this.negotiation.receive(message));
        this.tryApplyRemote();
        break;
      case 'MediaState': {
        const { type: _type, ...state } = message;
        this.safeEmit('remote-media-state', state);
        break;
      }
    }
  }

  private onPeerSetup(message: InitialSetupMessage): void {
    if (this.peerSetup) {
      const same =
        this.peerSetup.message.ufrag === message.ufrag &&
        this.peerSetup.message.pwd === message.pwd &&
        this.peerSetup.message.fingerprints[0]?.fingerprint === message.fingerprints[0]?.fingerprint;
      this.counters.ignoredMessages++;
      // tgcalls never sends a second one; libdatachannel cannot take new remote ICE credentials.
      if (!same) this.log.warn('ignored a changed InitialSetup (ICE restart is not supported)');
      return;
    }
    const fingerprint = validateRemoteSetup(message);
    if (fingerprint instanceof Error) {
      this.counters.malformedMessages++;
      this.log.warn('unusable InitialSetup', { code: fingerprint.code, error: fingerprint.message });
      return;
    }
    this.peerSetup = { message, fingerprint };
    this.tryApplyRemote();
  }

  private onPeerCandidates(message: CandidatesMessage): void {
    for (const candidate of message.candidates) {
      const verdict = classifyRemoteCandidate(candidate.sdpString);
      if (verdict !== 'ok') {
        this.counters.remoteCandidatesDropped++;
        this.log.debug('dropped remote candidate', { verdict });
        continue;
      }
      if (this.remoteApplied) {
        this.addRemoteCandidate(candidate.sdpString);
      } else if (this.bufferedCandidates.length < MAX_BUFFERED_CANDIDATES) {
        this.bufferedCandidates.push(candidate.sdpString);
      } else {
        this.counters.remoteCandidatesDropped++;
      }
    }
  }

  private addRemoteCandidate(sdpString: string): void {
    if (this.pc?.addRemoteCandidate(sdpString)) this.counters.remoteCandidatesAdded++;
    else this.counters.remoteCandidatesDropped++;
  }

  /** Applies the synthesized remote description once everything it needs is known. */
  private tryApplyRemote(): void {
    const pc = this.pc;
    const peer = this.peerSetup;
    if (this.remoteApplied || !pc || !peer || this.currentState === 'closed') return;
    // The caller also waits for the answer to its offer (the verified order of recipe §5).
    if (this.isOutgoing && !this.negotiation.offerAnswered) return;
    const peerSetupValue = peer.message.fingerprints[0]?.setup;
    try {
      if (this.isOutgoing) {
        const local = this.localInfo;
        if (!local) return;
        const sdp = buildRemoteDescription({
          ufrag: peer.message.ufrag,
          pwd: peer.message.pwd,
          fingerprint: peer.fingerprint,
          // Mirror of our actpass: the callee's own role if it states one, else passive (we are DTLS client).
          setup: peerSetupValue === 'active' ? 'active' : 'passive',
          sections: local.sections,
          payloadType: OPUS_PAYLOAD_TYPE,
          ...this.remoteSsrcField(),
        });
        pc.acceptAnswer(sdp);
        this.remoteApplied = true;
        const held = this.heldLocalCandidates;
        this.heldLocalCandidates = [];
        for (const c of held) this.send({ type: 'Candidates', candidates: [{ sdpString: c }] });
      } else {
        const sdp = buildRemoteDescription({
          ufrag: peer.message.ufrag,
          pwd: peer.message.pwd,
          fingerprint: peer.fingerprint,
          // The caller's actpass must read as active: with actpass libdatachannel would make itself
          // DTLS client and then refuse the caller's data channel on stream 0 (recipe §5).
          setup: peerSetupValue === 'passive' ? 'passive' : 'active',
          sections: LOCAL_SECTIONS,
          payloadType: OPUS_PAYLOAD_TYPE,
          ...this.remoteSsrcField(),
        });
        this.localInfo = pc.acceptOffer(sdp);
        this.remoteApplied = true;
        this.sendLocalSetup(this.localInfo);
      }
    } catch (err) {
      this.fail('error', err);
      return;
    }
    const buffered = this.bufferedCandidates;
    this.bufferedCandidates = [];
    for (const c of buffered) this.addRemoteCandidate(c);
  }

  private remoteSsrcField(): { remoteSsrc?: number } {
    const ssrc = this.negotiation.remoteParams?.ssrc;
    return ssrc !== undefined && ssrc > 0 ? { remoteSsrc: ssrc } : {};
  }

  private sendLocalSetup(local: LocalDescriptionInfo): void {
    this.send(initialSetupFromLocal(local));
    this.localSetupSent = true;
    const held = this.heldNegotiation;
    this.heldNegotiation = [];
    for (const m of held) this.send(m);
  }

  private queueNegotiation(step: NegotiationStep): void {
    let paramsChanged = false;
    for (const event of step.events) {
      switch (event.type) {
        case 'local-media-params':
        case 'remote-media-params':
          paramsChanged = true;
          this.log.debug(event.type, { ssrc: event.params.ssrc, exchangeId: event.params.exchangeId });
          break;
        case 'local-media-rejected':
          this.log.warn('the peer did not accept our audio', { exchangeId: event.exchangeId });
          break;
        case 'remote-media-absent':
          this.log.warn('the peer offered no Opus audio', { exchangeId: event.exchangeId });
          break;
        case 'message-ignored':
          this.counters.ignoredMessages++;
          this.log.debug('ignored NegotiateChannels', { exchangeId: event.exchangeId, reason: event.reason });
          break;
      }
    }
    for (const message of step.send) {
      // Our InitialSetup always precedes our NegotiateChannels.
      if (this.localSetupSent) this.send(message);
      else this.heldNegotiation.push(message);
    }
    if (paramsChanged) this.safeEmit('media-params', this.mediaParams);
  }

  private send(message: SignalingMessage): void {
    if (this.currentState === 'closed') return;
    this.counters.signalingOut++;
    this.log.debug('sending', { type: message.type });
    this.safeEmit('signaling', encodeSignalingMessage(message));
  }

  private onLocalCandidate(sdpString: string): void {
    if (this.currentState === 'closed') return;
    this.counters.localCandidates++;
    // libdatachannel race (0.24.5, still in its master): PeerConnection::setRemoteDescription hands
    // the description to ICE before storing it. If the peer already reached us with its checks
    // (it can once it has our candidates), ICE connects at once, DTLS runs on another thread and
    // the fingerprint check finds no remote description: "certificate verify failed", call lost
    // (reproduced on loopback when the peer's InitialSetup comes after its checks). The callee
    // gathers only after its remote description; the caller holds its candidates until then. Our
    // own checks (we are ICE controlling) still find the peer without them.
    if (this.isOutgoing && !this.remoteApplied) {
      if (this.heldLocalCandidates.length < MAX_BUFFERED_CANDIDATES) this.heldLocalCandidates.push(sdpString);
      return;
    }
    this.send({ type: 'Candidates', candidates: [{ sdpString }] });
  }

  private onPeerConnectionState(state: string): void {
    this.log.debug('peer connection state', { state });
    if (this.currentState === 'closed') return;
    switch (state) {
      case 'connected':
        this.clearTimer('connectTimer');
        this.clearTimer('reconnectTimer');
        if (!this.everConnected) {
          this.everConnected = true;
          this.counters.connectTimeMs = Math.round(performance.now() - this.startedAt);
          this.log.info('connected', { ms: this.counters.connectTimeMs });
          this.setState('connected');
          this.safeEmit('connected');
          this.dataChannelTimer = setTimeout(() => {
            this.dataChannelTimer = undefined;
            // The data channel did not open: MediaState goes over signaling (tgcalls accepts it there).
            if (!this.mediaStateDelivered) this.deliverMediaState();
          }, this.dataChannelGraceMs);
        } else {
          this.setState('connected');
        }
        if (!this.mediaStateDelivered) this.deliverMediaState();
        break;
      case 'disconnected':
        if (this.currentState === 'connected') {
          this.setState('connecting');
          this.reconnectTimer ??= setTimeout(() => {
            this.reconnectTimer = undefined;
            void this.close('disconnect');
          }, this.connectTimeoutMs);
        }
        break;
      case 'failed':
        this.setState('failed');
        void this.close('failed');
        break;
      case 'closed':
        // libdatachannel closes the peer connection itself when DTLS ends (peer hung up).
        void this.close('disconnect');
        break;
    }
  }

  private onMedia(packet: Buffer): void {
    switch (classifyMediaPacket(packet)) {
      case 'rtp':
        this.counters.rtpIn++;
        this.safeEmit('rtp', packet);
        break;
      case 'rtcp':
        this.counters.rtcpIn++;
        this.safeEmit('rtcp', packet);
        break;
      default:
        this.counters.mediaInMalformed++;
    }
  }

  private onDataChannelOpen(): void {
    this.log.debug('data channel open');
    this.deliverMediaState();
  }

  private onDataChannelMessage(message: string | Buffer): void {
    if (typeof message !== 'string') {
      // tgcalls ignores binary data channel messages.
      this.counters.ignoredMessages++;
      return;
    }
    // tgcalls feeds data channel text into the same dispatcher as signaling.
    this.handlePayload(message, 'data-channel');
  }

  /** Sends the current MediaState over the data channel, or over signaling when the channel refuses it. */
  private deliverMediaState(): void {
    const pc = this.pc;
    if (!pc || this.currentState === 'closed' || !this.everConnected) return;
    const message: SignalingMessage = { type: 'MediaState', ...this.mediaState };
    if (pc.isDataChannelOpen && pc.sendData(signalingMessageToJson(message))) {
      this.counters.mediaStateViaDataChannel++;
      this.mediaStateDelivered = true;
      return;
    }
    // Before the grace period ends, wait for the channel to open.
    if (!pc.isDataChannelOpen && this.dataChannelTimer !== undefined) return;
    this.counters.mediaStateViaSignaling++;
    this.mediaStateDelivered = true;
    this.send(message);
  }

  private isClosed(): boolean {
    return this.currentState === 'closed';
  }

  private setState(state: TransportState): void {
    if (this.currentState === state) return;
    this.currentState = state;
    this.safeEmit('state', state);
  }

  private fail(reason: CloseReason, err: unknown): void {
    this.reportError(err);
    void this.close(reason);
  }

  /** Emits `error` only when someone listens (an unheard 'error' would throw), logs it always. */
  private reportError(err: unknown): void {
    const error = toError(err);
    this.log.error('transport error', { error: error.message });
    if (this.listenerCount('error') > 0) {
      try {
        this.emit('error', error);
      } catch (err2) {
        this.log.error('an error listener threw', { error: toError(err2).message });
      }
    }
  }

  /** Emits an event; a throwing listener is reported, never propagated into native callbacks or the receive path. */
  private safeEmit<K extends keyof CallTransportEvents>(event: K, ...args: CallTransportEvents[K]): void {
    try {
      (this.emit as (event: K, ...args: CallTransportEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      if (event === 'error') return;
      this.reportError(err);
    }
  }

  private clearTimer(name: 'connectTimer' | 'reconnectTimer' | 'dataChannelTimer'): void {
    const timer = this[name];
    if (timer) clearTimeout(timer);
    this[name] = undefined;
  }

  private clearTimers(): void {
    this.clearTimer('connectTimer');
    this.clearTimer('reconnectTimer');
    this.clearTimer('dataChannelTimer');
  }
}
