/**
 * A recording `PeerConnectionPort` for CallTransport tests: no native object, no socket. It
 * records every call, answers with the fixture descriptions, can be told to fail a step, and its
 * `sink` lets a test play libdatachannel's callbacks (state, candidates, media, data channel).
 */
import { TransportError } from '../../src/errors.js';
import type { CandidatePair, PeerConnectionOptions, PeerConnectionPort, PeerConnectionSink } from '../../src/transport/peer-connection-port.js';
import type { LocalDescriptionInfo } from '../../src/transport/sdp.js';
import { CALLEE_ANSWER, CALLER_OFFER } from './sequencer-harness.js';

export type FailingStep = 'createOffer' | 'acceptOffer' | 'acceptAnswer';

export class FakePeerConnection implements PeerConnectionPort {
  readonly calls: string[] = [];
  readonly addedCandidates: string[] = [];
  readonly sentMedia: Uint8Array[] = [];
  readonly sentData: string[] = [];
  readonly remoteSdps: string[] = [];
  failing: FailingStep | undefined;
  dataChannelOpen = false;
  /** The caller-side libdatachannel race: the channel says open and refuses every message. */
  dataChannelRefuses = false;
  mediaOpen = true;
  closeCount = 0;
  private closed = false;

  constructor(readonly options: PeerConnectionOptions) {}

  get sink(): PeerConnectionSink {
    return this.options.sink;
  }

  createOffer(): LocalDescriptionInfo {
    return this.step('createOffer', () => CALLER_OFFER);
  }

  acceptOffer(remoteSdp: string): LocalDescriptionInfo {
    return this.step('acceptOffer', () => {
      this.remoteSdps.push(remoteSdp);
      return CALLEE_ANSWER;
    });
  }

  acceptAnswer(remoteSdp: string): void {
    this.step('acceptAnswer', () => this.remoteSdps.push(remoteSdp));
  }

  addRemoteCandidate(sdpString: string): boolean {
    this.calls.push('addRemoteCandidate');
    if (this.closed) return false;
    this.addedCandidates.push(sdpString);
    return true;
  }

  sendMedia(packet: Uint8Array): boolean {
    if (this.closed || !this.mediaOpen) return false;
    this.sentMedia.push(packet);
    return true;
  }

  sendData(text: string): boolean {
    this.calls.push('sendData');
    if (this.closed || !this.dataChannelOpen || this.dataChannelRefuses) return false;
    this.sentData.push(text);
    return true;
  }

  get isDataChannelOpen(): boolean {
    return this.dataChannelOpen && !this.closed;
  }

  selectedCandidatePair(): CandidatePair | null {
    return null;
  }

  close(): Promise<void> {
    this.calls.push('close');
    this.closed = true;
    this.closeCount++;
    return Promise.resolve();
  }

  /** Plays libdatachannel opening the data channel. */
  openDataChannel(): void {
    this.dataChannelOpen = true;
    this.sink.dataChannelOpen();
  }

  private step<T>(name: FailingStep, fn: () => T): T {
    this.calls.push(name);
    if (this.failing === name) throw new TransportError('PEER_CONNECTION_FAILED', `cannot ${name}: refused by the test`);
    return fn();
  }
}

/** A `createPeerConnection` that keeps what it made. */
export function fakePeerConnections() {
  const made: FakePeerConnection[] = [];
  return {
    made,
    create: (options: PeerConnectionOptions): FakePeerConnection => {
      const pc = new FakePeerConnection(options);
      made.push(pc);
      return pc;
    },
  };
}
