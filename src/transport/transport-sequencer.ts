/**
 * The tgcalls v2 transport as a sans-I/O state machine: in which order the JSON signaling
 * (transport-v2.md §2-§3) and the peer connection's steps (§5) must happen, the connect
 * deadlines, and which way MediaState goes. No socket, no timer, no native object: inputs are
 * peer payloads, the peer connection's events, the answers to this machine's own requests, user
 * actions and `now` (ms); outputs are `TransportOutput`s (transport-types.ts), which the adapter
 * (call-transport.ts) performs in order, and `nextDeadline()`.
 *
 * The rules (each verified against ntgcalls 2.2.5 / 3.0.5, transport-v2.md §5):
 * - peer payloads are kept until our side can take them: the callee's once its peer connection
 *   exists, the caller's once its offer exists (payloads may arrive before `start()`);
 * - our InitialSetup always precedes our NegotiateChannels: negotiation messages are held until it
 *   went out;
 * - peer candidates may arrive before anything else (ntgcalls sends them and its offer before its
 *   InitialSetup): they are buffered, bounded, until our remote description is applied, and the
 *   caller holds its own until then (a libdatachannel race; both in candidate-gate.ts);
 * - the caller applies the synthesized remote answer (`a=setup:passive`) once the peer's
 *   InitialSetup and the answer to its offer are in; the callee applies the synthesized remote
 *   offer (`a=setup:active`) on the caller's InitialSetup, then sends its own InitialSetup;
 * - MediaState goes over the data channel when it accepts it, otherwise over signaling, but only
 *   after a grace period for the channel to open (the caller-side libdatachannel data channel
 *   race); it is accepted from both;
 * - a second InitialSetup is ignored (libdatachannel cannot take new remote ICE credentials);
 * - nothing on the receive path throws: bad input is counted in `stats` and logged.
 *
 * Candidates are plain `candidate:…` strings in and out: where our local ones come from and where
 * the peer's go (libjuice today, a tgcall socket layer later) is the adapter's business.
 */
import { TransportError, toError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { CandidateGate } from './candidate-gate.js';
import {
  decodeSignalingMessage,
  type InitialSetupMessage,
  type MediaState,
  type NegotiateChannelsMessage,
  type SignalingMessage,
} from './messages.js';
import { MediaStateDelivery, type MediaStateRoute } from './media-state-delivery.js';
import { ContentNegotiation, OPUS_PAYLOAD_TYPE, type NegotiationStep } from './negotiation.js';
import { LOCAL_SECTIONS } from './peer-connection-port.js';
import { buildRemoteDescription, initialSetupFromLocal, remoteSetupFor, validateRemoteSetup } from './sdp.js';
import type { LocalDescriptionInfo, RemoteDescriptionInput } from './sdp.js';
import type {
  CloseReason,
  MediaParams,
  SequencerStats,
  TransportOutput,
  TransportSequencerOptions,
  TransportState,
} from './transport-types.js';

/** Peer payloads kept while our side cannot take them yet. */
export const MAX_EARLY_PAYLOADS = 256;

/**
 * Our side's progress. `idle`: no peer connection yet. `creating-offer`: the caller asked for its
 * offer. `awaiting-remote`: the callee's peer connection exists; its local description (an answer)
 * comes with the caller's remote offer. `setup-sent`: our InitialSetup went out, so our
 * NegotiateChannels may follow. Peer payloads are kept in `early` in the first two.
 */
type LocalPhase = 'idle' | 'creating-offer' | 'awaiting-remote' | 'setup-sent';

export class TransportSequencer {
  readonly isOutgoing: boolean;
  private readonly log: Logger;
  private readonly connectTimeoutMs: number;
  private readonly negotiation: ContentNegotiation;
  private readonly outputs: TransportOutput[] = [];
  private readonly counters = { signalingIn: 0, malformedMessages: 0, unknownMessageTypes: 0, ignoredMessages: 0, droppedMessages: 0 };
  private connectTimeMs: number | undefined;
  private dataChannelOpenMs: number | undefined;
  private stateValue: TransportState = 'new';
  private reason: CloseReason | undefined;
  private startedAt = 0;
  private local: LocalPhase = 'idle';
  private early: (Uint8Array | string)[] = [];
  private localInfo: LocalDescriptionInfo | undefined;
  /** Our NegotiateChannels, held until our InitialSetup went out. */
  private heldNegotiation: NegotiateChannelsMessage[] = [];
  private peerSetup: { message: InitialSetupMessage; fingerprint: { hash: string; value: string } } | undefined;
  /** The synthesized remote description: not asked for, asked for (answer due), applied. */
  private remote: 'none' | 'applying' | 'applied' = 'none';
  /** Candidates both ways wait for the remote description. */
  private readonly candidates: CandidateGate;
  /** Our MediaState and its path (data channel or signaling). */
  private readonly ownMediaState: MediaStateDelivery;
  /** No connection since the peer connection exists, or connectivity lost: both end the transport. */
  private deadline: { readonly at: number; readonly kind: 'connect' | 'reconnect' } | undefined;

  constructor(options: TransportSequencerOptions) {
    this.isOutgoing = options.isOutgoing;
    this.log = options.logger ?? silentLogger;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 20_000;
    if (!(this.connectTimeoutMs > 0)) throw new RangeError('connectTimeoutMs must be positive');
    this.ownMediaState = new MediaStateDelivery(options.dataChannelGraceMs ?? 2_000);
    this.candidates = new CandidateGate(options.isOutgoing, options.remoteCandidateVerdict);
    this.negotiation = new ContentNegotiation({ isOutgoing: options.isOutgoing, localSsrc: options.ssrc, randomUint32: options.randomUint32 });
  }

  get state(): TransportState {
    return this.stateValue;
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

  get stats(): Readonly<SequencerStats> {
    const { viaDataChannel, viaSignaling } = this.ownMediaState.stats;
    return {
      ...this.counters,
      ...this.candidates.stats,
      mediaStateViaDataChannel: viaDataChannel,
      mediaStateViaSignaling: viaSignaling,
      connectTimeMs: this.connectTimeMs,
      dataChannelOpenMs: this.dataChannelOpenMs,
    };
  }

  /** Outputs produced since the last call, to be performed in order. */
  takeOutputs(): TransportOutput[] {
    return this.outputs.splice(0, this.outputs.length);
  }

  /** The next output, or undefined (lets an adapter stop in the middle when it is closed). */
  takeOutput(): TransportOutput | undefined {
    return this.outputs.shift();
  }

  /** When `tick` has something to do; undefined when nothing is pending. */
  nextDeadline(): number | undefined {
    const grace = this.ownMediaState.deadline;
    const at = this.deadline?.at;
    return grace === undefined ? at : at === undefined ? grace : Math.min(at, grace);
  }

  // ---- inputs: the adapter's life cycle ------------------------------------------------------

  /** Begins (state `connecting`). Throws only when called twice or after close (API misuse). */
  start(now: number): void {
    if (this.stateValue !== 'new') throw new TransportError('TRANSPORT_STARTED', `start() in state ${this.stateValue}`);
    this.startedAt = now;
    this.setState('connecting');
  }

  /** The peer connection exists: negotiation begins; the caller asks for its offer. */
  peerConnectionCreated(now: number): void {
    if (this.stateValue !== 'connecting' || this.local !== 'idle') return;
    this.deadline = { at: now + this.connectTimeoutMs, kind: 'connect' };
    this.local = this.isOutgoing ? 'creating-offer' : 'awaiting-remote';
    this.queueNegotiation(this.negotiation.start());
    if (this.isOutgoing) this.outputs.push({ type: 'create-offer' });
    else this.processEarly();
  }

  /** Ends the transport (idempotent). Outputs not yet performed are dropped: nothing goes out after close. */
  close(reason: CloseReason): void {
    if (this.stateValue === 'closed') return;
    this.outputs.length = 0;
    this.finish(reason);
  }

  /** Deadlines due at `now` (connect, reconnect, data channel grace). */
  tick(now: number): void {
    if (this.stateValue === 'closed') return;
    // In deadline order: a grace that ended first still delivers.
    const graceFirst = (this.ownMediaState.deadline ?? Infinity) <= (this.deadline?.at ?? Infinity);
    // The data channel did not open in time: MediaState goes over signaling (tgcalls accepts it there).
    if (graceFirst) this.route(this.ownMediaState.tick(now));
    if (this.deadline && now >= this.deadline.at) {
      if (this.deadline.kind === 'connect') this.log.warn('not connected in time', { timeoutMs: this.connectTimeoutMs });
      this.finish('disconnect');
      return;
    }
    if (!graceFirst) this.route(this.ownMediaState.tick(now));
  }

  // ---- inputs: answers to our requests -------------------------------------------------------

  /** Caller: the answer to `create-offer`. Sends our InitialSetup (then our held offer). */
  localDescriptionCreated(offer: LocalDescriptionInfo): void {
    if (this.stateValue === 'closed' || this.local !== 'creating-offer') return;
    this.localInfo = offer;
    this.sendLocalSetup(offer);
    this.processEarly();
  }

  /** Caller: the remote answer of `apply-remote-description` is applied. */
  remoteAnswerApplied(): void {
    if (this.stateValue === 'closed' || this.remote !== 'applying' || !this.isOutgoing) return;
    this.remote = 'applied';
    const { send, add } = this.candidates.open();
    for (const c of send) this.send({ type: 'Candidates', candidates: [{ sdpString: c }] });
    this.addRemoteCandidates(add);
  }

  /** Callee: the remote offer of `apply-remote-description` is applied and `answer` is our local answer. */
  remoteOfferApplied(answer: LocalDescriptionInfo): void {
    if (this.stateValue === 'closed' || this.remote !== 'applying' || this.isOutgoing) return;
    this.remote = 'applied';
    this.localInfo = answer;
    this.sendLocalSetup(answer);
    this.addRemoteCandidates(this.candidates.open().add);
  }

  /** The answer to `add-remote-candidate`: false when the ICE agent refused it. */
  remoteCandidateAdded(ok: boolean): void {
    this.candidates.added(ok);
  }

  /** The answer to `send-data`: false when the data channel refused the message (then it goes over signaling). */
  dataChannelSent(ok: boolean): void {
    if (this.stateValue === 'closed') return;
    this.route(this.ownMediaState.sent(ok));
  }

  // ---- inputs: the peer and the peer connection ----------------------------------------------

  /** A decrypted signaling payload from the peer (one JSON message). Never throws. */
  receive(payload: Uint8Array | string): void {
    if (this.stateValue === 'closed') {
      this.counters.droppedMessages++;
      return;
    }
    if (this.local === 'idle' || this.local === 'creating-offer') {
      if (this.early.length < MAX_EARLY_PAYLOADS) this.early.push(typeof payload === 'string' ? payload : Uint8Array.from(payload));
      else this.counters.droppedMessages++;
      return;
    }
    this.counters.signalingIn++;
    this.handlePayload(payload, 'signaling');
  }

  /** A data channel message from the peer. */
  dataChannelMessage(message: string | Uint8Array): void {
    if (this.stateValue === 'closed') return;
    if (typeof message !== 'string') {
      // tgcalls ignores binary data channel messages.
      this.counters.ignoredMessages++;
      return;
    }
    // tgcalls feeds data channel text into the same dispatcher as signaling.
    this.handlePayload(message, 'data-channel');
  }

  /** One of our ICE candidates (`candidate:…`, without `a=`); the caller holds them (candidate-gate.ts). */
  localCandidate(sdpString: string): void {
    if (this.stateValue === 'closed') return;
    const due = this.candidates.local(sdpString);
    if (due !== undefined) this.send({ type: 'Candidates', candidates: [{ sdpString: due }] });
  }

  /** The peer connection's state: new, connecting, connected, disconnected, failed, closed. */
  peerConnectionState(state: string, now: number): void {
    this.log.debug('peer connection state', { state });
    if (this.stateValue === 'closed') return;
    switch (state) {
      case 'connected':
        this.markConnected(now);
        break;
      case 'disconnected':
        if (this.stateValue === 'connected') {
          this.setState('connecting');
          this.deadline = { at: now + this.connectTimeoutMs, kind: 'reconnect' };
        }
        break;
      case 'failed':
        this.setState('failed');
        this.finish('failed');
        break;
      case 'closed':
        // libdatachannel closes the peer connection itself when DTLS ends (peer hung up).
        this.finish('disconnect');
        break;
    }
  }

  /**
   * Our audio track opened (DTLS-SRTP is up): the call is connected and media flows, before
   * libdatachannel's own `connected` (which waits for the SCTP association; under loss that cost
   * a second of silence at the start of calls, issue 14 item 3). MediaState still waits for the
   * data channel or the grace.
   */
  mediaOpened(now: number): void {
    if (this.stateValue === 'closed' || this.connectTimeMs !== undefined) return;
    this.log.debug('media open');
    this.markConnected(now);
  }

  dataChannelOpened(now?: number): void {
    if (this.stateValue === 'closed') return;
    if (now !== undefined) this.dataChannelOpenMs ??= Math.round(now - this.startedAt);
    this.log.debug('data channel open');
    this.route(this.ownMediaState.channelOpened());
  }

  dataChannelClosed(): void {
    this.log.debug('data channel closed');
    this.ownMediaState.channelClosed();
  }

  private markConnected(now: number): void {
    this.deadline = undefined;
    if (this.connectTimeMs === undefined) {
      this.connectTimeMs = Math.round(now - this.startedAt);
      this.log.info('connected', { ms: this.connectTimeMs });
      this.setState('connected');
      this.outputs.push({ type: 'connected' });
    } else {
      this.setState('connected');
    }
    this.route(this.ownMediaState.connectedAt(now));
  }

  // ---- inputs: user actions ------------------------------------------------------------------

  /** Updates our MediaState (mute, battery, video); delivered when connected and whenever it changes. */
  setMediaState(change: Partial<MediaState>): void {
    const route = this.ownMediaState.set(change);
    if (this.stateValue !== 'closed') this.route(route);
  }

  // ---------------------------------------------------------------------------------------------

  private processEarly(): void {
    const early = this.early;
    this.early = [];
    for (const payload of early) this.receive(payload);
  }

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
      case 'Candidates': {
        const strings = message.candidates.map((c) => c.sdpString);
        this.addRemoteCandidates(this.candidates.remote(strings, (verdict) => this.log.debug('dropped remote candidate', { verdict })));
        break;
      }
      case 'NegotiateChannels':
        this.queueNegotiation(this.negotiation.receive(message));
        this.tryApplyRemote();
        break;
      case 'MediaState': {
        const { type: _type, ...state } = message;
        this.outputs.push({ type: 'remote-media-state', state });
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

  private addRemoteCandidates(candidates: readonly string[]): void {
    for (const candidate of candidates) this.outputs.push({ type: 'add-remote-candidate', candidate });
  }

  /** Asks for the synthesized remote description once everything it needs is known (recipe §5). */
  private tryApplyRemote(): void {
    const peer = this.peerSetup;
    if (this.remote !== 'none' || this.local === 'idle' || !peer || this.stateValue === 'closed') return;
    // The caller also waits for the answer to its offer (the verified order of recipe §5).
    if (this.isOutgoing && (!this.negotiation.offerAnswered || !this.localInfo)) return;
    const remoteSsrc = this.negotiation.remoteParams?.ssrc;
    const description: RemoteDescriptionInput = {
      ufrag: peer.message.ufrag,
      pwd: peer.message.pwd,
      fingerprint: peer.fingerprint,
      setup: remoteSetupFor(this.isOutgoing, peer.message.fingerprints[0]?.setup),
      // The callee mirrors the fixed layout: its own description does not exist yet.
      sections: this.isOutgoing ? this.localInfo!.sections : LOCAL_SECTIONS,
      payloadType: OPUS_PAYLOAD_TYPE,
      ...(remoteSsrc !== undefined && remoteSsrc > 0 ? { remoteSsrc } : {}),
    };
    let sdp: string;
    try {
      sdp = buildRemoteDescription(description);
    } catch (err) {
      this.finish('error', toError(err));
      return;
    }
    this.remote = 'applying';
    this.outputs.push({ type: 'apply-remote-description', sdpType: this.isOutgoing ? 'answer' : 'offer', description, sdp });
  }

  private sendLocalSetup(local: LocalDescriptionInfo): void {
    this.send(initialSetupFromLocal(local));
    this.local = 'setup-sent';
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
      if (this.local === 'setup-sent') this.send(message);
      else this.heldNegotiation.push(message);
    }
    if (paramsChanged) this.outputs.push({ type: 'media-params', params: this.mediaParams });
  }

  private send(message: SignalingMessage): void {
    if (this.stateValue === 'closed') return;
    this.outputs.push({ type: 'send', message });
  }

  private route(route: MediaStateRoute | undefined): void {
    if (route?.via === 'data-channel') this.outputs.push({ type: 'send-data', message: route.message });
    else if (route) this.send(route.message);
  }

  private setState(state: TransportState): void {
    if (this.stateValue === state) return;
    this.stateValue = state;
    this.outputs.push({ type: 'state', state });
  }

  /** The one way to `closed`: drops everything held, reports `error` first if any. */
  private finish(reason: CloseReason, error?: Error): void {
    if (this.stateValue === 'closed') return;
    this.reason = reason;
    this.early = [];
    this.candidates.clear();
    this.heldNegotiation = [];
    this.deadline = undefined;
    this.ownMediaState.stop();
    if (error) this.outputs.push({ type: 'error', error });
    this.setState('closed');
    this.outputs.push({ type: 'close', reason });
  }
}
