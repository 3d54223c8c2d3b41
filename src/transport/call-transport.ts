/**
 * The call transport: tgcalls v2 JSON signaling driving a peer connection (ICE, DTLS-SRTP, SCTP
 * data channel; libdatachannel by default) for either role, carrying RTP/RTCP and MediaState.
 *
 * A thin adapter, like crypto/signaling-channel-runner.ts: every ordering rule lives in the
 * sans-I/O `TransportSequencer` (transport-sequencer.ts). This class owns the peer connection
 * (a `PeerConnectionPort`), the network edge (through edge-link.ts), the one timer (at the
 * sequencer's `nextDeadline()`), the clock and the events (typed in call-transport-types.ts); it
 * feeds the sequencer its inputs and performs its outputs in order, answering the four that ask a
 * question before taking the next. Media packets bypass the sequencer: they only need its
 * `canSendMedia` gate.
 *
 * It sees only plaintext JSON payloads: `receiveSignaling(payload)` in, the `signaling` event out
 * (the encrypted signaling channel lives in src/crypto). Nothing on the receive path or in a
 * native callback throws: failures are counted in `stats`, logged and reported as `error`.
 */
import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { TransportError, toError } from '../errors.js';
import { safeEmit } from '../safe-emit.js';
import { silentLogger, type Logger } from '../logger.js';
import { parseIceCandidate, type PathInfo } from '../network/index.js';
import type { CallTransportEvents, CallTransportOptions, TransportStats } from './call-transport-types.js';
import { EdgeLink, type TransportDiagnosis } from './edge-link.js';
import { encodeSignalingMessage, signalingMessageToJson, type MediaState } from './messages.js';
import { OPUS_PAYLOAD_TYPE } from './negotiation.js';
import { CallPeerConnection } from './peer-connection.js';
import type { CandidatePair, PeerConnectionPort } from './peer-connection-port.js';
import { classifyMediaPacket } from './rtp-demux.js';
import { TransportSequencer } from './transport-sequencer.js';
import type { CloseReason, MediaParams, TransportOutput, TransportState } from './transport-types.js';

export type { CallTransportEvents, CallTransportOptions, TransportStats } from './call-transport-types.js';
export type { CloseReason, MediaParams, TransportState } from './transport-types.js';
export type { TransportDiagnosis } from './edge-link.js';

/** How long a closing transport waits for libjuice's close_notify to leave through the edge. */
const FAREWELL_MS = 200;

/** Outputs performed per pump at most: a bound on any feedback loop between the sequencer and the port. */
const MAX_OUTPUTS_PER_PUMP = 100_000;

export class CallTransport extends EventEmitter<CallTransportEvents> {
  readonly isOutgoing: boolean;
  /** Our audio SSRC. */
  readonly ssrc: number;
  private readonly options: CallTransportOptions;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly sequencer: TransportSequencer;
  private port: PeerConnectionPort | undefined;
  /** The sockets facing the network (src/network); libjuice talks only to its loopback proxies. */
  private readonly edge: EdgeLink;
  private pumping = false;
  private timer: NodeJS.Timeout | undefined;
  private timerAt: number | undefined;
  private released = false;
  private readonly closedPromise: Promise<void>;
  private resolveClosed: () => void = () => {};
  private readonly counters = { signalingOut: 0, rtpIn: 0, rtcpIn: 0, mediaInMalformed: 0, rtpOut: 0, rtcpOut: 0, mediaOutDropped: 0 };

  constructor(options: CallTransportOptions) {
    super();
    this.options = options;
    this.isOutgoing = options.isOutgoing;
    this.log = (options.logger ?? silentLogger).child(options.isOutgoing ? 'transport:caller' : 'transport:callee');
    this.now = options.now ?? (() => performance.now());
    const ssrc = options.ssrc ?? randomInt(1, 0x1_0000_0000);
    if (!Number.isInteger(ssrc) || ssrc <= 0 || ssrc > 0xffffffff) throw new RangeError('ssrc must be a non-zero uint32');
    this.ssrc = ssrc;
    this.sequencer = new TransportSequencer({
      isOutgoing: options.isOutgoing,
      ssrc,
      randomUint32: options.randomUint32 ?? (() => randomInt(0, 0x1_0000_0000)),
      connectTimeoutMs: options.network?.connectTimeoutMs,
      dataChannelGraceMs: options.dataChannelGraceMs,
      // The network edge judges peer candidates itself (reflector hostnames included) and counts its drops.
      remoteCandidateVerdict: (c) => (parseIceCandidate(c) ? 'ok' : 'malformed'),
      logger: this.log,
    });
    this.edge = new EdgeLink({
      isOutgoing: options.isOutgoing,
      network: options.network,
      relayOnly: options.relayOnly,
      connections: options.connections,
      standaloneReflectors: options.standaloneReflectors,
      createNetworkEdge: options.createNetworkEdge,
      logger: this.log,
      localCandidate: (line) => this.input(() => this.sequencer.localCandidate(line)),
      engineCandidate: (line) => {
        if (this.port && !this.port.addRemoteCandidate(line)) this.log.debug('libjuice refused a proxy candidate', { line });
      },
      selectedCandidatePair: () => this.selectedCandidatePair(),
      peerSilent: () => this.input(() => this.sequencer.peerConnectionState('disconnected', this.now())),
      peerBack: () => {
        if (this.sequencer.state === 'connecting') this.input(() => this.sequencer.peerConnectionState('connected', this.now()));
      },
      fail: (err) => this.fail(err),
    });
    this.closedPromise = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  get state(): TransportState {
    return this.sequencer.state;
  }

  /** Why the transport closed (undefined while open). */
  get closeReason(): CloseReason | undefined {
    return this.sequencer.closeReason;
  }

  /** True once the peer answered our offer accepting Opus: RTP may be sent (official clients drop earlier media). */
  get canSendMedia(): boolean {
    return this.sequencer.canSendMedia;
  }

  get mediaParams(): MediaParams {
    return this.sequencer.mediaParams;
  }

  get stats(): Readonly<TransportStats> {
    const { signalingIn, mediaStateViaDataChannel, mediaStateViaSignaling, connectTimeMs, dataChannelOpenMs, ...rest } = this.sequencer.stats;
    const { signalingOut, ...media } = this.counters;
    // The historical field order (it shows in logs and stats dumps).
    return {
      signalingIn,
      signalingOut,
      ...rest,
      ...media,
      mediaStateViaDataChannel,
      mediaStateViaSignaling,
      connectTimeMs,
      dataChannelOpenMs,
      network: this.edge.edge?.getStats(),
      path: this.path(),
    };
  }

  /** Creates the peer connection and begins signaling. Throws only when called twice or after close. */
  start(): void {
    if (this.state !== 'new') throw new TransportError('TRANSPORT_STARTED', `start() in state ${this.state}`);
    this.input(() => this.sequencer.start(this.now()));
    // A 'state' listener may have closed us already.
    if (this.sequencer.state === 'closed') return;
    try {
      const create = this.options.createPeerConnection ?? ((o) => new CallPeerConnection(o));
      this.port = create({
        name: this.isOutgoing ? 'tgcall-caller' : 'tgcall-callee',
        isOutgoing: this.isOutgoing,
        // libjuice runs on loopback only; the network edge owns every socket facing the network.
        network: { bindAddress: '127.0.0.1' },
        relayOnly: false,
        ssrc: this.ssrc,
        payloadType: OPUS_PAYLOAD_TYPE,
        logger: this.log,
        sink: {
          localCandidate: (c) => this.edge.engineCandidate(c),
          stateChange: (s) => this.input(() => this.sequencer.peerConnectionState(s, this.now())),
          media: (p) => this.onMedia(p),
          mediaOpen: () => this.input(() => this.sequencer.mediaOpened(this.now())),
          dataChannelOpen: () => this.input(() => this.sequencer.dataChannelOpened(this.now())),
          dataChannelMessage: (m) => this.input(() => this.sequencer.dataChannelMessage(m)),
          dataChannelClosed: () => this.input(() => this.sequencer.dataChannelClosed()),
          error: (err) => this.reportError(err),
        },
      });
    } catch (err) {
      this.fail(err);
      return;
    }
    this.edge.open();
    this.input(() => this.sequencer.peerConnectionCreated(this.now()));
  }

  /** A decrypted signaling payload from the peer (one JSON message). Never throws. */
  receiveSignaling(payload: Uint8Array | string): void {
    this.input(() => this.sequencer.receive(payload));
  }

  /** Sends one RTP packet (our SSRC and payload type). False when dropped: not negotiated or not connected yet, or closed. */
  sendRtp(packet: Uint8Array): boolean {
    if (!this.port || this.state === 'closed' || !this.sequencer.canSendMedia || !this.port.sendMedia(packet)) {
      this.counters.mediaOutDropped++;
      return false;
    }
    this.counters.rtpOut++;
    return true;
  }

  /** Sends one RTCP packet. False when dropped (not connected yet, or closed). */
  sendRtcp(packet: Uint8Array): boolean {
    if (!this.port || this.state === 'closed' || !this.port.sendMedia(packet)) {
      this.counters.mediaOutDropped++;
      return false;
    }
    this.counters.rtcpOut++;
    return true;
  }

  /** Updates our MediaState (mute, battery, video); sent when connected and whenever it changes. */
  setMediaState(state: Partial<MediaState>): void {
    this.input(() => this.sequencer.setMediaState(state));
  }

  /** libjuice's candidate pair in use (its remote side is a loopback proxy), or null before connecting / after close. */
  selectedCandidatePair(): CandidatePair | null {
    return this.port?.selectedCandidatePair() ?? null;
  }

  /** What the network edge tried (routes, relays, drops) and whether no path could reach the peer: for the error of a call that could not connect. */
  diagnosis(): TransportDiagnosis | undefined {
    return this.edge.diagnosis();
  }

  /** The route carrying the call: which kind of path, which peer address, which relay server. */
  path(): PathInfo | undefined {
    return this.edge.path();
  }

  /**
   * Ends the transport and releases the timer and every native handle. Idempotent; resolves when
   * the native handles are released (then `closed` is emitted).
   */
  close(reason: CloseReason = 'local'): Promise<void> {
    this.input(() => this.sequencer.close(reason));
    return this.closedPromise;
  }

  // ---------------------------------------------------------------------------------------------

  /** Feeds the sequencer one input, then performs what it produced. */
  private input(action: () => void): void {
    try {
      action();
    } catch (err) {
      this.reportError(err);
    }
    this.pump();
  }

  /**
   * Performs the sequencer's outputs in order, one at a time: a listener may feed another input
   * (queued behind) or close the transport (what was not performed yet is dropped).
   */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let i = 0; i < MAX_OUTPUTS_PER_PUMP; i++) {
        const out = this.sequencer.takeOutput();
        if (!out) break;
        try {
          this.perform(out);
        } catch (err) {
          this.reportError(err);
        }
      }
    } finally {
      this.pumping = false;
    }
    this.schedule();
  }

  private perform(out: TransportOutput): void {
    const port = this.port;
    switch (out.type) {
      case 'send':
        this.counters.signalingOut++;
        this.log.debug('sending', { type: out.message.type });
        this.safeEmit('signaling', encodeSignalingMessage(out.message));
        return;
      case 'send-data':
        this.sequencer.dataChannelSent(!!port && port.isDataChannelOpen && port.sendData(signalingMessageToJson(out.message)));
        return;
      case 'create-offer':
        if (port) {
          this.answer(() => {
            const offer = port.createOffer();
            this.edge.with((edge) => edge.setLocalCredentials(offer.ufrag, offer.pwd));
            this.sequencer.localDescriptionCreated(offer);
          });
        }
        return;
      case 'apply-remote-description':
        if (!port) return;
        if (out.sdpType === 'answer') {
          this.answer(() => {
            port.acceptAnswer(out.sdp);
            this.edge.with((edge) => edge.remoteDescriptionApplied());
            this.sequencer.remoteAnswerApplied();
          });
        } else {
          this.answer(() => {
            const answer = port.acceptOffer(out.sdp);
            this.edge.with((edge) => {
              edge.setLocalCredentials(answer.ufrag, answer.pwd);
              edge.remoteDescriptionApplied();
            });
            this.sequencer.remoteOfferApplied(answer);
          });
        }
        return;
      case 'add-remote-candidate': {
        const candidate = out.candidate;
        this.edge.with((edge) => edge.addRemoteCandidate(candidate));
        this.sequencer.remoteCandidateAdded(!!port);
        return;
      }
      case 'state':
        this.safeEmit('state', out.state);
        return;
      case 'connected': {
        this.edge.with((edge) => edge.connected());
        const path = this.path();
        if (path) this.log.info('path', { ...path });
        this.safeEmit('connected');
        return;
      }
      case 'remote-media-state':
        this.safeEmit('remote-media-state', out.state);
        return;
      case 'media-params':
        this.safeEmit('media-params', out.params);
        return;
      case 'error':
        this.reportError(out.error);
        return;
      case 'close':
        this.release(out.reason);
        return;
    }
  }

  /** Runs a native step whose failure ends the transport with `error`. */
  private answer(step: () => void): void {
    try {
      step();
    } catch (err) {
      this.fail(err);
    }
  }

  /** Releases the timer, the edge's sockets and the peer connection once; `closed` follows. */
  private release(reason: CloseReason): void {
    if (this.released) return;
    this.clearTimer();
    // What the edge tried and the route, kept before its routes are forgotten (the `closed` listener reads them).
    this.edge.release();
    this.released = true;
    const port = this.port;
    void (port ? port.close() : Promise.resolve())
      .catch((err: unknown) => this.reportError(err))
      // The peer connection's last datagram (DTLS close_notify: the peer then ends with
      // `disconnect` at once) still leaves through the edge: wait for it, briefly.
      .then(() => (reason === 'local' ? this.edge.edge?.farewell(FAREWELL_MS) : undefined))
      .then(() => this.edge.close((err) => this.reportError(err)))
      .then(() => {
        this.log.debug('closed', { reason });
        this.safeEmit('closed', reason);
        this.resolveClosed();
      });
  }

  private schedule(): void {
    const at = this.state === 'closed' ? undefined : this.sequencer.nextDeadline();
    if (at === this.timerAt) return;
    this.clearTimer();
    if (at === undefined) return;
    this.timerAt = at;
    // Rounded up: a timer firing before the deadline would only be re-armed.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = undefined;
      this.input(() => this.sequencer.tick(this.now()));
    }, Math.max(0, Math.ceil(at - this.now())));
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = undefined;
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

  private fail(err: unknown): void {
    this.reportError(err);
    void this.close('error');
  }

  /** Logs a failure and emits `error` to whoever listens (an unheard 'error' is dropped, never thrown). */
  private reportError(err: unknown): void {
    const error = toError(err);
    try {
      this.log.error('transport error', { error: error.message });
    } catch {
      // a throwing logger is ignored (safe-emit.ts)
    }
    safeEmit(this, this.log, 'error', error);
  }

  /**
   * Emits through the library's one guarded emit (src/safe-emit.ts): each listener in its own try,
   * so a throwing listener neither skips the later ones nor reaches the node-datachannel callback,
   * timer or receive path that emitted; what it threw goes to the 'error' listeners.
   */
  private safeEmit<K extends keyof CallTransportEvents & string>(event: K, ...args: CallTransportEvents[K]): void {
    safeEmit(this, this.log, event, ...args);
  }
}
