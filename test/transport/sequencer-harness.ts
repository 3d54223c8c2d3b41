/**
 * Drives a `TransportSequencer` without sockets: fixtures for local descriptions and peer
 * messages, and `drain()`, which performs outputs the way CallTransport does — answering the
 * four questions at once, from a scripted port — and returns everything that came out.
 */
import {
  signalingMessageToJson,
  type MediaStateMessage,
  type NegotiateChannelsMessage,
  type SignalingMessage,
} from '../../src/transport/messages.js';
import { LOCAL_OPUS_PAYLOAD_TYPE } from '../../src/transport/negotiation.js';
import { LOCAL_SECTIONS } from '../../src/transport/peer-connection-port.js';
import type { LocalDescriptionInfo } from '../../src/transport/sdp.js';
import { TransportSequencer } from '../../src/transport/transport-sequencer.js';
import type { TransportOutput, TransportSequencerOptions } from '../../src/transport/transport-types.js';
import { SeededRandom } from '../../src/fake/seeded-random.js';

export const CALLER_SSRC = 1111;
export const CALLEE_SSRC = 2222;
const FP_CALLER = Array(32).fill('AA').join(':');
const FP_CALLEE = Array(32).fill('BB').join(':');

/** What libdatachannel's offer gives the caller (setup actpass). */
export const CALLER_OFFER: LocalDescriptionInfo = {
  ufrag: 'CaLr',
  pwd: 'callerPasswordCallerPwd1',
  fingerprint: { hash: 'sha-256', value: FP_CALLER },
  setup: 'actpass',
  sections: LOCAL_SECTIONS,
  candidates: [],
};

/** What libdatachannel's answer gives the callee (setup passive). */
export const CALLEE_ANSWER: LocalDescriptionInfo = {
  ufrag: 'CaLe',
  pwd: 'calleePasswordCalleePwd2',
  fingerprint: { hash: 'sha-256', value: FP_CALLEE },
  setup: 'passive',
  sections: LOCAL_SECTIONS,
  candidates: [],
};

export function sequencer(isOutgoing: boolean, extra: Partial<TransportSequencerOptions> = {}): TransportSequencer {
  const rng = new SeededRandom(isOutgoing ? 7 : 8);
  return new TransportSequencer({
    isOutgoing,
    ssrc: isOutgoing ? CALLER_SSRC : CALLEE_SSRC,
    randomUint32: () => rng.nextUint32(),
    connectTimeoutMs: 10_000,
    ...extra,
  });
}

/** The scripted peer connection behind `drain`. */
export interface ScriptedPort {
  offer?: LocalDescriptionInfo;
  answer?: LocalDescriptionInfo;
  /** Does the ICE agent take this candidate? Default yes. */
  takesCandidate?: (candidate: string) => boolean;
  /** Does the data channel take this message? Default yes. */
  takesData?: (message: MediaStateMessage) => boolean;
}

/** Performs every pending output in order, answering questions from `port`; returns them all. */
export function drain(s: TransportSequencer, port: ScriptedPort = {}): TransportOutput[] {
  const all: TransportOutput[] = [];
  for (let out = s.takeOutput(); out; out = s.takeOutput()) {
    all.push(out);
    switch (out.type) {
      case 'create-offer':
        s.localDescriptionCreated(port.offer ?? CALLER_OFFER);
        break;
      case 'apply-remote-description':
        if (out.sdpType === 'answer') s.remoteAnswerApplied();
        else s.remoteOfferApplied(port.answer ?? CALLEE_ANSWER);
        break;
      case 'add-remote-candidate':
        s.remoteCandidateAdded(port.takesCandidate?.(out.candidate) ?? true);
        break;
      case 'send-data':
        s.dataChannelSent(port.takesData?.(out.message) ?? true);
        break;
    }
  }
  return all;
}

/** Started, peer connection created, questions answered: what the wire shows first. */
export function started(isOutgoing: boolean, extra: Partial<TransportSequencerOptions> = {}, now = 0) {
  const s = sequencer(isOutgoing, extra);
  s.start(now);
  s.peerConnectionCreated(now);
  const outputs = drain(s);
  return { s, outputs };
}

export function wire(outputs: readonly TransportOutput[]): SignalingMessage[] {
  return outputs.flatMap((o) => (o.type === 'send' ? [o.message] : []));
}

export function wireTypes(outputs: readonly TransportOutput[]): string[] {
  return wire(outputs).map((m) => m.type);
}

export function ofType<T extends TransportOutput['type']>(outputs: readonly TransportOutput[], type: T): Extract<TransportOutput, { type: T }>[] {
  return outputs.filter((o): o is Extract<TransportOutput, { type: T }> => o.type === type);
}

export function negotiations(outputs: readonly TransportOutput[]): NegotiateChannelsMessage[] {
  return wire(outputs).filter((m): m is NegotiateChannelsMessage => m.type === 'NegotiateChannels');
}

// ---- peer messages (JSON as on the wire) ------------------------------------------------------

export function initialSetup(from: 'caller' | 'callee', setup = from === 'caller' ? 'actpass' : 'passive', ufrag?: string): string {
  const local = from === 'caller' ? CALLER_OFFER : CALLEE_ANSWER;
  return signalingMessageToJson({
    type: 'InitialSetup',
    ufrag: ufrag ?? local.ufrag,
    pwd: local.pwd,
    renomination: true,
    fingerprints: [{ hash: 'sha-256', setup, fingerprint: local.fingerprint.value }],
  });
}

export function hostCandidate(port: number): string {
  return `candidate:${port} 1 udp 2122260224 127.0.0.1 ${port} typ host`;
}

export function candidates(...sdpStrings: string[]): string {
  return signalingMessageToJson({ type: 'Candidates', candidates: sdpStrings.map((sdpString) => ({ sdpString })) });
}

/** The peer's answer to `offer`, accepting our Opus (or nothing at all). */
export function answerTo(offer: NegotiateChannelsMessage, accept = true): string {
  const ssrc = offer.contents[0]!.ssrc;
  return signalingMessageToJson({
    type: 'NegotiateChannels',
    exchangeId: offer.exchangeId,
    contents: accept ? [{ type: 'audio', ssrc, ssrcGroups: [], payloadTypes: [LOCAL_OPUS_PAYLOAD_TYPE], rtpExtensions: [] }] : [],
  });
}

/** A peer offer of Opus audio with `ssrc`. */
export function offer(exchangeId: number, ssrc: number): string {
  return signalingMessageToJson({
    type: 'NegotiateChannels',
    exchangeId,
    contents: [{ type: 'audio', ssrc, ssrcGroups: [], payloadTypes: [LOCAL_OPUS_PAYLOAD_TYPE], rtpExtensions: [] }],
  });
}

export function mediaState(muted: boolean): string {
  return signalingMessageToJson({ type: 'MediaState', muted, lowBattery: false, videoState: 'inactive', videoRotation: 0, screencastState: 'inactive' });
}
