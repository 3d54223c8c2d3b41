/**
 * The v2 transport's ordering rules (transport-v2.md §3, §5), driven on the sans-I/O core with no
 * socket and no clock: every rule for both roles, including the seven orderings the loopback
 * suite used to need two real libdatachannel peers for.
 */
import { describe, expect, it } from 'vitest';
import type { Logger } from '../../src/logger.js';
import { MAX_BUFFERED_CANDIDATES } from '../../src/transport/candidate-gate.js';
import { DEFAULT_MEDIA_STATE } from '../../src/transport/messages.js';
import { MAX_EARLY_PAYLOADS } from '../../src/transport/transport-sequencer.js';
import {
  CALLEE_ANSWER,
  CALLEE_SSRC,
  CALLER_OFFER,
  CALLER_SSRC,
  answerTo,
  candidates,
  drain,
  hostCandidate,
  initialSetup,
  mediaState,
  negotiations,
  ofType,
  offer,
  sequencer,
  started,
  wire,
  wireTypes,
} from './sequencer-harness.js';

/** A caller whose offer went out; `answer()` is the callee's answer to it. */
function callerWithOffer() {
  const { s, outputs } = started(true);
  const ourOffer = negotiations(outputs)[0]!;
  return { s, outputs, ourOffer, answer: (accept = true) => answerTo(ourOffer, accept) };
}

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const logger: Logger & { lines: string[] } = {
    lines,
    debug: () => {},
    info: () => {},
    warn: (m) => lines.push(m),
    error: (m) => lines.push(m),
    child: () => logger,
  };
  return logger;
}

describe('TransportSequencer: the caller', () => {
  it('asks for its offer once the peer connection exists, then sends InitialSetup (actpass) before its NegotiateChannels offer', () => {
    const s = sequencer(true);
    s.start(0);
    expect(s.takeOutputs()).toEqual([{ type: 'state', state: 'connecting' }]);
    s.peerConnectionCreated(0);
    expect(s.takeOutputs()).toEqual([{ type: 'create-offer' }]);
    s.localDescriptionCreated(CALLER_OFFER);
    const out = drain(s);
    expect(wireTypes(out)).toEqual(['InitialSetup', 'NegotiateChannels']);
    expect(wire(out)[0]).toEqual({
      type: 'InitialSetup',
      ufrag: CALLER_OFFER.ufrag,
      pwd: CALLER_OFFER.pwd,
      renomination: false,
      fingerprints: [{ hash: 'sha-256', setup: 'actpass', fingerprint: CALLER_OFFER.fingerprint.value }],
    });
    expect(negotiations(out)[0]!.contents[0]).toMatchObject({ type: 'audio', ssrc: CALLER_SSRC });
  });

  it('keeps peer candidates that come before its InitialSetup and answer, and applies the answer (passive) once both are in (ntgcalls order)', () => {
    const { s, answer } = callerWithOffer();
    s.receive(candidates(hostCandidate(5001), hostCandidate(5002)));
    expect(drain(s)).toEqual([]);
    // The answer alone is not enough: the peer's credentials are missing.
    s.receive(answer());
    expect(ofType(drain(s), 'apply-remote-description')).toEqual([]);
    expect(s.canSendMedia).toBe(true);
    s.receive(initialSetup('callee'));
    const out = drain(s);
    expect(out.map((o) => o.type)).toEqual(['apply-remote-description', 'add-remote-candidate', 'add-remote-candidate']);
    const apply = ofType(out, 'apply-remote-description')[0]!;
    expect(apply.sdpType).toBe('answer');
    expect(apply.description).toMatchObject({ ufrag: CALLEE_ANSWER.ufrag, setup: 'passive', sections: CALLER_OFFER.sections });
    expect(apply.sdp).toContain('a=setup:passive\r\n');
    expect(ofType(out, 'add-remote-candidate').map((o) => o.candidate)).toEqual([hostCandidate(5001), hostCandidate(5002)]);
    expect(s.stats).toMatchObject({ remoteCandidatesAdded: 2, remoteCandidatesDropped: 0 });
    // Later candidates go straight in.
    s.receive(candidates(hostCandidate(5003)));
    expect(ofType(drain(s), 'add-remote-candidate')).toHaveLength(1);
  });

  it('waits for the answer to its offer even with the peer InitialSetup in, and holds its own candidates until the remote description is applied', () => {
    const { s, answer } = callerWithOffer();
    s.receive(initialSetup('callee'));
    s.receive(candidates(hostCandidate(5001)));
    s.localCandidate(hostCandidate(6001));
    s.localCandidate(hostCandidate(6002));
    let out = drain(s);
    expect(out).toEqual([]);
    expect(s.stats.remoteCandidatesAdded).toBe(0);
    expect(s.stats.localCandidates).toBe(2);
    s.receive(answer());
    out = drain(s);
    // The remote description first, then our held candidates (one message each), then the peer's.
    expect(out.map((o) => o.type)).toEqual(['media-params', 'apply-remote-description', 'send', 'send', 'add-remote-candidate']);
    expect(wire(out)).toEqual([
      { type: 'Candidates', candidates: [{ sdpString: hostCandidate(6001) }] },
      { type: 'Candidates', candidates: [{ sdpString: hostCandidate(6002) }] },
    ]);
    s.localCandidate(hostCandidate(6003));
    expect(wireTypes(drain(s))).toEqual(['Candidates']);
  });

  it('sends no media before its offer is answered accepting Opus', () => {
    const { s, answer } = callerWithOffer();
    expect(s.canSendMedia).toBe(false);
    s.receive(answer(false));
    drain(s);
    expect(s.canSendMedia).toBe(false);
    expect(s.mediaParams.local).toBeUndefined();
    const again = callerWithOffer();
    again.s.receive(again.answer());
    const out = drain(again.s);
    expect(again.s.canSendMedia).toBe(true);
    expect(ofType(out, 'media-params')[0]!.params.local).toMatchObject({ ssrc: CALLER_SSRC, payloadType: 111 });
  });

  it('mirrors a callee that states active, and passive otherwise', () => {
    for (const [peer, ours] of [
      ['passive', 'passive'],
      ['active', 'active'],
      ['actpass', 'passive'],
      ['', 'passive'],
    ] as const) {
      const { s, answer } = callerWithOffer();
      s.receive(answer());
      s.receive(initialSetup('callee', peer));
      expect(ofType(drain(s), 'apply-remote-description')[0]?.description.setup, peer).toBe(ours);
    }
  });

  it('ignores a crossing callee offer while its own is outstanding (the caller wins, as in tgcalls), and answers a later one', () => {
    const { s, ourOffer } = callerWithOffer();
    s.receive(offer(77, CALLEE_SSRC));
    expect(drain(s)).toEqual([]);
    expect(s.stats.ignoredMessages).toBe(1);
    s.receive(answerTo(ourOffer));
    s.receive(offer(78, CALLEE_SSRC));
    const out = drain(s);
    expect(negotiations(out)).toEqual([expect.objectContaining({ exchangeId: 78 })]);
    expect(s.mediaParams.remote?.ssrc).toBe(CALLEE_SSRC);
  });

  it('keeps peer payloads that arrive while its offer is being created, and takes them after its InitialSetup', () => {
    const s = sequencer(true);
    s.start(0);
    s.peerConnectionCreated(0);
    expect(s.takeOutputs()).toEqual([{ type: 'state', state: 'connecting' }, { type: 'create-offer' }]);
    s.receive(mediaState(true));
    expect(s.takeOutputs()).toEqual([]);
    expect(s.stats.signalingIn).toBe(0);
    s.localDescriptionCreated(CALLER_OFFER);
    expect(drain(s).map((o) => (o.type === 'send' ? o.message.type : o.type))).toEqual(['InitialSetup', 'NegotiateChannels', 'remote-media-state']);
  });

  it('answers at once a callee offer that overtakes the callee answer: made after it, it carries our exchangeId + 1', () => {
    // The callee sends InitialSetup, its answer, then its offer. The acked channel keeps that
    // order (as tgcalls' EncryptedConnection); raw-mode signaling or a reordering path may not,
    // and the offer arrives while ours is outstanding. Ignored as crossing offers, the callee's
    // audio would never be negotiated (found by sequencer-property.test.ts).
    const { s, ourOffer } = callerWithOffer();
    s.receive(initialSetup('callee'));
    const afterAnswer = ourOffer.exchangeId + 1;
    s.receive(offer(afterAnswer, CALLEE_SSRC));
    let out = drain(s);
    expect(negotiations(out)).toEqual([expect.objectContaining({ exchangeId: afterAnswer, contents: [expect.objectContaining({ ssrc: CALLEE_SSRC })] })]);
    expect(ofType(out, 'apply-remote-description')).toEqual([]); // still waits for the answer to ours
    expect(s.canSendMedia).toBe(false);
    s.receive(answerTo(ourOffer));
    out = drain(s);
    expect(negotiations(out)).toEqual([]);
    expect(ofType(out, 'apply-remote-description')[0]!.description.remoteSsrc).toBe(CALLEE_SSRC);
    expect(s.stats.ignoredMessages).toBe(0);
    expect(s.mediaParams.remote?.ssrc).toBe(CALLEE_SSRC);
    expect(s.canSendMedia).toBe(true);
  });

  it('a remote description that cannot be built (our offer without an audio section) closes with `error` instead of throwing', () => {
    const s = sequencer(true);
    s.start(0);
    s.peerConnectionCreated(0);
    const first = drain(s, { offer: { ...CALLER_OFFER, sections: [{ kind: 'application', mid: '1' }] } });
    s.receive(answerTo(negotiations(first)[0]!));
    s.receive(initialSetup('callee'));
    const out = drain(s);
    expect(out.map((o) => o.type)).toEqual(['media-params', 'error', 'state', 'close']);
    expect(ofType(out, 'error')[0]!.error).toMatchObject({ code: 'SDP_UNSAFE' });
    expect(s.closeReason).toBe('error');
  });
});

describe('TransportSequencer: the callee', () => {
  it('says nothing until the caller InitialSetup; then applies the remote offer (active), sends InitialSetup (passive), its answer, then its offer', () => {
    const { s, outputs } = started(false);
    expect(outputs).toEqual([{ type: 'state', state: 'connecting' }]);
    s.receive(initialSetup('caller'));
    const out = drain(s);
    expect(out.map((o) => o.type)).toEqual(['apply-remote-description', 'send']);
    const apply = ofType(out, 'apply-remote-description')[0]!;
    expect(apply).toMatchObject({ sdpType: 'offer', description: { ufrag: CALLER_OFFER.ufrag, setup: 'active', sections: CALLER_OFFER.sections } });
    expect(apply.description.remoteSsrc).toBeUndefined();
    expect(wire(out)[0]).toMatchObject({ type: 'InitialSetup', ufrag: CALLEE_ANSWER.ufrag, fingerprints: [{ setup: 'passive' }] });
  });

  it('answers an offer that arrives before the caller InitialSetup only after its own InitialSetup (ntgcalls order)', () => {
    const { s } = started(false);
    s.receive(offer(5, CALLER_SSRC));
    let out = drain(s);
    // Negotiated, but nothing on the wire: our InitialSetup needs the caller's.
    expect(out.map((o) => o.type)).toEqual(['media-params']);
    expect(s.mediaParams.remote?.ssrc).toBe(CALLER_SSRC);
    s.receive(initialSetup('caller'));
    out = drain(s);
    expect(wireTypes(out)).toEqual(['InitialSetup', 'NegotiateChannels', 'NegotiateChannels']);
    const [answer, ownOffer] = negotiations(out);
    expect(answer).toMatchObject({ exchangeId: 5, contents: [{ ssrc: CALLER_SSRC }] });
    expect(ownOffer!.contents[0]).toMatchObject({ ssrc: CALLEE_SSRC });
    expect(ownOffer!.exchangeId).toBe(6); // made after answering 5 (negotiation.ts)
    // The caller's SSRC goes into the remote offer.
    expect(ofType(out, 'apply-remote-description')[0]!.description.remoteSsrc).toBe(CALLER_SSRC);
  });

  it('keeps candidates that arrive before the caller InitialSetup and adds them after', () => {
    const { s } = started(false);
    s.receive(candidates(hostCandidate(5001)));
    expect(drain(s)).toEqual([]);
    expect(s.stats.remoteCandidatesAdded).toBe(0);
    s.receive(initialSetup('caller'));
    const out = drain(s);
    expect(out.map((o) => o.type)).toEqual(['apply-remote-description', 'send', 'add-remote-candidate']);
    expect(s.stats.remoteCandidatesAdded).toBe(1);
  });

  it('sends its own candidates at once (it gathers only after its remote description)', () => {
    const { s } = started(false);
    s.localCandidate(hostCandidate(7001));
    expect(wire(drain(s))).toEqual([{ type: 'Candidates', candidates: [{ sdpString: hostCandidate(7001) }] }]);
  });

  it('reads a caller that states passive as passive, anything else as active', () => {
    for (const [peer, ours] of [
      ['actpass', 'active'],
      ['passive', 'passive'],
      ['active', 'active'],
    ] as const) {
      const { s } = started(false);
      s.receive(initialSetup('caller', peer));
      expect(ofType(drain(s), 'apply-remote-description')[0]?.description.setup, peer).toBe(ours);
    }
  });
});

describe('TransportSequencer: both roles', () => {
  for (const isOutgoing of [true, false]) {
    const role = isOutgoing ? 'caller' : 'callee';
    const peer = isOutgoing ? 'callee' : 'caller';

    it(`${role}: keeps what arrives before start() and processes it then, in order`, () => {
      const s = sequencer(isOutgoing);
      s.receive(candidates(hostCandidate(5001)));
      s.receive(initialSetup(peer));
      s.receive(mediaState(true));
      expect(s.stats.signalingIn).toBe(0);
      s.start(0);
      s.peerConnectionCreated(0);
      const out = drain(s);
      expect(s.stats.signalingIn).toBe(3);
      expect(ofType(out, 'remote-media-state')).toEqual([{ type: 'remote-media-state', state: { ...DEFAULT_MEDIA_STATE, muted: true } }]);
      // The callee can apply at once; the caller still waits for the answer to its offer.
      expect(ofType(out, 'apply-remote-description')).toHaveLength(isOutgoing ? 0 : 1);
      expect(wireTypes(out)[0]).toBe('InitialSetup');
    });

    it(`${role}: keeps at most ${MAX_EARLY_PAYLOADS} early payloads and counts the rest as dropped`, () => {
      const s = sequencer(isOutgoing);
      for (let i = 0; i < MAX_EARLY_PAYLOADS + 3; i++) s.receive('{"@type":"Whatever"}');
      expect(s.stats.droppedMessages).toBe(3);
      s.start(0);
      s.peerConnectionCreated(0);
      drain(s);
      expect(s.stats.unknownMessageTypes).toBe(MAX_EARLY_PAYLOADS);
    });

    it(`${role}: buffers at most ${MAX_BUFFERED_CANDIDATES} peer candidates and drops unsupported ones`, () => {
      const { s } = started(isOutgoing);
      const many = Array.from({ length: MAX_BUFFERED_CANDIDATES + 2 }, (_, i) => hostCandidate(10_000 + i));
      s.receive(candidates(...many));
      s.receive(
        candidates(
          'candidate:1 1 udp 1 reflector-1-2.reflector 532 typ relay',
          'candidate:2 1 tcp 1 127.0.0.1 9 typ host',
          'candidate:3 2 udp 1 127.0.0.1 9 typ host',
          'garbage',
        ),
      );
      expect(s.stats.remoteCandidatesDropped).toBe(6);
      drain(s);
    });

    it(`${role}: the consumer of remote candidates decides which it takes (a socket layer may take reflector candidates)`, () => {
      const reflector = 'candidate:1 1 udp 1 reflector-1-2.reflector 532 typ relay';
      const { s, outputs } = started(isOutgoing, { remoteCandidateVerdict: (c) => (c.includes('.reflector ') ? 'ok' : 'unsupported') });
      if (isOutgoing) s.receive(answerTo(negotiations(outputs)[0]!));
      s.receive(candidates(reflector, hostCandidate(5001)));
      expect(s.stats.remoteCandidatesDropped).toBe(1);
      s.receive(initialSetup(peer));
      expect(ofType(drain(s), 'add-remote-candidate').map((o) => o.candidate)).toEqual([reflector]);
    });

    it(`${role}: ignores a second InitialSetup, warning only when it changed (no ICE restart)`, () => {
      const logger = recordingLogger();
      const { s, ourOffer } = isOutgoing ? callerWithOffer() : { ...started(false, { logger }), ourOffer: undefined };
      if (isOutgoing) s.receive(answerTo(ourOffer!));
      s.receive(initialSetup(peer));
      expect(ofType(drain(s), 'apply-remote-description')).toHaveLength(1);
      s.receive(initialSetup(peer));
      s.receive(initialSetup(peer, undefined, 'ZZZZ'));
      expect(drain(s)).toEqual([]);
      expect(s.stats.ignoredMessages).toBe(2);
      if (!isOutgoing) expect(logger.lines).toEqual(['ignored a changed InitialSetup (ICE restart is not supported)']);
    });

    it(`${role}: an unusable InitialSetup is counted, and a good one after it still works`, () => {
      const { s, ourOffer } = isOutgoing ? callerWithOffer() : { ...started(false), ourOffer: undefined };
      if (isOutgoing) s.receive(answerTo(ourOffer!));
      s.receive('{"@type":"InitialSetup","ufrag":"a\\r\\nb","pwd":"x","fingerprints":[]}');
      expect(s.stats.malformedMessages).toBe(1);
      s.receive(initialSetup(peer));
      expect(ofType(drain(s), 'apply-remote-description')).toHaveLength(1);
    });

    it(`${role}: counts garbage and unknown types, never throws`, () => {
      const { s } = started(isOutgoing);
      for (const junk of ['', '{', '[]', '{"@type":"Candidates","candidates":5}', new Uint8Array([0xff, 0xfe])]) s.receive(junk);
      s.receive('{"@type":"Whatever"}');
      expect(s.stats).toMatchObject({ malformedMessages: 5, unknownMessageTypes: 1, signalingIn: 6 });
    });

    it(`${role}: accepts MediaState over signaling and over the data channel; ignores binary data channel messages`, () => {
      const { s } = started(isOutgoing);
      s.receive(mediaState(true));
      s.dataChannelMessage(mediaState(false));
      s.dataChannelMessage(new Uint8Array([1, 2, 3]));
      expect(ofType(drain(s), 'remote-media-state').map((o) => o.state.muted)).toEqual([true, false]);
      expect(s.stats.ignoredMessages).toBe(1);
    });
  }
});

describe('TransportSequencer: connection state and deadlines', () => {
  it('connects: state and `connected` once, connect time from start(), the deadline cleared', () => {
    const s = sequencer(true, { connectTimeoutMs: 5_000 });
    s.start(100);
    s.peerConnectionCreated(110);
    drain(s);
    expect(s.nextDeadline()).toBe(5_110);
    s.peerConnectionState('connecting', 120);
    s.peerConnectionState('connected', 180);
    expect(drain(s).filter((o) => o.type !== 'send')).toEqual([{ type: 'state', state: 'connected' }, { type: 'connected' }]);
    expect(s.stats.connectTimeMs).toBe(80);
    // Only the data channel grace is left.
    expect(s.nextDeadline()).toBe(2_180);
  });

  it('connects as soon as the audio track opens (DTLS-SRTP up), before libdatachannel says connected (SCTP up)', () => {
    const s = sequencer(true, { connectTimeoutMs: 5_000 });
    s.start(100);
    s.peerConnectionCreated(110);
    drain(s);
    s.mediaOpened(150);
    expect(drain(s).filter((o) => o.type !== 'send')).toEqual([{ type: 'state', state: 'connected' }, { type: 'connected' }]);
    expect(s.stats.connectTimeMs).toBe(50);
    // The MediaState grace starts now: it waits for the data channel, which is still opening.
    expect(s.nextDeadline()).toBe(2_150);
    s.peerConnectionState('connected', 400);
    s.mediaOpened(410);
    expect(drain(s).filter((o) => o.type !== 'send')).toEqual([]);
    s.dataChannelOpened();
    expect(drain(s).map((o) => o.type)).toEqual(['send-data']);
  });

  it('closes with `disconnect` when not connected in time, and not a millisecond before', () => {
    const s = sequencer(false, { connectTimeoutMs: 300 });
    s.start(0);
    s.peerConnectionCreated(10);
    drain(s);
    s.tick(309);
    expect(drain(s)).toEqual([]);
    s.tick(310);
    expect(drain(s)).toEqual([
      { type: 'state', state: 'closed' },
      { type: 'close', reason: 'disconnect' },
    ]);
    expect(s.closeReason).toBe('disconnect');
    expect(s.nextDeadline()).toBeUndefined();
  });

  it('a lost connection is tolerated for the connect timeout, and ends with `disconnect` after it', () => {
    const s = sequencer(true, { connectTimeoutMs: 1_000, dataChannelGraceMs: 100 });
    s.start(0);
    s.peerConnectionCreated(0);
    s.peerConnectionState('connected', 50);
    s.tick(150);
    drain(s);
    s.peerConnectionState('disconnected', 200);
    expect(drain(s).map((o) => o.type === 'state' && o.state)).toEqual(['connecting']);
    expect(s.nextDeadline()).toBe(1_200);
    s.peerConnectionState('connected', 900);
    expect(drain(s)).toEqual([{ type: 'state', state: 'connected' }]);
    expect(s.nextDeadline()).toBeUndefined();
    s.peerConnectionState('disconnected', 1_000);
    s.peerConnectionState('disconnected', 1_500);
    expect(s.nextDeadline()).toBe(2_000);
    s.tick(2_000);
    expect(drain(s).map((o) => o.type)).toEqual(['state', 'state', 'close']);
    expect(s.closeReason).toBe('disconnect');
  });

  it('ICE/DTLS failure: `failed`, then closed with `failed`; the peer closing DTLS: `disconnect`', () => {
    const a = started(true).s;
    a.peerConnectionState('failed', 5);
    expect(drain(a)).toEqual([
      { type: 'state', state: 'failed' },
      { type: 'state', state: 'closed' },
      { type: 'close', reason: 'failed' },
    ]);
    const b = started(false).s;
    b.peerConnectionState('closed', 5);
    expect(drain(b)).toEqual([
      { type: 'state', state: 'closed' },
      { type: 'close', reason: 'disconnect' },
    ]);
  });

  it('close(): idempotent, drops outputs not performed yet, then drops every input', () => {
    const s = sequencer(true);
    s.start(0);
    s.peerConnectionCreated(0);
    s.localDescriptionCreated(CALLER_OFFER);
    // InitialSetup and the offer are pending: closing drops them.
    s.close('local');
    s.close('failed');
    expect(s.takeOutputs()).toEqual([
      { type: 'state', state: 'closed' },
      { type: 'close', reason: 'local' },
    ]);
    s.receive(initialSetup('callee'));
    s.localCandidate(hostCandidate(1));
    s.peerConnectionState('connected', 1);
    s.setMediaState({ muted: true });
    s.tick(1e9);
    expect(s.takeOutputs()).toEqual([]);
    expect(s.stats.droppedMessages).toBe(1);
    expect(s.closeReason).toBe('local');
  });

  it('start() twice or after close is API misuse', () => {
    const s = sequencer(false);
    s.start(0);
    expect(() => s.start(1)).toThrow(expect.objectContaining({ code: 'TRANSPORT_STARTED' }));
    const closed = sequencer(false);
    closed.close('local');
    expect(() => closed.start(0)).toThrow(/start\(\) in state closed/);
  });

  it('answers that come when nothing was asked are ignored', () => {
    const s = sequencer(false);
    s.localDescriptionCreated(CALLER_OFFER);
    s.remoteAnswerApplied();
    s.remoteOfferApplied(CALLEE_ANSWER);
    s.remoteCandidateAdded(true);
    s.dataChannelSent(true);
    expect(s.takeOutputs()).toEqual([]);
    expect(s.stats).toMatchObject({ remoteCandidatesAdded: 0, mediaStateViaDataChannel: 0 });
  });
});

describe('TransportSequencer: our MediaState', () => {
  /** A connected caller at t=1000 whose data channel has not opened. */
  function connected(graceMs = 2_000) {
    const { s } = started(true, { dataChannelGraceMs: graceMs });
    s.peerConnectionState('connected', 1_000);
    return { s, out: drain(s) };
  }
  const mediaStates = (out: ReturnType<typeof drain>) =>
    out.flatMap((o) => (o.type === 'send-data' || (o.type === 'send' && o.message.type === 'MediaState') ? [`${o.type}:${String((o.message as { muted: boolean }).muted)}`] : []));

  it('nothing before the first connection; a change before it is sent on connecting', () => {
    const { s } = started(true);
    s.setMediaState({ muted: true });
    s.dataChannelOpened();
    expect(mediaStates(drain(s))).toEqual([]);
    s.peerConnectionState('connected', 5);
    expect(mediaStates(drain(s))).toEqual(['send-data:true']);
  });

  it('waits for the data channel during the grace, then uses it', () => {
    const { s, out } = connected();
    expect(mediaStates(out)).toEqual([]);
    s.tick(2_999);
    s.dataChannelOpened();
    expect(mediaStates(drain(s))).toEqual(['send-data:false']);
    expect(s.stats).toMatchObject({ mediaStateViaDataChannel: 1, mediaStateViaSignaling: 0 });
    // Delivered: the end of the grace sends nothing.
    s.tick(3_000);
    expect(drain(s)).toEqual([]);
  });

  it('goes over signaling when the data channel has not opened by the end of the grace', () => {
    const { s } = connected();
    expect(s.nextDeadline()).toBe(3_000);
    s.tick(3_000);
    expect(mediaStates(drain(s))).toEqual(['send:false']);
    expect(s.stats.mediaStateViaSignaling).toBe(1);
    s.setMediaState({ muted: true });
    expect(mediaStates(drain(s))).toEqual(['send:true']);
  });

  it('a data channel that refuses (the caller-side libdatachannel race) sends over signaling at once, every time', () => {
    const { s } = connected();
    s.dataChannelOpened();
    const refusing = { takesData: () => false };
    expect(mediaStates(drain(s, refusing))).toEqual(['send-data:false', 'send:false']);
    s.setMediaState({ muted: true });
    expect(mediaStates(drain(s, refusing))).toEqual(['send-data:true', 'send:true']);
    expect(s.stats).toMatchObject({ mediaStateViaDataChannel: 0, mediaStateViaSignaling: 2 });
  });

  it('each change once; no change, no message; a reconnection resends only what was not delivered', () => {
    const { s } = connected();
    s.dataChannelOpened();
    drain(s);
    s.setMediaState({ muted: false });
    s.setMediaState({ lowBattery: true });
    s.setMediaState({ lowBattery: true });
    expect(mediaStates(drain(s))).toEqual(['send-data:false']);
    s.peerConnectionState('disconnected', 4_000);
    s.peerConnectionState('connected', 4_100);
    expect(mediaStates(drain(s))).toEqual([]);
  });

  it('a data channel that opens after the grace carried the state over signaling gets it again (kept as verified)', () => {
    const { s } = connected(100);
    s.tick(1_100);
    expect(mediaStates(drain(s))).toEqual(['send:false']);
    s.dataChannelOpened();
    expect(mediaStates(drain(s))).toEqual(['send-data:false']);
  });

  it('after the data channel closed, waits no more: signaling', () => {
    const { s } = connected();
    s.dataChannelOpened();
    drain(s);
    s.dataChannelClosed();
    s.tick(3_000);
    s.setMediaState({ muted: true });
    expect(mediaStates(drain(s))).toEqual(['send:true']);
  });
});
