/**
 * The call transport: tgcalls v2 JSON signaling driving a peer connection (ICE, DTLS-SRTP, SCTP
 * data channel; libdatachannel by default) for either role, carrying RTP/RTCP and MediaState.
 *
 * A thin adapter, like crypto/signaling-channel-runner.ts: every ordering rule lives in the
 * sans-I/O `TransportSequencer` (transport-sequencer.ts). This class owns the peer connection
 * (a `PeerConnectionPort`), the one timer (at the sequencer's `nextDeadline()`), the clock and the
 * events; it feeds the sequencer its inputs and performs its outputs in order, answering the four
 * that ask a question before taking the next. Media packets bypass the sequencer: they only need
 * its `canSendMedia` gate.
 *
 * It sees only plaintext JSON payloads: `receiveSignaling(payload)` in, the `signaling` event out
 * (the encrypted signaling channel lives in src/crypto). Nothing on the receive path or in a
 * native callback throws: failures are counted in `stats`, logged and reported as `error`.
 */
import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { networkInterfaces } from 'node:os';
import { TransportError, toError } from '../errors.js';
import { safeEmit } from '../safe-emit.js';
import { silentLogger, type Logger } from '../logger.js';
import {
  classifyAddress,
  hostAddresses,
  NetworkEdge,
  parseIceCandidate,
  planServers,
  type CallServerInput,
  type EdgeStats,
  type MuxEvent,
  type NetworkEdgeOptions,
  type NetworkEdgePort,
  type PathInfo,
} from '../network/index.js';
import { encodeSignalingMessage, signalingMessageToJson, type MediaState } from './messages.js';
import { OPUS_PAYLOAD_TYPE } from './negotiation.js';
import type { NetworkOptions } from './network-options.js';
import { CallPeerConnection } from './peer-connection.js';
import type { CandidatePair, CreatePeerConnection, PeerConnectionPort } from './peer-connection-port.js';
import { classifyMediaPacket } from './rtp-demux.js';
import { TransportSequencer } from './transport-sequencer.js';
import type { CloseReason, MediaParams, SequencerStats, TransportOutput, TransportState } from './transport-types.js';

export type { CloseReason, MediaParams, TransportState } from './transport-types.js';

export interface CallTransportOptions {
  /** True on the side that placed the call (caller: ICE controlling, DTLS actpass → client). */
  readonly isOutgoing: boolean;
  /** ICE servers, bind address, port range and connect timeout. */
  readonly network?: NetworkOptions;
  /** `p2p_allowed = false`: no direct path and no host or server-reflexive candidate, only relays. */
  readonly relayOnly?: boolean;
  /** The call's `phoneCall.connections`: Telegram reflectors and TURN/STUN servers. */
  readonly connections?: readonly CallServerInput[];
  /** `network_standalone_reflectors`: reflector candidates are made up, not signalled (reflector.md §7). */
  readonly standaloneReflectors?: boolean;
  /** After connecting, how long MediaState waits for the data channel before going over signaling. Default 2000. */
  readonly dataChannelGraceMs?: number;
  readonly logger?: Logger;
  /** Our audio SSRC (non-zero uint32); random by default. */
  readonly ssrc?: number;
  /** Random uint32 source for exchange ids (tests inject a seeded one). */
  readonly randomUint32?: () => number;
  /** The peer connection; default: libdatachannel's (`CallPeerConnection`). Tests inject fakes. */
  readonly createPeerConnection?: CreatePeerConnection;
  /** The network edge; default: `NetworkEdge.open` (binds its sockets). Tests inject fakes. */
  readonly createNetworkEdge?: (options: NetworkEdgeOptions) => NetworkEdgePort | Promise<NetworkEdgePort>;
  /** Monotonic clock in ms for the deadlines and `connectTimeMs`; default `performance.now`. */
  readonly now?: () => number;
}

export interface TransportStats extends SequencerStats {
  signalingOut: number;
  rtpIn: number;
  rtcpIn: number;
  /** Incoming packets that are neither RTP nor RTCP. */
  mediaInMalformed: number;
  rtpOut: number;
  rtcpOut: number;
  /** Outgoing packets dropped: before our offer was answered, before the track opened, or after close. */
  mediaOutDropped: number;
  /** The network edge (sockets, routes, relays); undefined until its sockets are bound. */
  network: EdgeStats | undefined;
  /** The route carrying the call (libjuice's selected pair), once connected. */
  path: PathInfo | undefined;
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
  private edge: NetworkEdgePort | undefined;
  /** What was for the edge before its sockets were bound, in order; undefined once released. */
  private edgeQueue: ((edge: NetworkEdgePort) => void)[] | undefined = [];
  private edgeOpening: Promise<NetworkEdgePort | undefined> | undefined;
  private finalDiagnosis: TransportDiagnosis | undefined;
  private lastPath: PathInfo | undefined;
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
      network: this.edge?.getStats(),
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
          localCandidate: (c) => this.onEngineCandidate(c),
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
    this.openEdge();
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
    return this.finalDiagnosis ?? diagnose(this.edge);
  }

  /** The route carrying the call: which kind of path, which peer address, which relay server. */
  path(): PathInfo | undefined {
    // After close, or once the peer's close_notify took the pair away: the route the call last
    // had (looked up at least at 'connected'), so a call the peer ended still reports how it went.
    if (this.released) return this.lastPath;
    const pair = this.selectedCandidatePair();
    const path = pair && this.edge ? this.edge.pathInfo(pair.remote.port) : undefined;
    if (path) this.lastPath = path;
    return path;
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
            this.withEdge((edge) => edge.setLocalCredentials(offer.ufrag, offer.pwd));
            this.sequencer.localDescriptionCreated(offer);
          });
        }
        return;
      case 'apply-remote-description':
        if (!port) return;
        if (out.sdpType === 'answer') {
          this.answer(() => {
            port.acceptAnswer(out.sdp);
            this.withEdge((edge) => edge.remoteDescriptionApplied());
            this.sequencer.remoteAnswerApplied();
          });
        } else {
          this.answer(() => {
            const answer = port.acceptOffer(out.sdp);
            this.withEdge((edge) => {
              edge.setLocalCredentials(answer.ufrag, answer.pwd);
              edge.remoteDescriptionApplied();
            });
            this.sequencer.remoteOfferApplied(answer);
          });
        }
        return;
      case 'add-remote-candidate': {
        const candidate = out.candidate;
        this.withEdge((edge) => edge.addRemoteCandidate(candidate));
        this.sequencer.remoteCandidateAdded(!!port);
        return;
      }
      case 'state':
        this.safeEmit('state', out.state);
        return;
      case 'connected': {
        this.withEdge((edge) => edge.connected());
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
    this.edgeQueue = undefined;
    // What the edge tried, kept before its routes are forgotten (the `closed` listener reads it).
    this.finalDiagnosis = diagnose(this.edge);
    this.lastPath = this.path() ?? this.lastPath;
    this.released = true;
    const port = this.port;
    void (port ? port.close() : Promise.resolve())
      .catch((err: unknown) => this.reportError(err))
      // The peer connection's last datagram (DTLS close_notify: the peer then ends with
      // `disconnect` at once) still leaves through the edge: wait for it, briefly.
      .then(() => (reason === 'local' ? this.edge?.farewell(FAREWELL_MS) : undefined))
      .then(() => this.edgeClosed())
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

  /** Binds the edge's sockets (asynchronous); what is meant for it meanwhile waits in `edgeQueue`. */
  private openEdge(): void {
    const network = this.options.network ?? {};
    const bindAddress = network.bindAddress;
    const allowDirect = !(this.options.relayOnly ?? false);
    const interfaces = networkInterfaces();
    const options: NetworkEdgeOptions = {
      isOutgoing: this.isOutgoing,
      allowDirect,
      servers: planServers({
        connections: this.options.connections ?? [],
        ...(network.iceServers ? { iceServers: network.iceServers } : {}),
        allowDirect,
        ipv6: hostAddresses(interfaces).ipv6.length > 0,
      }),
      ...(bindAddress !== undefined ? { bindAddress } : {}),
      ...(network.portRange ? { portRange: network.portRange } : {}),
      standaloneReflectors: this.options.standaloneReflectors ?? false,
      // Calls on one machine (tests, demos) bind loopback: their peers are loopback addresses too.
      allowLoopbackPeers: bindAddress !== undefined && classifyAddress(bindAddress) === 'loopback',
      interfaces,
      logger: this.log.child('network'),
      sink: {
        localCandidate: (line) => this.input(() => this.sequencer.localCandidate(line)),
        engineCandidate: (line) => {
          if (this.port && !this.port.addRemoteCandidate(line)) this.log.debug('libjuice refused a proxy candidate', { line });
        },
        event: (event) => this.onEdgeEvent(event),
      },
    };
    const attach = (edge: NetworkEdgePort): void => {
      const queue = this.edgeQueue;
      if (!queue) return;
      this.edge = edge;
      this.edgeQueue = undefined;
      edge.start();
      for (const fn of queue) fn(edge);
    };
    try {
      const made = (this.options.createNetworkEdge ?? ((o: NetworkEdgeOptions) => NetworkEdge.open(o)))(options);
      if (made instanceof Promise) {
        this.edgeOpening = made.then(
          (edge) => {
            attach(edge);
            return edge;
          },
          (err: unknown) => {
            this.fail(err);
            return undefined;
          },
        );
      } else {
        attach(made);
      }
    } catch (err) {
      this.fail(err);
    }
  }

  /** Closes the edge, or the one still being opened once it exists. */
  private edgeClosed(): Promise<void> {
    if (this.edge) return this.edge.close().catch((err: unknown) => this.reportError(err));
    return this.edgeOpening?.then((edge) => edge?.close()).catch(() => undefined) ?? Promise.resolve();
  }

  private withEdge(fn: (edge: NetworkEdgePort) => void): void {
    if (this.edge) fn(this.edge);
    else this.edgeQueue?.push(fn);
  }

  /** libjuice's own candidate: its loopback address, where the proxies deliver. Never signalled. */
  private onEngineCandidate(line: string): void {
    const c = parseIceCandidate(line);
    if (!c || c.type !== 'host' || classifyAddress(c.address) !== 'loopback') return;
    const endpoint = { address: c.address, port: c.port };
    this.withEdge((edge) => edge.setEngineEndpoint(endpoint));
  }

  private onEdgeEvent(event: MuxEvent): void {
    switch (event.type) {
      case 'peer-moved':
        this.log.info('the peer moved', { path: event.path, from: event.from, to: event.to });
        break;
      case 'relay-ready':
        this.log.debug('relay ready', { path: event.path });
        break;
      case 'relay-failed':
        this.log.warn('relay unusable', { path: event.path, reason: event.reason });
        break;
      case 'candidate-dropped':
        this.log.debug('peer candidate dropped', { reason: event.reason, candidate: event.candidate });
        break;
      case 'peer-silent':
        // libjuice says nothing until its consent expires (~30 s): the edge's silence watch starts
        // the reconnect deadline instead, like a 'disconnected' peer connection.
        this.log.warn('nothing from the peer', { ms: event.silentForMs, path: this.path() });
        this.input(() => this.sequencer.peerConnectionState('disconnected', this.now()));
        break;
      case 'peer-back':
        this.log.info('the peer is heard again');
        if (this.sequencer.state === 'connecting') this.input(() => this.sequencer.peerConnectionState('connected', this.now()));
        break;
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

/** What the network edge can say about a call that did not connect. */
export interface TransportDiagnosis {
  /** One line on what was tried (routes, relays and their state, drops). */
  readonly tried: string;
  /** Set when the peer's candidates are out of reach of every path we have: why. */
  readonly noCommonRelay: string | undefined;
}

function diagnose(edge: NetworkEdgePort | undefined): TransportDiagnosis | undefined {
  return edge ? { tried: edge.describe(), noCommonRelay: edge.noCommonRelay() } : undefined;
}
