import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../src/errors.js';
import {
  decodeSignalingMessage,
  encodeSignalingMessage,
  signalingMessageToJson,
  type DecodeResult,
  type NegotiateChannelsMessage,
  type SignalingMessage,
} from '../../src/transport/messages.js';
import { seededBytes, seededRandom } from '../helpers/vectors.js';
import { capturedMessages } from './capture-messages.js';

const CAPTURES = ['ntgcalls-2.2.5-v8.json', 'ntgcalls-3.0.5-v9.json'] as const;
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

function decoded(payload: Uint8Array | string): SignalingMessage {
  const r = decodeSignalingMessage(payload);
  if (r.kind !== 'message') throw new Error(`expected a message, got ${JSON.stringify(r)}`);
  return r.message;
}

function errorCode(r: DecodeResult): string {
  if (r.kind !== 'error') throw new Error(`expected an error, got ${r.kind}`);
  expect(r.error).toBeInstanceOf(ProtocolError);
  return r.error.code;
}

/** What our encoder is expected to emit for a wire object: empty parameter names and empty ssrcGroups dropped. */
function normalizeWire(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => normalizeWire(v));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (key === 'parameters' && k === '') continue;
      if ((k === 'ssrcGroups' || k === 'payloadTypes') && Array.isArray(v) && v.length === 0) continue;
      out[k] = normalizeWire(v, k);
    }
    return out;
  }
  return value;
}

function withoutEmptyParameterNames(m: SignalingMessage): SignalingMessage {
  if (m.type !== 'NegotiateChannels') return m;
  return {
    ...m,
    contents: m.contents.map((c) => ({
      ...c,
      payloadTypes: c.payloadTypes.map((p) => ({ ...p, parameters: p.parameters.filter(([name]) => name !== '') })),
    })),
  };
}

describe('signaling messages: ntgcalls captures', () => {
  for (const name of CAPTURES) {
    it(`${name}: every message decodes and re-encodes to an equivalent object`, () => {
      const messages = capturedMessages(name);
      expect(messages.length).toBeGreaterThan(20);
      const types = new Set<string>();
      for (const m of messages) {
        const message = decoded(m.json);
        types.add(message.type);
        const encoded = encodeSignalingMessage(message);
        // Same typed object after a round trip (minus the empty parameter name we never emit)...
        expect(decoded(encoded)).toEqual(withoutEmptyParameterNames(message));
        // ...and the same wire object, up to what we deliberately never emit.
        expect(JSON.parse(text(encoded))).toEqual(normalizeWire(JSON.parse(text(m.json))));
        // tgcalls sends uint32 ids as strings; we keep doing so.
        if (message.type === 'NegotiateChannels') {
          expect(text(encoded)).toContain(`"exchangeId":"${message.exchangeId}"`);
          expect(text(encoded)).toContain(`"ssrc":"${message.contents[0]!.ssrc}"`);
        }
      }
      expect([...types].sort()).toEqual(['Candidates', 'InitialSetup', 'NegotiateChannels']);
    });
  }

  it('reads the v8 caller offer: ids become numbers, the empty RED parameter is kept on input', () => {
    const offer = capturedMessages('ntgcalls-2.2.5-v8.json')
      .map((m) => decoded(m.json))
      .find((m): m is NegotiateChannelsMessage => m.type === 'NegotiateChannels')!;
    expect(offer.exchangeId).toBe(254905477);
    const [audio, video] = offer.contents;
    expect(audio).toMatchObject({ type: 'audio', ssrc: 770075887, ssrcGroups: [] });
    expect(audio!.payloadTypes[0]).toEqual({
      id: 111,
      name: 'opus',
      clockrate: 48000,
      channels: 2,
      feedbackTypes: [{ type: 'transport-cc', subtype: '' }],
      parameters: [
        ['minptime', '10'],
        ['useinbandfec', '1'],
      ],
    });
    const red = audio!.payloadTypes.find((p) => p.name === 'red')!;
    expect(red.parameters).toEqual([['', '111/111']]);
    expect(audio!.rtpExtensions.map((e) => e.id)).toEqual([2, 3]);
    expect(video).toMatchObject({ type: 'video', ssrc: 1369890318, ssrcGroups: [{ semantics: 'FID', ssrcs: [1369890318, 2751274543] }] });
    // Never emit an empty parameter name (it broke Telegram Web K, ntgcalls #73).
    expect(text(encodeSignalingMessage(offer))).not.toContain('"":');
  });

  it('keeps the ntgcalls 3.x candidate fields sdpMid / sdpMLineIndex', () => {
    const m = capturedMessages('ntgcalls-3.0.5-v9.json').map((c) => decoded(c.json)).find((x) => x.type === 'Candidates')!;
    expect(m).toMatchObject({ type: 'Candidates', candidates: [{ sdpMid: '', sdpMLineIndex: 0 }] });
    expect(text(encodeSignalingMessage(m))).toContain('"sdpMid":"","sdpMLineIndex":0');
  });
});

describe('signaling messages: encoding', () => {
  it('emits MediaState with all five keys, @type first', () => {
    const json = signalingMessageToJson({
      type: 'MediaState',
      muted: true,
      lowBattery: false,
      videoState: 'inactive',
      videoRotation: 0,
      screencastState: 'inactive',
    });
    expect(json).toBe(
      '{"@type":"MediaState","muted":true,"lowBattery":false,"videoState":"inactive","videoRotation":0,"screencastState":"inactive"}',
    );
  });

  it('emits InitialSetup as tgcalls reads it', () => {
    const json = signalingMessageToJson({
      type: 'InitialSetup',
      ufrag: 'abcd',
      pwd: 'p'.repeat(22),
      renomination: false,
      fingerprints: [{ hash: 'sha-256', setup: 'actpass', fingerprint: 'AA:BB' }],
    });
    expect(JSON.parse(json)).toEqual({
      '@type': 'InitialSetup',
      ufrag: 'abcd',
      pwd: 'p'.repeat(22),
      renomination: false,
      fingerprints: [{ hash: 'sha-256', setup: 'actpass', fingerprint: 'AA:BB' }],
    });
  });

  it('refuses to encode an id that is not a uint32 (API misuse)', () => {
    const bad: NegotiateChannelsMessage = { type: 'NegotiateChannels', exchangeId: 2 ** 32, contents: [] };
    expect(() => encodeSignalingMessage(bad)).toThrow(RangeError);
  });
});

describe('signaling messages: bad input never throws', () => {
  const setup = { '@type': 'InitialSetup', ufrag: 'abcd', pwd: 'x'.repeat(22), renomination: true, fingerprints: [] };
  const content = {
    type: 'audio',
    ssrc: '1',
    payloadTypes: [{ id: 111, name: 'opus', clockrate: 48000, channels: 2, feedbackTypes: [], parameters: {} }],
    rtpExtensions: [{ id: 2, uri: 'u' }],
  };
  const negotiate = (c: object, extra: object = {}): string =>
    JSON.stringify({ '@type': 'NegotiateChannels', exchangeId: '7', contents: [{ ...content, ...c }], ...extra });

  const cases: [string, Uint8Array | string, string][] = [
    ['invalid UTF-8', Uint8Array.from([0x7b, 0xff, 0xfe, 0x7d]), 'SIGNALING_MESSAGE_NOT_UTF8'],
    ['invalid JSON', '{"@type":"Candidates",', 'SIGNALING_MESSAGE_NOT_JSON'],
    ['empty payload', '', 'SIGNALING_MESSAGE_NOT_JSON'],
    ['a JSON array', '[1,2]', 'SIGNALING_MESSAGE_NOT_OBJECT'],
    ['a JSON string', '"InitialSetup"', 'SIGNALING_MESSAGE_NOT_OBJECT'],
    ['null', 'null', 'SIGNALING_MESSAGE_NOT_OBJECT'],
    ['no @type', '{"ufrag":"x"}', 'SIGNALING_MESSAGE_NO_TYPE'],
    ['numeric @type', '{"@type":5}', 'SIGNALING_MESSAGE_NO_TYPE'],
    ['InitialSetup without ufrag', JSON.stringify({ ...setup, ufrag: undefined }), 'SIGNALING_MESSAGE_INVALID'],
    ['InitialSetup with numeric pwd', JSON.stringify({ ...setup, pwd: 1 }), 'SIGNALING_MESSAGE_INVALID'],
    ['InitialSetup with string renomination', JSON.stringify({ ...setup, renomination: 'true' }), 'SIGNALING_MESSAGE_INVALID'],
    ['InitialSetup without fingerprints', JSON.stringify({ ...setup, fingerprints: undefined }), 'SIGNALING_MESSAGE_INVALID'],
    ['InitialSetup fingerprint without setup', JSON.stringify({ ...setup, fingerprints: [{ hash: 'sha-256', fingerprint: 'AA' }] }), 'SIGNALING_MESSAGE_INVALID'],
    ['Candidates not an array', '{"@type":"Candidates","candidates":{}}', 'SIGNALING_MESSAGE_INVALID'],
    ['candidate without sdpString', '{"@type":"Candidates","candidates":[{}]}', 'SIGNALING_MESSAGE_INVALID'],
    ['candidate with numeric sdpString', '{"@type":"Candidates","candidates":[{"sdpString":1}]}', 'SIGNALING_MESSAGE_INVALID'],
    ['candidate with a negative sdpMLineIndex', '{"@type":"Candidates","candidates":[{"sdpString":"c","sdpMLineIndex":-1}]}', 'SIGNALING_MESSAGE_INVALID'],
    ['NegotiateChannels without exchangeId', JSON.stringify({ '@type': 'NegotiateChannels', contents: [] }), 'SIGNALING_MESSAGE_INVALID'],
    ['exchangeId above uint32', negotiate({}, { exchangeId: '4294967296' }), 'SIGNALING_MESSAGE_INVALID'],
    ['huge numeric exchangeId', negotiate({}, { exchangeId: 1e300 }), 'SIGNALING_MESSAGE_INVALID'],
    ['fractional exchangeId', negotiate({}, { exchangeId: 1.5 }), 'SIGNALING_MESSAGE_INVALID'],
    ['exchangeId with a sign', negotiate({}, { exchangeId: '-1' }), 'SIGNALING_MESSAGE_INVALID'],
    ['exchangeId in hex', negotiate({}, { exchangeId: '0x10' }), 'SIGNALING_MESSAGE_INVALID'],
    ['exchangeId with 30 digits', negotiate({}, { exchangeId: '1'.repeat(30) }), 'SIGNALING_MESSAGE_INVALID'],
    ['contents not an array', negotiate({}, { contents: 'audio' }), 'SIGNALING_MESSAGE_INVALID'],
    ['content of unknown type', negotiate({ type: 'screencast' }), 'SIGNALING_MESSAGE_INVALID'],
    ['content without ssrc', negotiate({ ssrc: undefined }), 'SIGNALING_MESSAGE_INVALID'],
    ['ssrc as a boolean', negotiate({ ssrc: true }), 'SIGNALING_MESSAGE_INVALID'],
    ['ssrc above uint32', negotiate({ ssrc: '99999999999' }), 'SIGNALING_MESSAGE_INVALID'],
    ['ssrc group with ssrc 0', negotiate({ ssrcGroups: [{ semantics: 'FID', ssrcs: ['0'] }] }), 'SIGNALING_MESSAGE_INVALID'],
    ['ssrc group without semantics', negotiate({ ssrcGroups: [{ ssrcs: ['1'] }] }), 'SIGNALING_MESSAGE_INVALID'],
    ['payload type id as a string', negotiate({ payloadTypes: [{ ...content.payloadTypes[0], id: '111' }] }), 'SIGNALING_MESSAGE_INVALID'],
    ['payload type id 128', negotiate({ payloadTypes: [{ ...content.payloadTypes[0], id: 128 }] }), 'SIGNALING_MESSAGE_INVALID'],
    ['payload type without clockrate', negotiate({ payloadTypes: [{ id: 1, name: 'x' }] }), 'SIGNALING_MESSAGE_INVALID'],
    ['numeric codec parameter value', negotiate({ payloadTypes: [{ ...content.payloadTypes[0], parameters: { minptime: 10 } }] }), 'SIGNALING_MESSAGE_INVALID'],
    ['feedback type without subtype', negotiate({ payloadTypes: [{ ...content.payloadTypes[0], feedbackTypes: [{ type: 'nack' }] }] }), 'SIGNALING_MESSAGE_INVALID'],
    ['extension id 0', negotiate({ rtpExtensions: [{ id: 0, uri: 'u' }] }), 'SIGNALING_MESSAGE_INVALID'],
    ['extension id as a string', negotiate({ rtpExtensions: [{ id: '2', uri: 'u' }] }), 'SIGNALING_MESSAGE_INVALID'],
    ['extension without uri', negotiate({ rtpExtensions: [{ id: 2 }] }), 'SIGNALING_MESSAGE_INVALID'],
    ['MediaState with string muted', '{"@type":"MediaState","muted":"no"}', 'SIGNALING_MESSAGE_INVALID'],
    ['MediaState with numeric videoState', '{"@type":"MediaState","videoState":1}', 'SIGNALING_MESSAGE_INVALID'],
    ['MediaState with string rotation', '{"@type":"MediaState","videoRotation":"90"}', 'SIGNALING_MESSAGE_INVALID'],
    ['too many candidates', JSON.stringify({ '@type': 'Candidates', candidates: Array(1000).fill({ sdpString: 'c' }) }), 'SIGNALING_MESSAGE_INVALID'],
    ['a payload over 1 MiB', new Uint8Array(1024 * 1024 + 1), 'SIGNALING_MESSAGE_TOO_LARGE'],
  ];
  for (const [what, payload, code] of cases) {
    it(`${what} → ${code}`, () => {
      expect(errorCode(decodeSignalingMessage(payload))).toBe(code);
    });
  }

  it('deep nesting is an error, not a crash', () => {
    const deep = '{"@type":"Candidates","candidates":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}';
    expect(decodeSignalingMessage(deep).kind).toBe('error');
  });

  it('ignores an unknown @type', () => {
    expect(decodeSignalingMessage('{"@type":"VideoParameters","x":1}')).toEqual({ kind: 'unknown', type: 'VideoParameters' });
    expect(decodeSignalingMessage('{"@type":"offer","sdp":"v=0"}')).toEqual({ kind: 'unknown', type: 'offer' });
  });

  it('accepts what tgcalls accepts: numbers for ids, missing optional fields, unknown keys', () => {
    expect(decoded('{"@type":"NegotiateChannels","exchangeId":12,"contents":[{"type":"audio","ssrc":5}],"extra":1}')).toEqual({
      type: 'NegotiateChannels',
      exchangeId: 12,
      contents: [{ type: 'audio', ssrc: 5, ssrcGroups: [], payloadTypes: [], rtpExtensions: [] }],
    });
    expect(decoded('{"@type":"NegotiateChannels","exchangeId":"4294967295"}')).toEqual({
      type: 'NegotiateChannels',
      exchangeId: 4294967295,
      contents: [],
    });
    expect(decoded('{"@type":"MediaState"}')).toEqual({
      type: 'MediaState',
      muted: false,
      lowBattery: false,
      videoState: 'inactive',
      videoRotation: 0,
      screencastState: 'inactive',
    });
    // tgcalls keeps defaults for unknown enum values.
    expect(decoded('{"@type":"MediaState","videoState":"sideways","videoRotation":45,"muted":true}')).toMatchObject({
      muted: true,
      videoState: 'inactive',
      videoRotation: 0,
    });
    expect(decoded('{"@type":"InitialSetup","ufrag":"a","pwd":"b","fingerprints":[]}')).toMatchObject({ renomination: false });
  });

  it('a __proto__ codec parameter stays data', () => {
    const m = decoded(
      '{"@type":"NegotiateChannels","exchangeId":"1","contents":[{"type":"audio","ssrc":"1","payloadTypes":[{"id":1,"name":"x","clockrate":1,"parameters":{"__proto__":"y","a":"b"}}]}]}',
    ) as NegotiateChannelsMessage;
    expect(m.contents[0]!.payloadTypes[0]!.parameters).toEqual([
      ['__proto__', 'y'],
      ['a', 'b'],
    ]);
    expect(JSON.parse(text(encodeSignalingMessage(m))).contents[0].payloadTypes[0].parameters).toEqual({ a: 'b' });
  });

  it('random bytes and mutated captures never throw', () => {
    const random = seededRandom(0x7e57);
    const samples = capturedMessages('ntgcalls-3.0.5-v9.json').map((m) => m.json);
    for (let i = 0; i < 3000; i++) {
      let payload: Uint8Array;
      if (i % 2 === 0) {
        payload = seededBytes(random, Math.floor(random() * 64));
      } else {
        const base = samples[i % samples.length]!;
        payload = Uint8Array.from(base);
        for (let k = 0; k < 3; k++) payload[Math.floor(random() * payload.length)] = Math.floor(random() * 256);
      }
      const r = decodeSignalingMessage(payload);
      expect(['message', 'unknown', 'error']).toContain(r.kind);
    }
  });
});
