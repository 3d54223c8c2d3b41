/**
 * Content negotiation of tgcalls InstanceV2 (`NegotiateChannels`), as a pure state machine.
 *
 * Two independent offer/answer rounds (transport-v2.md §3, transport-v2-sources.md §2; tgcalls
 * `ContentNegotiation.cpp`):
 * - each side offers its own outgoing contents (its own SSRC) under a fresh exchangeId;
 * - the other side answers with the same exchangeId, echoing the offered contents (the offerer's
 *   SSRC) restricted to what it accepts. A `NegotiateChannels` is an answer iff its exchangeId is
 *   the one of our outstanding offer; anything else is an offer.
 * - The peer's SSRC and codecs come only from the peer's offer; the answer to our offer says which
 *   of our payload types / extensions the peer accepted. Official clients drop media sent before
 *   their answer, so we send none before ours is answered (`canSendMedia`).
 * - Roles: the caller offers at start; the callee answers the caller's offer first and only then
 *   offers (the official, race-free order).
 * - Crossing offers, in tgcalls `ContentNegotiationContext::setRemoteNegotiationContent` (ntgcalls'
 *   wrtc `setPendingAnswer` is the same): the caller wins. A callee drops its outstanding offer and
 *   answers; a caller ignores the peer's offer for good, and nobody re-offers (`getPendingOffer`
 *   needs `_needNegotiation`, cleared when the dropped offer was made). That is exact when each
 *   direction arrives in send order, as EncryptedConnection and our acked channel deliver it (a
 *   new message leaves behind every unacked older one): a callee offer that reaches the caller
 *   before the callee's answer was made before the callee saw the caller's offer, so the callee
 *   dropped it. Answering it anyway would harm: with nothing outstanding, tgcalls takes any
 *   NegotiateChannels for an offer, and our answer's contents would replace its incoming channels.
 * - Without that order (raw-mode signaling, a reordering path) the callee's offer may overtake an
 *   answer made before it; ignored, the callee's audio would never be negotiated. So our callee
 *   says when its offer was made after answering the caller's offer X: it takes exchangeId X+1
 *   (`offerIdAfter`; ids are opaque uint32s to tgcalls). A caller whose offer X is outstanding
 *   answers an offer X+1 at once (it was not dropped) and ignores any other, as tgcalls does; our
 *   callee, when it drops its offer for the caller's X', answers and re-offers under X'+1.
 *
 * We only do audio: Opus, the abs-send-time and transport-wide-cc extensions. Video contents in a
 * peer offer are left out of the answer (an absent content is a rejected one).
 */
import type {
  FeedbackType,
  MediaContent,
  NegotiateChannelsMessage,
  PayloadType,
  RtpExtension,
  SsrcGroup,
} from './messages.js';

export const OPUS_PAYLOAD_TYPE = 111;
export const ABS_SEND_TIME_URI = 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time';
export const TRANSPORT_WIDE_CC_URI = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';

/** Extension URIs we offer and accept, with the ids tgcalls uses (`copyCodecsFromChannelManager`). */
const SUPPORTED_EXTENSIONS: readonly RtpExtension[] = [
  { id: 2, uri: ABS_SEND_TIME_URI },
  { id: 3, uri: TRANSPORT_WIDE_CC_URI },
];
const SUPPORTED_FEEDBACK_TYPES = new Set(['transport-cc']);

/** Our audio payload type as tgcalls offers it: opus/48000/2, minptime=10;useinbandfec=1, transport-cc. */
export const LOCAL_OPUS_PAYLOAD_TYPE: PayloadType = {
  id: OPUS_PAYLOAD_TYPE,
  name: 'opus',
  clockrate: 48000,
  channels: 2,
  feedbackTypes: [{ type: 'transport-cc', subtype: '' }],
  parameters: [
    ['minptime', '10'],
    ['useinbandfec', '1'],
  ],
};

/** Negotiated ids of the two extensions we support (absent = not negotiated). */
export interface RtpExtensionIds {
  readonly absSendTime?: number;
  readonly transportWideCc?: number;
}

/** What we may send with: from the peer's answer to our offer. */
export interface LocalMediaParams {
  readonly exchangeId: number;
  readonly ssrc: number;
  /** The Opus payload type the peer accepted (ours, 111). */
  readonly payloadType: number;
  /** Our extensions the peer accepted (ids as in our offer). */
  readonly rtpExtensions: readonly RtpExtension[];
  /** The same, by name. */
  readonly extensionIds: RtpExtensionIds;
}

/** What the peer sends with: from the peer's offer (the ids are the peer's). */
export interface RemoteMediaParams {
  readonly exchangeId: number;
  readonly ssrc: number;
  readonly ssrcGroups: readonly SsrcGroup[];
  /** Payload types that map to Opus (usually just one). */
  readonly opusPayloadTypes: readonly number[];
  /** The peer's extensions we accepted (abs-send-time, transport-wide-cc), with the peer's ids. */
  readonly rtpExtensions: readonly RtpExtension[];
  /** The same, by name. */
  readonly extensionIds: RtpExtensionIds;
}

export type IgnoredReason =
  /** We are the caller, our own offer is outstanding, and the peer's was made before it saw ours. */
  | 'glare'
  /** The exchangeId of an offer we already answered (duplicate, or a peer echoing our answer). */
  | 'already-answered'
  /** The exchangeId of an earlier offer of ours: a late or duplicate answer. */
  | 'stale-answer';

export type NegotiationEvent =
  | { readonly type: 'local-media-params'; readonly params: LocalMediaParams }
  /** The peer answered our offer without our audio content or without Opus: we must not send. */
  | { readonly type: 'local-media-rejected'; readonly exchangeId: number }
  | { readonly type: 'remote-media-params'; readonly params: RemoteMediaParams }
  /** A peer offer had no audio content with Opus; we answered it with no contents. */
  | { readonly type: 'remote-media-absent'; readonly exchangeId: number }
  | { readonly type: 'message-ignored'; readonly exchangeId: number; readonly reason: IgnoredReason };

export interface NegotiationStep {
  /** Messages to send, in order. */
  readonly send: readonly NegotiateChannelsMessage[];
  readonly events: readonly NegotiationEvent[];
}

export interface NegotiationOptions {
  readonly isOutgoing: boolean;
  /** Our audio SSRC (uint32, non-zero), stable for the call. */
  readonly localSsrc: number;
  /** Source of random uint32 exchange ids (injected for determinism in tests). */
  readonly randomUint32: () => number;
}

/** Remembered exchange ids are bounded: a renegotiation loop cannot grow memory. */
const MAX_REMEMBERED_IDS = 64;

export class ContentNegotiation {
  private readonly isOutgoing: boolean;
  private readonly localSsrc: number;
  private readonly randomUint32: () => number;
  private started = false;
  private pendingOfferId: number | undefined;
  /** Every exchangeId we used for our offers (to recognise late answers). */
  private readonly ownIds: number[] = [];
  /** exchangeIds of peer offers we answered. */
  private readonly answeredIds: number[] = [];
  private ownOfferAnswered = false;
  private local: LocalMediaParams | undefined;
  private remote: RemoteMediaParams | undefined;

  constructor(options: NegotiationOptions) {
    if (!Number.isInteger(options.localSsrc) || options.localSsrc <= 0 || options.localSsrc > 0xffffffff) {
      throw new RangeError('localSsrc must be a non-zero uint32');
    }
    this.isOutgoing = options.isOutgoing;
    this.localSsrc = options.localSsrc;
    this.randomUint32 = options.randomUint32;
  }

  /** True once the peer answered our offer accepting our Opus audio. */
  get canSendMedia(): boolean {
    return this.local !== undefined;
  }

  /** True once any answer to our offer arrived (accepting or not). */
  get offerAnswered(): boolean {
    return this.ownOfferAnswered;
  }

  get localParams(): LocalMediaParams | undefined {
    return this.local;
  }

  get remoteParams(): RemoteMediaParams | undefined {
    return this.remote;
  }

  /** The exchangeId of our outstanding offer, if any. */
  get outstandingOfferId(): number | undefined {
    return this.pendingOfferId;
  }

  /**
   * Begins negotiating: the caller offers now; the callee offers once it has answered the caller
   * (now, if that already happened).
   */
  start(): NegotiationStep {
    if (this.started) return { send: [], events: [] };
    this.started = true;
    if (!this.isOutgoing && this.answeredIds.length === 0) return { send: [], events: [] };
    // A callee offers after the caller's offer it answered (marked, see the header).
    return { send: [this.makeOffer(this.isOutgoing ? undefined : this.answeredIds.at(-1))], events: [] };
  }

  /** Processes a peer `NegotiateChannels` (an answer to our offer, or an offer). */
  receive(message: NegotiateChannelsMessage): NegotiationStep {
    const id = message.exchangeId;
    if (this.pendingOfferId !== undefined && id === this.pendingOfferId) return this.applyAnswer(message);
    if (this.ownIds.includes(id)) return ignored(id, 'stale-answer');
    if (this.answeredIds.includes(id)) return ignored(id, 'already-answered');

    // It is a peer offer.
    const send: NegotiateChannelsMessage[] = [];
    const events: NegotiationEvent[] = [];
    if (this.pendingOfferId !== undefined) {
      if (this.isOutgoing) {
        // Caller: ours wins, unless the peer made its offer after answering ours (header).
        if (id !== offerIdAfter(this.pendingOfferId)) return ignored(id, 'glare');
      } else {
        // Callee: the caller's offer wins; ours is dropped and re-made below.
        this.pendingOfferId = undefined;
      }
    }
    const answer = this.answer(message, events);
    send.push(answer);
    remember(this.answeredIds, id);
    // The callee offers right after answering the caller (tgcalls `sendOfferIfNeeded`), and again
    // after a glare dropped its offer before it was answered.
    if (!this.isOutgoing && this.started && !this.ownOfferAnswered && this.pendingOfferId === undefined) {
      send.push(this.makeOffer(id));
    }
    return { send, events };
  }

  /** Our offer; `answered`: the peer offer we just answered, whose id+1 marks ours as made after it. */
  private makeOffer(answered?: number): NegotiateChannelsMessage {
    // Unique within the call, never one the peer used (it would read as an answer), never 0.
    const free = (n: number) => n !== 0 && !this.ownIds.includes(n) && !this.answeredIds.includes(n);
    let id = answered !== undefined ? offerIdAfter(answered) : this.randomUint32() >>> 0;
    for (let i = 0; i < 16 && !free(id); i++) id = this.randomUint32() >>> 0;
    this.pendingOfferId = id;
    remember(this.ownIds, id);
    return {
      type: 'NegotiateChannels',
      exchangeId: id,
      contents: [
        {
          type: 'audio',
          ssrc: this.localSsrc,
          ssrcGroups: [],
          payloadTypes: [LOCAL_OPUS_PAYLOAD_TYPE],
          rtpExtensions: SUPPORTED_EXTENSIONS,
        },
      ],
    };
  }

  private applyAnswer(message: NegotiateChannelsMessage): NegotiationStep {
    this.pendingOfferId = undefined;
    this.ownOfferAnswered = true;
    // tgcalls `setAnswer` matches answer contents to our outgoing channels by SSRC.
    const content = message.contents.find((c) => c.type === 'audio' && c.ssrc === this.localSsrc);
    const opus = content?.payloadTypes.find((p) => p.id === OPUS_PAYLOAD_TYPE && isOpus(p));
    if (!content || !opus) {
      this.local = undefined;
      return { send: [], events: [{ type: 'local-media-rejected', exchangeId: message.exchangeId }] };
    }
    const rtpExtensions = content.rtpExtensions.filter((e) => SUPPORTED_EXTENSIONS.some((s) => s.id === e.id && s.uri === e.uri));
    this.local = {
      exchangeId: message.exchangeId,
      ssrc: this.localSsrc,
      payloadType: opus.id,
      rtpExtensions,
      extensionIds: extensionIds(rtpExtensions),
    };
    return { send: [], events: [{ type: 'local-media-params', params: this.local }] };
  }

  /** Echoes the first audio content with Opus, restricted to Opus and the extensions we support. */
  private answer(offer: NegotiateChannelsMessage, events: NegotiationEvent[]): NegotiateChannelsMessage {
    const contents: MediaContent[] = [];
    for (const content of offer.contents) {
      if (content.type !== 'audio') continue;
      const opus = content.payloadTypes.filter(isOpus).map(restrictPayloadType);
      if (opus.length === 0) continue;
      const rtpExtensions = content.rtpExtensions.filter((e) => SUPPORTED_EXTENSIONS.some((s) => s.uri === e.uri));
      contents.push({ type: 'audio', ssrc: content.ssrc, ssrcGroups: content.ssrcGroups, payloadTypes: opus, rtpExtensions });
      this.remote = {
        exchangeId: offer.exchangeId,
        ssrc: content.ssrc,
        ssrcGroups: content.ssrcGroups,
        opusPayloadTypes: opus.map((p) => p.id),
        rtpExtensions,
        extensionIds: extensionIds(rtpExtensions),
      };
      events.push({ type: 'remote-media-params', params: this.remote });
      // One audio stream per 1:1 call; further audio contents are not accepted.
      break;
    }
    if (contents.length === 0) events.push({ type: 'remote-media-absent', exchangeId: offer.exchangeId });
    return { type: 'NegotiateChannels', exchangeId: offer.exchangeId, contents };
  }
}

/** The exchangeId of an offer made right after answering offer `answered` (see the header); never 0. */
function offerIdAfter(answered: number): number {
  return (answered % 0xffffffff) + 1;
}

function isOpus(p: PayloadType): boolean {
  return p.name.toLowerCase() === 'opus' && p.clockrate === 48000;
}

/** The offerer's payload type with its id, keeping only feedback we support and named parameters. */
function restrictPayloadType(p: PayloadType): PayloadType {
  const feedbackTypes: FeedbackType[] = p.feedbackTypes.filter((f) => SUPPORTED_FEEDBACK_TYPES.has(f.type) && f.subtype === '');
  return { ...p, feedbackTypes, parameters: p.parameters.filter(([name]) => name !== '') };
}

function extensionIds(list: readonly RtpExtension[]): RtpExtensionIds {
  const absSendTime = list.find((e) => e.uri === ABS_SEND_TIME_URI)?.id;
  const transportWideCc = list.find((e) => e.uri === TRANSPORT_WIDE_CC_URI)?.id;
  return {
    ...(absSendTime !== undefined ? { absSendTime } : {}),
    ...(transportWideCc !== undefined ? { transportWideCc } : {}),
  };
}

function remember(list: number[], id: number): void {
  list.push(id);
  if (list.length > MAX_REMEMBERED_IDS) list.shift();
}

function ignored(exchangeId: number, reason: IgnoredReason): NegotiationStep {
  return { send: [], events: [{ type: 'message-ignored', exchangeId, reason }] };
}
