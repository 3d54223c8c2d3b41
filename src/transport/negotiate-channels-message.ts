/**
 * The NegotiateChannels message (transport-v2.md §2): its types and codec, apart from messages.ts
 * because it is the largest message family (contents, payload types, extensions, SSRC groups).
 */
import {
  FieldError,
  MAX_STRING_LENGTH,
  UINT32_MAX,
  asArray,
  asObject,
  optionalArray,
  own,
  requiredArray,
  requiredString,
  uint32Field,
  type Json,
  type JsonObject,
} from './json-fields.js';

export interface FeedbackType {
  readonly type: string;
  /** Always present on the wire (tgcalls rejects the whole message without it); `""` when none. */
  readonly subtype: string;
}

/** One codec parameter (fmtp `name=value`). An empty name is accepted (ntgcalls 2.2.5 RED) but never emitted. */
export type CodecParameter = readonly [name: string, value: string];

export interface PayloadType {
  readonly id: number;
  readonly name: string;
  readonly clockrate: number;
  /** 0 when absent on the wire. */
  readonly channels: number;
  readonly feedbackTypes: readonly FeedbackType[];
  readonly parameters: readonly CodecParameter[];
}

export interface RtpExtension {
  readonly id: number;
  readonly uri: string;
}

export interface SsrcGroup {
  readonly semantics: string;
  readonly ssrcs: readonly number[];
}

export type MediaContentType = 'audio' | 'video';

export interface MediaContent {
  readonly type: MediaContentType;
  readonly ssrc: number;
  readonly ssrcGroups: readonly SsrcGroup[];
  readonly payloadTypes: readonly PayloadType[];
  readonly rtpExtensions: readonly RtpExtension[];
}

export interface NegotiateChannelsMessage {
  readonly type: 'NegotiateChannels';
  /** uint32; an answer carries the exchangeId of the offer it answers. */
  readonly exchangeId: number;
  readonly contents: readonly MediaContent[];
}

// Bounds on every array (strings: json-fields.ts), far above anything tgcalls/ntgcalls send (ntgcalls: 19 video
// payload types, 5 feedback types), so a hostile message cannot make decoding loop for long.
const LIMITS = {
  contents: 32,
  ssrcGroups: 32,
  ssrcs: 32,
  payloadTypes: 128,
  feedbackTypes: 32,
  parameters: 64,
  rtpExtensions: 64,
} as const;

/** The wire object of a NegotiateChannels message (`@type` first, ids as decimal strings, as tgcalls). */
export function negotiateChannelsToWire(message: NegotiateChannelsMessage): JsonObject {
  return {
    '@type': 'NegotiateChannels',
    exchangeId: uint32ToWire(message.exchangeId, 'exchangeId'),
    contents: message.contents.map(contentToWire),
  };
}

function contentToWire(c: MediaContent): JsonObject {
  const o: JsonObject = { type: c.type, ssrc: uint32ToWire(c.ssrc, 'ssrc') };
  // tgcalls omits empty ssrcGroups / payloadTypes; its parser treats both as optional.
  if (c.ssrcGroups.length > 0) {
    o.ssrcGroups = c.ssrcGroups.map((g) => ({ semantics: g.semantics, ssrcs: g.ssrcs.map((s) => uint32ToWire(s, 'ssrcs')) }));
  }
  if (c.payloadTypes.length > 0) {
    o.payloadTypes = c.payloadTypes.map((p) => {
      const parameters: JsonObject = {};
      for (const [name, value] of p.parameters) {
        // An empty name broke Telegram Web K (ntgcalls issue #73); `__proto__` would not survive as a key.
        if (name === '' || name === '__proto__') continue;
        parameters[name] = value;
      }
      return {
        id: p.id,
        name: p.name,
        clockrate: p.clockrate,
        channels: p.channels,
        feedbackTypes: p.feedbackTypes.map((f) => ({ type: f.type, subtype: f.subtype })),
        parameters,
      };
    });
  }
  o.rtpExtensions = c.rtpExtensions.map((e) => ({ id: e.id, uri: e.uri }));
  return o;
}

function uint32ToWire(value: number, what: string): string {
  if (!Number.isInteger(value) || value < 0 || value > UINT32_MAX) throw new RangeError(`${what} ${value} is not a uint32`);
  return String(value);
}

/** Parses a NegotiateChannels object; throws `FieldError` where tgcalls rejects the message. */
export function parseNegotiateChannels(o: JsonObject): NegotiateChannelsMessage {
  const exchangeId = uint32Field(own(o, 'exchangeId'), 'exchangeId');
  const contentsRaw = own(o, 'contents');
  // tgcalls treats a missing `contents` as empty.
  const contents = contentsRaw === undefined ? [] : asArray(contentsRaw, 'contents', LIMITS.contents).map(parseContent);
  return { type: 'NegotiateChannels', exchangeId, contents };
}

function parseContent(item: Json, i: number): MediaContent {
  const at = `contents[${i}].`;
  const c = asObject(item, `contents[${i}]`);
  const type = requiredString(c, 'type', at);
  // tgcalls rejects the whole message for any other content type.
  if (type !== 'audio' && type !== 'video') throw new FieldError(`${at}type "${type.slice(0, 32)}" is not audio or video`);
  const ssrc = uint32Field(own(c, 'ssrc'), `${at}ssrc`);
  const ssrcGroups = optionalArray(c, 'ssrcGroups', LIMITS.ssrcGroups, at).map((g, j): SsrcGroup => {
    const gat = `${at}ssrcGroups[${j}]`;
    const group = asObject(g, gat);
    const semantics = requiredString(group, 'semantics', `${gat}.`);
    const ssrcs = requiredArray(group, 'ssrcs', LIMITS.ssrcs, `${gat}.`).map((s, k) => {
      const value = uint32Field(s, `${gat}.ssrcs[${k}]`);
      // tgcalls: a group SSRC that parses to 0 is an error.
      if (value === 0) throw new FieldError(`${gat}.ssrcs[${k}] is 0`);
      return value;
    });
    return { semantics, ssrcs };
  });
  const payloadTypes = optionalArray(c, 'payloadTypes', LIMITS.payloadTypes, at).map((p, j) =>
    parsePayloadType(p, `${at}payloadTypes[${j}]`),
  );
  const rtpExtensions = optionalArray(c, 'rtpExtensions', LIMITS.rtpExtensions, at).map((e, j): RtpExtension => {
    const eat = `${at}rtpExtensions[${j}]`;
    const ext = asObject(e, eat);
    const id = own(ext, 'id');
    // One- and two-byte header extension ids are 1..255 (RFC 8285).
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 1 || id > 255) throw new FieldError(`${eat}.id is not an integer 1..255`);
    return { id, uri: requiredString(ext, 'uri', `${eat}.`) };
  });
  return { type, ssrc, ssrcGroups, payloadTypes, rtpExtensions };
}

function parsePayloadType(item: Json, at: string): PayloadType {
  const p = asObject(item, at);
  const id = own(p, 'id');
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > 127) throw new FieldError(`${at}.id is not an integer 0..127`);
  const name = requiredString(p, 'name', `${at}.`);
  const clockrate = own(p, 'clockrate');
  if (typeof clockrate !== 'number' || !Number.isInteger(clockrate) || clockrate < 0 || clockrate > UINT32_MAX) {
    throw new FieldError(`${at}.clockrate is not a uint32`);
  }
  const channelsRaw = own(p, 'channels');
  let channels = 0;
  if (channelsRaw !== undefined) {
    if (typeof channelsRaw !== 'number' || !Number.isInteger(channelsRaw) || channelsRaw < 0 || channelsRaw > 255) {
      throw new FieldError(`${at}.channels is not an integer 0..255`);
    }
    channels = channelsRaw;
  }
  const feedbackTypes = optionalArray(p, 'feedbackTypes', LIMITS.feedbackTypes, `${at}.`).map((f, j): FeedbackType => {
    const fat = `${at}.feedbackTypes[${j}]`;
    const fb = asObject(f, fat);
    return { type: requiredString(fb, 'type', `${fat}.`), subtype: requiredString(fb, 'subtype', `${fat}.`) };
  });
  const parametersRaw = own(p, 'parameters');
  const parameters: CodecParameter[] = [];
  if (parametersRaw !== undefined) {
    const params = asObject(parametersRaw, `${at}.parameters`);
    const keys = Object.keys(params);
    if (keys.length > LIMITS.parameters) throw new FieldError(`${at}.parameters has more than ${LIMITS.parameters} entries`);
    for (const key of keys) {
      const value = params[key];
      // tgcalls: a non-string parameter value rejects the whole message.
      if (typeof value !== 'string' || value.length > MAX_STRING_LENGTH || key.length > MAX_STRING_LENGTH) {
        throw new FieldError(`${at}.parameters["${key.slice(0, 32)}"] is not a string`);
      }
      parameters.push([key, value]);
    }
  }
  return { id, name, clockrate, channels, feedbackTypes, parameters };
}
