/**
 * The node-datachannel edge: one libdatachannel `PeerConnection` per call with one bundled
 * transport carrying the audio track (Opus, our SSRC) and the SCTP data channel `data`
 * (transport-v2.md §5). Thin: it knows no JSON and no negotiation; `CallTransport` drives it
 * through `PeerConnectionPort` (peer-connection-port.ts, which also holds the section layout).
 *
 * Rules this file enforces:
 * - every callback handed to node-datachannel catches everything (an exception escaping one aborts
 *   the whole process) and reports it to the sink;
 * - sending on a closed track/channel never throws out (returns false);
 * - `close()` closes every native object and resolves once libdatachannel reported each of them
 *   closed, which is what lets node-datachannel drop the handles that keep the process alive
 *   (checked with 0.33.4: a track or channel without an `onClosed` callback, or a peer connection
 *   without `onStateChange`, keeps the process running after `close()`).
 */
import { Audio, PeerConnection, preload } from 'node-datachannel';
import type { DataChannel, SelectedCandidateInfo, Track } from 'node-datachannel';
import { TransportError, toError } from '../errors.js';
import type { Logger } from '../logger.js';
import { HandleTracker, registerNativeHandle } from './native-handles.js';
import {
  AUDIO_MID,
  type CandidateInfo,
  type CandidatePair,
  type PeerConnectionOptions,
  type PeerConnectionPort,
  type PeerConnectionSink,
} from './peer-connection-port.js';
import { parseLocalDescription } from './sdp.js';
import type { LocalDescriptionInfo } from './sdp.js';

export const DATA_CHANNEL_LABEL = 'data';

/** How long `close()` waits for libdatachannel's closed callbacks before giving up on them. */
const RELEASE_WAIT_MS = 5000;

/**
 * libdatachannel's process-wide setup (its threads, OpenSSL, SRTP and SCTP initialisation, about
 * 10-15 ms), which the first peer connection of a process would otherwise run on the call's path.
 * Idempotent.
 */
export function preloadPeerConnections(): void {
  preload();
}

/** The libdatachannel `PeerConnectionPort`. */
export class CallPeerConnection implements PeerConnectionPort {
  private readonly log: Logger;
  private readonly sink: PeerConnectionSink;
  private readonly isOutgoing: boolean;
  private readonly pc: PeerConnection;
  private readonly track: Track;
  private readonly extraTracks: Track[] = [];
  private dataChannel: DataChannel | undefined;
  private readonly handles: HandleTracker<DataChannel>;
  private dataOpen = false;
  private trackOpen = false;
  private closed = false;

  constructor(options: PeerConnectionOptions) {
    this.log = options.logger;
    this.sink = options.sink;
    this.isOutgoing = options.isOutgoing;
    // An abandoned channel must not stay reachable from us (see HandleTracker).
    this.handles = new HandleTracker<DataChannel>(this.log, (dc) => {
      if (this.dataChannel === dc) this.dataChannel = undefined;
    });

    const { iceServers = [], bindAddress, portRange } = options.network;
    let pc: PeerConnection;
    try {
      pc = new PeerConnection(options.name, {
        iceServers: [...iceServers],
        // We drive offer/answer ourselves from the tgcalls JSON (recipe §5).
        disableAutoNegotiation: true,
        iceTransportPolicy: options.relayOnly ? 'relay' : 'all',
        // The native side is given only what is set (an explicit undefined is not "unset" there).
        ...(bindAddress !== undefined ? { bindAddress } : {}),
        ...(portRange ? { portRangeBegin: portRange.begin, portRangeEnd: portRange.end } : {}),
      });
    } catch (err) {
      throw new TransportError('PEER_CONNECTION_FAILED', `cannot create the peer connection: ${toError(err).message}`, { cause: err });
    }
    this.pc = pc;
    this.handles.hold(registerNativeHandle('peer-connection'), (release) => {
      pc.onStateChange(
        this.guard((state: string) => {
          if (state === 'closed') release();
          if (!this.closed) this.sink.stateChange(state);
        }),
      );
    });
    pc.onLocalCandidate(
      this.guard((candidate: string) => {
        if (this.closed) return;
        this.sink.localCandidate(candidate.startsWith('a=') ? candidate.slice(2) : candidate);
      }),
    );
    pc.onIceStateChange(this.guard((state: string) => this.log.debug('ice state', { state })));
    pc.onGatheringStateChange(this.guard((state: string) => this.log.debug('gathering state', { state })));
    pc.onTrack(this.guard((track: Track) => this.adoptExtraTrack(track)));
    if (!this.isOutgoing) pc.onDataChannel(this.guard((dc: DataChannel) => this.adoptRemoteChannel(dc)));

    try {
      const audio = new Audio(AUDIO_MID, 'SendRecv');
      audio.addOpusCodec(options.payloadType);
      audio.addSSRC(options.ssrc, 'tgcall', 'tgcall', 'audio');
      this.track = pc.addTrack(audio);
    } catch (err) {
      this.closeNative();
      throw new TransportError('PEER_CONNECTION_FAILED', `cannot add the audio track: ${toError(err).message}`, { cause: err });
    }
    this.watchTrack(this.track, true);

    if (this.isOutgoing) {
      // Caller opens `data` in-band (DCEP) on stream 0; the callee takes it from onDataChannel.
      try {
        this.attachChannel(pc.createDataChannel(DATA_CHANNEL_LABEL));
      } catch (err) {
        this.closeNative();
        throw new TransportError('PEER_CONNECTION_FAILED', `cannot create the data channel: ${toError(err).message}`, { cause: err });
      }
    }
  }

  /** Caller: creates the local offer (`a=setup:actpass`) and returns what `InitialSetup` needs. */
  createOffer(): LocalDescriptionInfo {
    return this.native('create the local offer', () => {
      this.pc.setLocalDescription('offer');
      return this.localDescription();
    });
  }

  /** Callee: applies the synthesized remote offer and creates our answer (`a=setup:passive`). */
  acceptOffer(remoteSdp: string): LocalDescriptionInfo {
    return this.native('apply the remote offer', () => {
      this.pc.setRemoteDescription(remoteSdp, 'offer');
      this.pc.setLocalDescription('answer');
      return this.localDescription();
    });
  }

  /** Caller: applies the synthesized remote answer. */
  acceptAnswer(remoteSdp: string): void {
    this.native('apply the remote answer', () => this.pc.setRemoteDescription(remoteSdp, 'answer'));
  }

  /** Adds a peer candidate (`candidate:…`); false when libdatachannel refuses it. */
  addRemoteCandidate(sdpString: string): boolean {
    if (this.closed) return false;
    try {
      this.pc.addRemoteCandidate('a=' + sdpString, AUDIO_MID);
      return true;
    } catch (err) {
      this.log.debug('remote candidate refused', { error: toError(err).message });
      return false;
    }
  }

  /** Sends one RTP or RTCP packet (libdatachannel encrypts it); false when not possible. */
  sendMedia(packet: Uint8Array): boolean {
    if (this.closed || !this.trackOpen) return false;
    try {
      this.track.sendMessageBinary(Buffer.isBuffer(packet) ? packet : Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Sends a text message on the data channel; false when it is not open or refuses the message
   * (libdatachannel 0.24.5 race: the caller's channel may report open yet throw "DataChannel not
   * open" on every send — transport-v2.md §5).
   */
  sendData(text: string): boolean {
    const dc = this.dataChannel;
    if (this.closed || !dc || !this.dataOpen) return false;
    try {
      dc.sendMessage(text);
      return true;
    } catch (err) {
      this.log.debug('data channel refused a message', { error: toError(err).message });
      return false;
    }
  }

  get isDataChannelOpen(): boolean {
    return this.dataOpen && !this.closed;
  }

  get isMediaOpen(): boolean {
    return this.trackOpen && !this.closed;
  }

  selectedCandidatePair(): CandidatePair | null {
    if (this.closed) return null;
    try {
      const pair = this.pc.getSelectedCandidatePair();
      return pair ? { local: candidateInfo(pair.local), remote: candidateInfo(pair.remote) } : null;
    } catch {
      return null;
    }
  }

  /** Closes every native object; resolves when libdatachannel has released all of them (bounded wait). Idempotent. */
  close(): Promise<void> {
    if (!this.closed) this.closeNative();
    return this.handles.close(RELEASE_WAIT_MS);
  }

  private closeNative(): void {
    this.closed = true;
    // Channels and tracks first: closing only the peer connection leaves a never-opened channel's
    // handle alive (no onClosed) in node-datachannel 0.33.4.
    const dc = this.dataChannel;
    if (dc) quietly(() => dc.close());
    for (const t of [this.track, ...this.extraTracks]) {
      // `track` is unset when addTrack itself failed.
      if (t) quietly(() => t.close());
    }
    quietly(() => this.pc.close());
  }

  private localDescription(): LocalDescriptionInfo {
    const desc = this.pc.localDescription();
    if (!desc) throw new Error('no local description');
    return parseLocalDescription(desc.sdp);
  }

  private native<T>(what: string, fn: () => T): T {
    if (this.closed) throw new TransportError('TRANSPORT_CLOSED', `cannot ${what}: closed`);
    try {
      return fn();
    } catch (err) {
      throw new TransportError('PEER_CONNECTION_FAILED', `cannot ${what}: ${toError(err).message}`, { cause: err });
    }
  }

  private watchTrack(track: Track, primary: boolean): void {
    this.handles.hold(registerNativeHandle('track'), (release) => {
      track.onClosed(
        this.guard(() => {
          release();
          if (primary) this.trackOpen = false;
        }),
      );
    });
    track.onOpen(
      this.guard(() => {
        if (!primary || this.trackOpen) return;
        this.trackOpen = true;
        // DTLS-SRTP is up: media can flow now, before the SCTP data channel (issue 14 item 3).
        if (!this.closed) this.sink.mediaOpen();
      }),
    );
    track.onError(this.guard((err: string) => this.log.warn('track error', { error: err })));
    track.onMessage(
      this.guard((msg: Buffer) => {
        if (!this.closed) this.sink.media(msg);
      }),
    );
  }

  private adoptExtraTrack(track: Track): void {
    // With our audio track on mid 0, libdatachannel should not announce another one; if it does,
    // its packets are still audio of this call, and its handle must be closed with the rest.
    this.extraTracks.push(track);
    this.watchTrack(track, false);
    if (this.closed) quietly(() => track.close());
  }

  private adoptRemoteChannel(dc: DataChannel): void {
    let label = '';
    let open = false;
    quietly(() => (label = dc.getLabel()));
    // libdatachannel announces an incoming channel once it is open; one that is not open any more
    // was closed by the peer before this callback ran.
    quietly(() => (open = dc.isOpen()));
    if (this.dataChannel || label !== DATA_CHANNEL_LABEL || this.closed || !open) {
      this.log.debug('dropping a data channel', { label: label.slice(0, 32), open, closed: this.closed });
      // Such a channel may never report closed (it already did, or it does not once its peer
      // connection is gone): close it, keep no callback on it and let the collector release it.
      quietly(() => dc.close());
      this.handles.abandonUntracked(dc, 'data-channel');
      return;
    }
    const on = this.attachChannel(dc);
    // It may have closed between the announcement and our onClosed: then no callback will come.
    quietly(() => (open = dc.isOpen()));
    if (!open) {
      this.log.debug('the data channel closed while it was announced');
      quietly(() => dc.close());
      this.handles.abandon(dc);
      on.closed(); // stops waiting for it (its handle now waits for the collector)
      return;
    }
    this.markDataOpen();
  }

  /** Returns the callbacks, whose `closed` also ends the tracking of the channel. */
  private attachChannel(dc: DataChannel): { readonly closed: () => void } {
    this.dataChannel = dc;
    const on = this.channelCallbacks(this.handles.abandonableRelease(dc, 'data-channel'));
    try {
      dc.onClosed(on.closed);
    } catch (err) {
      // Without a closed callback the handle cannot be tracked; do not wait for it.
      on.closed();
      this.log.warn('cannot watch a native handle', { error: toError(err).message });
    }
    dc.onOpen(on.open);
    dc.onError(on.error);
    dc.onMessage(on.message);
    return on;
  }

  /**
   * The callbacks of our data channel, built apart from `attachChannel` so that no callback's
   * scope holds the channel itself: node-datachannel keeps them alive until the channel reports
   * closed, and a channel that never does must stay collectable (see HandleTracker).
   */
  private channelCallbacks(release: () => void) {
    let releaseOnce: () => void = release;
    this.handles.hold(release, (r) => (releaseOnce = r));
    return {
      closed: this.guard(() => {
        releaseOnce();
        const wasOpen = this.dataOpen;
        this.dataOpen = false;
        if (wasOpen && !this.closed) this.sink.dataChannelClosed();
      }),
      open: this.guard(() => this.markDataOpen()),
      error: this.guard((err: string) => this.log.warn('data channel error', { error: err })),
      message: this.guard((msg: string | Buffer | ArrayBuffer) => {
        if (this.closed) return;
        this.sink.dataChannelMessage(typeof msg === 'string' ? msg : Buffer.isBuffer(msg) ? msg : Buffer.from(msg));
      }),
    };
  }

  private markDataOpen(): void {
    if (this.dataOpen || this.closed) return;
    this.dataOpen = true;
    this.sink.dataChannelOpen();
  }

  /** Wraps a callback given to node-datachannel: nothing may escape it. */
  private guard<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
    return (...args: A) => {
      try {
        fn(...args);
      } catch (err) {
        try {
          this.sink.error(toError(err));
        } catch (err2) {
          try {
            this.log.error('error while reporting an error', { error: toError(err2).message });
          } catch {
            // nothing left to report to
          }
        }
      }
    };
  }
}

function candidateInfo(c: SelectedCandidateInfo): CandidateInfo {
  return {
    address: c.address,
    port: c.port,
    type: c.type,
    transportType: c.transportType,
    candidate: c.candidate,
    priority: c.priority,
  };
}

function quietly(fn: () => void): void {
  try {
    fn();
  } catch {
    // closing an already closed native object
  }
}
