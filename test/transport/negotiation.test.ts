import { describe, expect, it } from 'vitest';
import { decodeSignalingMessage, type NegotiateChannelsMessage } from '../../src/transport/messages.js';
import {
  ABS_SEND_TIME_URI,
  ContentNegotiation,
  TRANSPORT_WIDE_CC_URI,
  type NegotiationStep,
} from '../../src/transport/negotiation.js';
import { seededRandom } from '../helpers/vectors.js';
import { capturedMessages } from './capture-messages.js';

function counter(start: number): () => number {
  let n = start;
  return () => n++;
}

const caller = (ssrc = 1111, ids = counter(100)): ContentNegotiation =>
  new ContentNegotiation({ isOutgoing: true, localSsrc: ssrc, randomUint32: ids });
const callee = (ssrc = 2222, ids = counter(900)): ContentNegotiation =>
  new ContentNegotiation({ isOutgoing: false, localSsrc: ssrc, randomUint32: ids });

/** The NegotiateChannels messages of a capture, by sender. */
function ntgcallsNegotiation(name: 'ntgcalls-2.2.5-v8.json' | 'ntgcalls-3.0.5-v9.json', from: 'caller' | 'callee'): NegotiateChannelsMessage[] {
  const seen = new Set<number>();
  const out: NegotiateChannelsMessage[] = [];
  for (const m of capturedMessages(name)) {
    const r = decodeSignalingMessage(m.json);
    if (m.from !== from || r.kind !== 'message' || r.message.type !== 'NegotiateChannels') continue;
    if (seen.has(m.seq)) continue; // resends
    seen.add(m.seq);
    out.push(r.message);
  }
  return out;
}

describe('content negotiation against ntgcalls offers', () => {
  for (const name of ['ntgcalls-2.2.5-v8.json', 'ntgcalls-3.0.5-v9.json'] as const) {
    it(`${name}: as callee, answers the caller's offer with its SSRC, Opus only, no video; then offers`, () => {
      const [offer] = ntgcallsNegotiation(name, 'caller');
      const n = callee(2222);
      expect(n.start().send).toEqual([]); // the callee waits for the caller's offer
      const step = n.receive(offer!);
      expect(step.send).toHaveLength(2);
      const [answer, ourOffer] = step.send as [NegotiateChannelsMessage, NegotiateChannelsMessage];
      expect(answer.exchangeId).toBe(offer!.exchangeId);
      expect(answer.contents).toHaveLength(1);
      const audio = offer!.contents.find((c) => c.type === 'audio')!;
      expect(answer.contents[0]).toEqual({
        type: 'audio',
        ssrc: audio.ssrc,
        ssrcGroups: [],
        payloadTypes: [
          {
            id: 111,
            name: 'opus',
            clockrate: 48000,
            channels: 2,
            feedbackTypes: [{ type: 'transport-cc', subtype: '' }],
            parameters: [
              ['minptime', '10'],
              ['useinbandfec', '1'],
            ],
          },
        ],
        rtpExtensions: [
          { uri: ABS_SEND_TIME_URI, id: 2 },
          { uri: TRANSPORT_WIDE_CC_URI, id: 3 },
        ],
      });
      // Made after answering: the caller's exchangeId + 1 (a caller would answer it even if it overtook our answer).
      expect(ourOffer.exchangeId).toBe((offer!.exchangeId + 1) >>> 0);
      expect(ourOffer.contents).toEqual([
        expect.objectContaining({ type: 'audio', ssrc: 2222, rtpExtensions: [{ id: 2, uri: ABS_SEND_TIME_URI }, { id: 3, uri: TRANSPORT_WIDE_CC_URI }] }),
      ]);
      expect(n.remoteParams).toEqual({
        exchangeId: offer!.exchangeId,
        ssrc: audio.ssrc,
        ssrcGroups: [],
        opusPayloadTypes: [111],
        rtpExtensions: [
          { uri: ABS_SEND_TIME_URI, id: 2 },
          { uri: TRANSPORT_WIDE_CC_URI, id: 3 },
        ],
        extensionIds: { absSendTime: 2, transportWideCc: 3 },
      });
      expect(step.events).toContainEqual({ type: 'remote-media-params', params: n.remoteParams });
      expect(n.canSendMedia).toBe(false);
    });

    it(`${name}: as caller, ntgcalls' echo of our content is an accepted answer`, () => {
      const n = caller(770075887);
      const [ourOffer] = n.start().send as NegotiateChannelsMessage[];
      // ntgcalls' callee answer echoes the offer it got; replay the capture's answer with our exchangeId.
      const captured = ntgcallsNegotiation(name, 'callee')[0]!;
      const answer = { ...captured, exchangeId: ourOffer!.exchangeId };
      answer.contents = answer.contents.map((c) => (c.type === 'audio' ? { ...c, ssrc: 770075887 } : c));
      const step = n.receive(answer);
      expect(step.send).toEqual([]);
      expect(n.canSendMedia).toBe(true);
      expect(n.localParams).toEqual({
        exchangeId: ourOffer!.exchangeId,
        ssrc: 770075887,
        payloadType: 111,
        rtpExtensions: [
          { uri: ABS_SEND_TIME_URI, id: 2 },
          { uri: TRANSPORT_WIDE_CC_URI, id: 3 },
        ],
        extensionIds: { absSendTime: 2, transportWideCc: 3 },
      });
    });
  }

  it('keeps the offerer\'s Opus payload type and extension ids, drops other extensions and feedback', () => {
    const n = callee();
    const offer: NegotiateChannelsMessage = {
      type: 'NegotiateChannels',
      exchangeId: 5,
      contents: [
        {
          type: 'audio',
          ssrc: 42,
          ssrcGroups: [],
          payloadTypes: [
            { id: 9, name: 'G722', clockrate: 8000, channels: 1, feedbackTypes: [], parameters: [] },
            { id: 120, name: 'OPUS', clockrate: 48000, channels: 2, feedbackTypes: [{ type: 'nack', subtype: '' }, { type: 'transport-cc', subtype: '' }], parameters: [['', 'x'], ['stereo', '1']] },
          ],
          rtpExtensions: [
            { id: 1, uri: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level' },
            { id: 7, uri: TRANSPORT_WIDE_CC_URI },
          ],
        },
      ],
    };
    const [answer] = n.receive(offer).send;
    expect(answer!.contents[0]!.payloadTypes).toEqual([
      { id: 120, name: 'OPUS', clockrate: 48000, channels: 2, feedbackTypes: [{ type: 'transport-cc', subtype: '' }], parameters: [['stereo', '1']] },
    ]);
    expect(answer!.contents[0]!.rtpExtensions).toEqual([{ id: 7, uri: TRANSPORT_WIDE_CC_URI }]);
    expect(n.remoteParams).toMatchObject({ ssrc: 42, opusPayloadTypes: [120], extensionIds: { transportWideCc: 7 } });
  });

  it('answers an offer without Opus audio with no contents', () => {
    const n = callee();
    const step = n.receive({
      type: 'NegotiateChannels',
      exchangeId: 8,
      contents: [{ type: 'video', ssrc: 3, ssrcGroups: [], payloadTypes: [{ id: 96, name: 'VP8', clockrate: 90000, channels: 0, feedbackTypes: [], parameters: [] }], rtpExtensions: [] }],
    });
    expect(step.send[0]).toEqual({ type: 'NegotiateChannels', exchangeId: 8, contents: [] });
    expect(step.events).toContainEqual({ type: 'remote-media-absent', exchangeId: 8 });
    expect(n.remoteParams).toBeUndefined();
  });

  it('an answer without our audio (or without Opus) forbids sending', () => {
    const n = caller(1111);
    const [offer] = n.start().send;
    const step = n.receive({ type: 'NegotiateChannels', exchangeId: offer!.exchangeId, contents: [] });
    expect(step.events).toEqual([{ type: 'local-media-rejected', exchangeId: offer!.exchangeId }]);
    expect(n.offerAnswered).toBe(true);
    expect(n.canSendMedia).toBe(false);
  });
});

/** Delivers every message produced by one side to the other until quiet. */
function pump(a: ContentNegotiation, b: ContentNegotiation, fromA: NegotiateChannelsMessage[], fromB: NegotiateChannelsMessage[] = []): void {
  for (let i = 0; i < 20 && (fromA.length > 0 || fromB.length > 0); i++) {
    const toB = fromA.splice(0);
    const toA = fromB.splice(0);
    for (const m of toB) fromB.push(...b.receive(m).send);
    for (const m of toA) fromA.push(...a.receive(m).send);
  }
  expect(fromA.length + fromB.length).toBe(0);
}

describe('content negotiation between two of ours', () => {
  it('completes both rounds in the official order', () => {
    const a = caller(1111);
    const b = callee(2222);
    b.start();
    pump(a, b, [...a.start().send]);
    expect(a.canSendMedia && b.canSendMedia).toBe(true);
    expect(a.remoteParams?.ssrc).toBe(2222);
    expect(b.remoteParams?.ssrc).toBe(1111);
    expect(a.localParams?.ssrc).toBe(1111);
    expect(b.localParams?.ssrc).toBe(2222);
  });

  it('no media before our own offer is answered', () => {
    const a = caller(1111);
    const b = callee(2222);
    b.start();
    const [offerA] = a.start().send;
    expect(a.canSendMedia).toBe(false);
    const [answerA, offerB] = b.receive(offerA!).send;
    expect(b.canSendMedia).toBe(false); // b answered a, but its own offer is outstanding
    a.receive(answerA!);
    expect(a.canSendMedia).toBe(true);
    const [answerB] = a.receive(offerB!).send;
    b.receive(answerB!);
    expect(b.canSendMedia).toBe(true);
  });

  it('crossing offers (tgcalls): the caller ignores a callee offer made before the callee saw its offer; the callee drops its own, answers, and re-offers', () => {
    const a = caller(1111);
    const b = callee(2222);
    b.start();
    const [offerA] = a.start().send;
    // A callee that offered early (not what we do, but a peer may): make b's offer outstanding by
    // answering an unrelated peer offer first.
    const bFirst = b.receive({ type: 'NegotiateChannels', exchangeId: 777, contents: [] }).send;
    const offerB = bFirst[1]!;
    expect(b.outstandingOfferId).toBe(offerB.exchangeId);

    const atCaller: NegotiationStep = a.receive(offerB);
    expect(atCaller.send).toEqual([]);
    expect(atCaller.events).toEqual([{ type: 'message-ignored', exchangeId: offerB.exchangeId, reason: 'glare' }]);

    const atCallee = b.receive(offerA!);
    expect(atCallee.send).toHaveLength(2);
    const [answerA, offerC] = atCallee.send;
    expect(answerA!.exchangeId).toBe(offerA!.exchangeId);
    expect(offerC!.exchangeId).toBe(offerA!.exchangeId + 1); // made after answering offerA
    expect(b.outstandingOfferId).toBe(offerC!.exchangeId);

    // The re-offer may even overtake the answer: the caller takes it (offerC before answerA).
    pump(a, b, [], [offerC!, answerA!]);
    expect(a.canSendMedia && b.canSendMedia).toBe(true);
    expect(a.remoteParams?.ssrc).toBe(2222);
  });

  it('a callee offer that overtakes the callee answer is answered at once: its exchangeId says it was made after', () => {
    const a = caller(1111);
    const b = callee(2222);
    b.start();
    const [offerA] = a.start().send;
    const [answerA, offerB] = b.receive(offerA!).send;
    expect(offerB!.exchangeId).toBe(offerA!.exchangeId + 1);

    const early = a.receive(offerB!); // before answerA
    expect(early.send).toEqual([expect.objectContaining({ exchangeId: offerB!.exchangeId, contents: [expect.objectContaining({ ssrc: 2222 })] })]);
    expect(early.events).toContainEqual({ type: 'remote-media-params', params: a.remoteParams });
    expect(a.outstandingOfferId).toBe(offerA!.exchangeId); // ours still waits for its answer
    expect(a.canSendMedia).toBe(false);

    a.receive(answerA!);
    b.receive(early.send[0]!);
    expect(a.canSendMedia && b.canSendMedia).toBe(true);
    expect(a.remoteParams?.ssrc).toBe(2222);
    expect(b.remoteParams?.ssrc).toBe(1111);
    // Duplicates of either change nothing.
    expect(a.receive(offerB!).events).toEqual([{ type: 'message-ignored', exchangeId: offerB!.exchangeId, reason: 'already-answered' }]);
    expect(a.receive(answerA!).events).toEqual([{ type: 'message-ignored', exchangeId: offerA!.exchangeId, reason: 'stale-answer' }]);
  });

  it('the mark after exchangeId 2^32-1 is 1, and a caller takes it', () => {
    const a = caller(1111, () => 0xffffffff);
    const b = callee(2222);
    b.start();
    const [offerA] = a.start().send;
    const [, offerB] = b.receive(offerA!).send;
    expect(offerB!.exchangeId).toBe(1);
    expect(a.receive(offerB!).send).toEqual([expect.objectContaining({ exchangeId: 1 })]);
  });

  it('a crossing offer with any other exchangeId is ignored while ours is outstanding, as tgcalls does (a dropped offer must not be answered)', () => {
    const a = caller(1111);
    const [offerA] = a.start().send;
    for (const exchangeId of [offerA!.exchangeId + 2, offerA!.exchangeId - 1, 7]) {
      expect(a.receive({ type: 'NegotiateChannels', exchangeId, contents: [] })).toEqual({
        send: [],
        events: [{ type: 'message-ignored', exchangeId, reason: 'glare' }],
      });
    }
    expect(a.remoteParams).toBeUndefined();
  });

  it('a callee that answered before start() offers at start(), marked after the offer it answered', () => {
    const b = callee(2222);
    b.receive({ type: 'NegotiateChannels', exchangeId: 41, contents: [] });
    expect(b.start().send).toEqual([expect.objectContaining({ exchangeId: 42 })]);
  });

  it('a renegotiation offer is answered again and updates the peer parameters', () => {
    const a = caller(1111);
    const b = callee(2222);
    b.start();
    pump(a, b, [...a.start().send]);
    const reoffer: NegotiateChannelsMessage = {
      type: 'NegotiateChannels',
      exchangeId: 55555,
      contents: [{ type: 'audio', ssrc: 3333, ssrcGroups: [], payloadTypes: [{ id: 109, name: 'opus', clockrate: 48000, channels: 2, feedbackTypes: [], parameters: [] }], rtpExtensions: [] }],
    };
    const step = a.receive(reoffer);
    expect(step.send).toEqual([
      {
        type: 'NegotiateChannels',
        exchangeId: 55555,
        contents: [{ type: 'audio', ssrc: 3333, ssrcGroups: [], payloadTypes: [{ id: 109, name: 'opus', clockrate: 48000, channels: 2, feedbackTypes: [], parameters: [] }], rtpExtensions: [] }],
      },
    ]);
    expect(a.remoteParams).toMatchObject({ ssrc: 3333, opusPayloadTypes: [109], exchangeId: 55555 });
    expect(a.canSendMedia).toBe(true); // our own round is unaffected
    // The same exchangeId again is not answered twice (breaks answer/offer echo loops).
    expect(a.receive(reoffer)).toEqual({ send: [], events: [{ type: 'message-ignored', exchangeId: 55555, reason: 'already-answered' }] });
  });

  it('a late duplicate answer is not mistaken for an offer', () => {
    const a = caller(1111);
    const b = callee(2222);
    b.start();
    const [offerA] = a.start().send;
    const [answerA] = b.receive(offerA!).send;
    a.receive(answerA!);
    expect(a.receive(answerA!)).toEqual({ send: [], events: [{ type: 'message-ignored', exchangeId: answerA!.exchangeId, reason: 'stale-answer' }] });
  });

  it('never reuses an exchangeId nor sends 0, even with a repeating random source', () => {
    const ids = [5, 5, 5, 6];
    const n = new ContentNegotiation({ isOutgoing: false, localSsrc: 9, randomUint32: () => ids.shift() ?? 7 });
    n.start();
    // Each peer offer crosses our outstanding one: we drop ours, answer, and offer again.
    const offerAfter = (exchangeId: number) => n.receive({ type: 'NegotiateChannels', exchangeId, contents: [] }).send[1]!.exchangeId;
    expect(offerAfter(1)).toBe(2); // the mark: the answered offer's id + 1
    expect(offerAfter(0xffffffff)).toBe(5); // its mark would be 1 (never 0), the peer's own id: random instead
    expect(offerAfter(4)).toBe(6); // 5 is ours already, and so is the repeated 5
  });

  it('converges under any order of arrival, with duplicates', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const random = seededRandom(seed);
      const a = caller(1111, () => Math.floor(random() * 2 ** 32));
      const b = callee(2222, () => Math.floor(random() * 2 ** 32));
      b.start();
      // In flight: the acked signaling channel keeps each direction in order (§5.3), raw-mode
      // signaling does not; any message may overtake any other here.
      const toB: NegotiateChannelsMessage[] = [...a.start().send];
      const toA: NegotiateChannelsMessage[] = [];
      for (let steps = 0; steps < 200 && (toA.length > 0 || toB.length > 0); steps++) {
        const pickB = toA.length === 0 || (toB.length > 0 && random() < 0.5);
        const queue = pickB ? toB : toA;
        const at = Math.floor(random() * queue.length);
        const [m] = random() < 0.1 ? [queue[at]!] : queue.splice(at, 1); // 10 % duplicates
        const out = (pickB ? b : a).receive(m!).send;
        (pickB ? toA : toB).push(...out);
      }
      expect(toA.length + toB.length, `seed ${seed}`).toBe(0);
      expect(a.canSendMedia && b.canSendMedia, `seed ${seed}`).toBe(true);
      expect(a.remoteParams?.ssrc).toBe(2222);
      expect(b.remoteParams?.ssrc).toBe(1111);
    }
  });

  it('a callee that answered before start() offers at start()', () => {
    const a = caller(1111);
    const b = callee(2222);
    const [offerA] = a.start().send;
    expect(b.receive(offerA!).send).toHaveLength(1); // the answer only
    const [offerB] = b.start().send;
    expect(offerB!.contents[0]!.ssrc).toBe(2222);
    expect(b.start().send).toEqual([]); // once
  });

  it('rejects an invalid local SSRC (API misuse)', () => {
    expect(() => caller(0)).toThrow(RangeError);
    expect(() => caller(2 ** 32)).toThrow(RangeError);
  });
});
