/**
 * The SDP glue between tgcalls JSON and libdatachannel (transport-v2.md §5). Pure functions.
 *
 * No SDP travels between the peers: we read our ICE credentials, DTLS fingerprint and role out of
 * libdatachannel's local description (→ our `InitialSetup`), and synthesize the remote description
 * libdatachannel needs from the peer's `InitialSetup` (and its offered audio SSRC). Every peer
 * string that ends up in SDP is validated first: a CR/LF or space would let the peer inject lines.
 */
import { isIP } from 'node:net';
import { ProtocolError } from '../errors.js';
import { parseIceCandidate } from '../network/ice-candidate.js';
import type { DtlsFingerprint, InitialSetupMessage } from './messages.js';

export type DtlsSetup = 'actpass' | 'active' | 'passive';

export interface SdpSection {
  /** `audio`, `video`, `application`, ... */
  readonly kind: string;
  readonly mid: string;
}

export interface LocalDescriptionInfo {
  readonly ufrag: string;
  readonly pwd: string;
  readonly fingerprint: { readonly hash: string; readonly value: string };
  readonly setup: DtlsSetup;
  /** m-sections in order; the synthesized remote description must mirror them. */
  readonly sections: readonly SdpSection[];
  /** `candidate:…` values (without `a=`) present in the description. */
  readonly candidates: readonly string[];
}

export interface RemoteDescriptionInput {
  readonly ufrag: string;
  readonly pwd: string;
  readonly fingerprint: { readonly hash: string; readonly value: string };
  /** `passive` in a remote answer on the caller, `active` in a remote offer on the callee (§5). */
  readonly setup: 'active' | 'passive';
  /** Our sections in our order: exactly one `audio` and one `application` section. */
  readonly sections: readonly SdpSection[];
  /** Opus payload type of our track (the remote section must use the same one). */
  readonly payloadType: number;
  /** The peer's audio SSRC when known (optional: one audio track receives everything). */
  readonly remoteSsrc?: number;
}

const FINGERPRINT_HASHES = new Set(['sha-1', 'sha-224', 'sha-256', 'sha-384', 'sha-512']);
// RFC 8839 ice-char = ALPHA / DIGIT / "+" / "/"; ufrag 4..256 chars, pwd 22..256 chars.
const UFRAG_RE = /^[A-Za-z0-9+/]{4,256}$/;
const PWD_RE = /^[A-Za-z0-9+/]{22,256}$/;
const FINGERPRINT_RE = /^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){15,63}$/;
const MID_RE = /^[A-Za-z0-9_.-]{1,32}$/;

/** Reads ICE credentials, fingerprint, DTLS role, sections and candidates from a local SDP. */
export function parseLocalDescription(sdp: string): LocalDescriptionInfo {
  const lines = sdp.split(/\r?\n/);
  let sessionFingerprint: { hash: string; value: string } | undefined;
  let fingerprint: { hash: string; value: string } | undefined;
  let ufrag: string | undefined;
  let pwd: string | undefined;
  let setup: string | undefined;
  const sections: { kind: string; mid: string }[] = [];
  const candidates: string[] = [];
  let inMedia = false;
  for (const line of lines) {
    if (line.startsWith('m=')) {
      inMedia = true;
      sections.push({ kind: line.slice(2).split(' ')[0] ?? '', mid: '' });
      continue;
    }
    if (!line.startsWith('a=')) continue;
    const attr = line.slice(2);
    const colon = attr.indexOf(':');
    const name = colon < 0 ? attr : attr.slice(0, colon);
    const value = colon < 0 ? '' : attr.slice(colon + 1).trim();
    switch (name) {
      case 'mid': {
        const current = sections[sections.length - 1];
        if (inMedia && current) current.mid = value;
        break;
      }
      case 'ice-ufrag':
        ufrag ??= value;
        break;
      case 'ice-pwd':
        pwd ??= value;
        break;
      case 'setup':
        setup ??= value;
        break;
      case 'fingerprint': {
        const [hash, fp] = value.split(/\s+/);
        if (hash && fp) {
          const parsed = { hash: hash.toLowerCase(), value: fp.toUpperCase() };
          if (inMedia) fingerprint ??= parsed;
          else sessionFingerprint ??= parsed;
        }
        break;
      }
      case 'candidate':
        candidates.push(attr);
        break;
    }
  }
  const fp = fingerprint ?? sessionFingerprint;
  if (!ufrag || !pwd || !fp) throw new ProtocolError('SDP_INCOMPLETE', 'local description lacks ice-ufrag, ice-pwd or fingerprint');
  if (setup !== 'actpass' && setup !== 'active' && setup !== 'passive') {
    throw new ProtocolError('SDP_INCOMPLETE', `local description has an unexpected a=setup (${String(setup)})`);
  }
  if (sections.length === 0 || sections.some((s) => s.mid === '')) {
    throw new ProtocolError('SDP_INCOMPLETE', 'local description has a section without a=mid');
  }
  return { ufrag, pwd, fingerprint: fp, setup, sections, candidates };
}

/** Our `InitialSetup` from our local description. libdatachannel does not renominate. */
export function initialSetupFromLocal(local: LocalDescriptionInfo): InitialSetupMessage {
  return {
    type: 'InitialSetup',
    ufrag: local.ufrag,
    pwd: local.pwd,
    renomination: false,
    fingerprints: [{ hash: local.fingerprint.hash, setup: local.setup, fingerprint: local.fingerprint.value }],
  };
}

/**
 * Checks that a peer `InitialSetup` can go into SDP: ICE credentials made of ice-chars and a
 * usable first fingerprint (tgcalls uses only `[0]`). Returns the fingerprint to use.
 */
export function validateRemoteSetup(setup: InitialSetupMessage): { hash: string; value: string } | ProtocolError {
  if (!UFRAG_RE.test(setup.ufrag)) return new ProtocolError('REMOTE_SETUP_INVALID', 'ufrag is not 4..256 ice-chars');
  if (!PWD_RE.test(setup.pwd)) return new ProtocolError('REMOTE_SETUP_INVALID', 'pwd is not 22..256 ice-chars');
  const first: DtlsFingerprint | undefined = setup.fingerprints[0];
  if (!first) return new ProtocolError('REMOTE_SETUP_INVALID', 'no DTLS fingerprint');
  const hash = first.hash.toLowerCase();
  if (!FINGERPRINT_HASHES.has(hash)) return new ProtocolError('REMOTE_SETUP_INVALID', `unsupported fingerprint hash ${first.hash.slice(0, 16)}`);
  if (!FINGERPRINT_RE.test(first.fingerprint)) return new ProtocolError('REMOTE_SETUP_INVALID', 'fingerprint is not colon-separated hex');
  return { hash, value: first.fingerprint.toUpperCase() };
}

/**
 * The `a=setup` of the synthesized remote description (recipe §5), from our role and the DTLS
 * role the peer's InitialSetup states (its first fingerprint's `setup`).
 */
export function remoteSetupFor(isOutgoing: boolean, peerSetup: string | undefined): 'active' | 'passive' {
  // Caller, in the remote answer: the mirror of our actpass is the callee's own role if it states
  // one, else passive (we become DTLS client).
  if (isOutgoing) return peerSetup === 'active' ? 'active' : 'passive';
  // Callee, in the remote offer: the caller's actpass must read as active. With actpass
  // libdatachannel would make itself DTLS client and then refuse the caller's data channel on
  // stream 0.
  return peerSetup === 'passive' ? 'passive' : 'active';
}

/**
 * The remote description of the §5 recipe: one bundle with the audio section (Opus, rtcp-mux) and
 * the SCTP data section, mids and order mirroring ours. Throws `ProtocolError` on unsafe input.
 */
export function buildRemoteDescription(input: RemoteDescriptionInput): string {
  if (!UFRAG_RE.test(input.ufrag) || !PWD_RE.test(input.pwd)) throw new ProtocolError('SDP_UNSAFE', 'bad ICE credentials');
  if (!FINGERPRINT_HASHES.has(input.fingerprint.hash) || !FINGERPRINT_RE.test(input.fingerprint.value)) {
    throw new ProtocolError('SDP_UNSAFE', 'bad fingerprint');
  }
  const audioSection = input.sections.find((s) => s.kind === 'audio');
  const dataSection = input.sections.find((s) => s.kind === 'application');
  if (
    input.sections.length !== 2 ||
    !audioSection ||
    !dataSection ||
    !MID_RE.test(audioSection.mid) ||
    !MID_RE.test(dataSection.mid) ||
    audioSection.mid === dataSection.mid
  ) {
    throw new ProtocolError('SDP_UNSAFE', 'expected one audio and one application section with distinct mids');
  }
  if (!Number.isInteger(input.payloadType) || input.payloadType < 0 || input.payloadType > 127) {
    throw new ProtocolError('SDP_UNSAFE', 'bad payload type');
  }
  const pt = input.payloadType;
  const audio = [
    `m=audio 9 UDP/TLS/RTP/SAVPF ${pt}`,
    'c=IN IP4 0.0.0.0',
    `a=mid:${audioSection.mid}`,
    'a=sendrecv',
    'a=rtcp-mux',
    `a=rtpmap:${pt} opus/48000/2`,
    `a=fmtp:${pt} minptime=10;useinbandfec=1`,
  ];
  if (input.remoteSsrc !== undefined) {
    if (!Number.isInteger(input.remoteSsrc) || input.remoteSsrc <= 0 || input.remoteSsrc > 0xffffffff) {
      throw new ProtocolError('SDP_UNSAFE', 'bad remote SSRC');
    }
    audio.push(`a=ssrc:${input.remoteSsrc} cname:peer`);
  }
  const data = [
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
    'c=IN IP4 0.0.0.0',
    `a=mid:${dataSection.mid}`,
    'a=sctp-port:5000',
    'a=max-message-size:262144',
  ];
  const lines = [
    'v=0',
    'o=- 1 2 IN IP4 0.0.0.0',
    's=-',
    't=0 0',
    `a=group:BUNDLE ${input.sections.map((s) => s.mid).join(' ')}`,
    'a=msid-semantic: WMS *',
    `a=ice-ufrag:${input.ufrag}`,
    `a=ice-pwd:${input.pwd}`,
    `a=fingerprint:${input.fingerprint.hash} ${input.fingerprint.value}`,
    `a=setup:${input.setup}`,
    ...input.sections.flatMap((s) => (s === audioSection ? audio : data)),
  ];
  return lines.join('\r\n') + '\r\n';
}

export type CandidateVerdict = 'ok' | 'malformed' | 'unsupported';

/**
 * Whether a peer candidate can be handed to libdatachannel. Only UDP, component 1 (RTCP is muxed),
 * and literal IP addresses: Telegram reflector candidates (`reflector-<id>-<tag>.reflector`) are
 * not TURN and not resolvable, and resolving any hostname would block the JS thread.
 */
export function classifyRemoteCandidate(sdpString: string): CandidateVerdict {
  const c = parseIceCandidate(sdpString);
  if (!c) return 'malformed';
  if (c.component !== 1 || c.transport !== 'udp' || isIP(c.address) === 0 || c.port === 0) return 'unsupported';
  return 'ok';
}
