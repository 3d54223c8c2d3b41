import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../src/errors.js';
import { parseIceCandidate } from '../../src/network/ice-candidate.js';
import type { InitialSetupMessage } from '../../src/transport/messages.js';
import {
  buildRemoteDescription,
  classifyRemoteCandidate,
  initialSetupFromLocal,
  parseLocalDescription,
  remoteSetupFor,
  validateRemoteSetup,
} from '../../src/transport/sdp.js';

/** A local offer as libdatachannel 0.24.5 (node-datachannel 0.33.4) writes it: audio track + data channel. */
const LIBDATACHANNEL_OFFER = [
  'v=0',
  'o=rtc 2113834339 0 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0 1',
  'a=group:LS 0',
  'a=msid-semantic:WMS *',
  'a=ice-options:ice2,trickle',
  'a=fingerprint:sha-256 90:25:FA:C3:7E:1D:49:40:73:E2:0E:40:D1:ED:60:5E:1D:E5:AA:23:4F:95:BB:3B:5D:7C:27:07:33:47:9A:F3',
  'm=audio 39725 UDP/TLS/RTP/SAVPF 111',
  'c=IN IP4 127.0.0.1',
  'a=mid:0',
  'a=sendrecv',
  'a=ssrc:12345 cname:cname-x',
  'a=ssrc:12345 msid:stream track',
  'a=msid:stream track',
  'a=rtcp-mux',
  'a=rtpmap:111 opus/48000/2',
  'a=fmtp:111 minptime=10;maxaveragebitrate=96000;stereo=1;sprop-stereo=1;useinbandfec=1',
  'a=setup:actpass',
  'a=ice-ufrag:zQvV',
  'a=ice-pwd:nWMbF4TTaT8/Dm0DPF4sZK',
  'a=candidate:1 1 UDP 2114977791 127.0.0.1 39725 typ host',
  'a=end-of-candidates',
  'm=application 39725 UDP/DTLS/SCTP webrtc-datachannel',
  'c=IN IP4 127.0.0.1',
  'a=mid:1',
  'a=sendrecv',
  'a=sctp-port:5000',
  'a=max-message-size:262144',
  'a=setup:actpass',
  'a=ice-ufrag:zQvV',
  'a=ice-pwd:nWMbF4TTaT8/Dm0DPF4sZK',
  '',
].join('\r\n');

const FP = '8B:E7:AF:38:42:42:A4:48:22:A1:11:D5:F1:81:EB:48:99:D3:BD:A2:CD:19:09:48:B8:3A:A5:4A:60:BD:9E:E2';

describe('local description', () => {
  it('reads credentials, fingerprint, role, sections and candidates from a libdatachannel offer', () => {
    const info = parseLocalDescription(LIBDATACHANNEL_OFFER);
    expect(info).toEqual({
      ufrag: 'zQvV',
      pwd: 'nWMbF4TTaT8/Dm0DPF4sZK',
      fingerprint: { hash: 'sha-256', value: '90:25:FA:C3:7E:1D:49:40:73:E2:0E:40:D1:ED:60:5E:1D:E5:AA:23:4F:95:BB:3B:5D:7C:27:07:33:47:9A:F3' },
      setup: 'actpass',
      sections: [
        { kind: 'audio', mid: '0' },
        { kind: 'application', mid: '1' },
      ],
      candidates: ['candidate:1 1 UDP 2114977791 127.0.0.1 39725 typ host'],
    });
    expect(initialSetupFromLocal(info)).toEqual({
      type: 'InitialSetup',
      ufrag: 'zQvV',
      pwd: 'nWMbF4TTaT8/Dm0DPF4sZK',
      renomination: false,
      fingerprints: [{ hash: 'sha-256', setup: 'actpass', fingerprint: info.fingerprint.value }],
    });
  });

  it('reads a media-level fingerprint and an answer role', () => {
    const sdp = LIBDATACHANNEL_OFFER.replace(/a=fingerprint:[^\r]*\r\n/, '')
      .replace('a=setup:actpass', `a=fingerprint:SHA-256 ${FP.toLowerCase()}\r\na=setup:passive`);
    const info = parseLocalDescription(sdp);
    expect(info.fingerprint).toEqual({ hash: 'sha-256', value: FP });
    expect(info.setup).toBe('passive');
  });

  it('rejects an incomplete description with a ProtocolError', () => {
    expect(() => parseLocalDescription('v=0\r\n')).toThrow(ProtocolError);
    expect(() => parseLocalDescription(LIBDATACHANNEL_OFFER.replace(/a=ice-pwd:[^\r]*\r\n/g, ''))).toThrow(ProtocolError);
    expect(() => parseLocalDescription(LIBDATACHANNEL_OFFER.replace(/a=setup:actpass/g, 'a=setup:holdconn'))).toThrow(ProtocolError);
  });
});

describe('remote description', () => {
  const input = {
    ufrag: 'Gg7r',
    pwd: 'p341DjA+CVYXNtscYeCl2KAi',
    fingerprint: { hash: 'sha-256', value: FP },
    setup: 'passive' as const,
    sections: [
      { kind: 'audio', mid: '0' },
      { kind: 'application', mid: '1' },
    ],
    payloadType: 111,
  };

  it('is exactly the §5 recipe', () => {
    expect(buildRemoteDescription({ ...input, remoteSsrc: 1560223393 })).toBe(
      [
        'v=0',
        'o=- 1 2 IN IP4 0.0.0.0',
        's=-',
        't=0 0',
        'a=group:BUNDLE 0 1',
        'a=msid-semantic: WMS *',
        'a=ice-ufrag:Gg7r',
        'a=ice-pwd:p341DjA+CVYXNtscYeCl2KAi',
        `a=fingerprint:sha-256 ${FP}`,
        'a=setup:passive',
        'm=audio 9 UDP/TLS/RTP/SAVPF 111',
        'c=IN IP4 0.0.0.0',
        'a=mid:0',
        'a=sendrecv',
        'a=rtcp-mux',
        'a=rtpmap:111 opus/48000/2',
        'a=fmtp:111 minptime=10;useinbandfec=1',
        'a=ssrc:1560223393 cname:peer',
        'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
        'c=IN IP4 0.0.0.0',
        'a=mid:1',
        'a=sctp-port:5000',
        'a=max-message-size:262144',
        '',
      ].join('\r\n'),
    );
  });

  it('mirrors the order and mids of our sections, and omits the SSRC when unknown', () => {
    const sdp = buildRemoteDescription({
      ...input,
      setup: 'active',
      sections: [
        { kind: 'application', mid: 'data' },
        { kind: 'audio', mid: 'a1' },
      ],
    });
    expect(sdp).toContain('a=group:BUNDLE data a1\r\n');
    expect(sdp).toContain('a=setup:active\r\n');
    expect(sdp.indexOf('m=application')).toBeLessThan(sdp.indexOf('m=audio'));
    expect(sdp).toContain('m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:data\r\n');
    expect(sdp).not.toContain('a=ssrc');
  });

  it('refuses anything that could inject SDP lines', () => {
    const bad = [
      { ufrag: 'Gg7r\r\na=x' },
      { pwd: 'short' },
      { pwd: 'p341DjA+CVYXNtscYeCl2KAi x' },
      { fingerprint: { hash: 'sha-256', value: 'AA:BB\r\nm=video' } },
      { fingerprint: { hash: 'md5 x', value: FP } },
      { sections: [{ kind: 'audio', mid: '0\r\n' }, { kind: 'application', mid: '1' }] },
      { sections: [{ kind: 'audio', mid: '0' }] },
      { remoteSsrc: 0 },
      { payloadType: 200 },
    ];
    for (const b of bad) expect(() => buildRemoteDescription({ ...input, ...b }), JSON.stringify(b)).toThrow(ProtocolError);
  });

  it('validates a peer InitialSetup before it goes into SDP', () => {
    const setup: InitialSetupMessage = {
      type: 'InitialSetup',
      ufrag: 'UYAN',
      pwd: 'hg1uU9VJsnaERKN42bRzArV3',
      renomination: true,
      fingerprints: [{ hash: 'SHA-256', setup: 'passive', fingerprint: FP.toLowerCase() }],
    };
    expect(validateRemoteSetup(setup)).toEqual({ hash: 'sha-256', value: FP });
    expect(validateRemoteSetup({ ...setup, fingerprints: [] })).toBeInstanceOf(ProtocolError);
    expect(validateRemoteSetup({ ...setup, ufrag: 'a b c d' })).toBeInstanceOf(ProtocolError);
    expect(validateRemoteSetup({ ...setup, pwd: 'x' })).toBeInstanceOf(ProtocolError);
    expect(validateRemoteSetup({ ...setup, fingerprints: [{ hash: 'sha-256', setup: 'passive', fingerprint: 'zz' }] })).toBeInstanceOf(ProtocolError);
  });
});

describe('candidates', () => {
  it('parses ntgcalls and libdatachannel candidates', () => {
    expect(parseIceCandidate('candidate:3335140572 1 udp 2122260224 10.77.0.1 47491 typ host generation 0 ufrag UYAN network-id 3 network-cost 50')).toEqual({
      foundation: '3335140572',
      component: 1,
      transport: 'udp',
      priority: 2122260224,
      address: '10.77.0.1',
      port: 47491,
      type: 'host',
    });
    expect(parseIceCandidate('a=candidate:1 1 UDP 2114977791 127.0.0.1 39725 typ host')).toMatchObject({ transport: 'udp', port: 39725 });
  });

  it('accepts only what libdatachannel can use without blocking', () => {
    expect(classifyRemoteCandidate('candidate:1 1 udp 2122260224 10.77.0.1 47491 typ host generation 0')).toBe('ok');
    expect(classifyRemoteCandidate('candidate:1 1 udp 2122260224 2001:db8::1 47491 typ srflx raddr 0.0.0.0 rport 0')).toBe('ok');
    expect(classifyRemoteCandidate('candidate:1 1 udp 41885439 reflector-1-2863311530.reflector 532 typ relay')).toBe('unsupported');
    expect(classifyRemoteCandidate('candidate:1 1 udp 2122260224 abcd.local 47491 typ host')).toBe('unsupported');
    expect(classifyRemoteCandidate('candidate:1 1 tcp 1518280447 10.0.0.1 9 typ host tcptype active')).toBe('unsupported');
    expect(classifyRemoteCandidate('candidate:1 2 udp 2122260223 10.0.0.1 5000 typ host')).toBe('unsupported');
    for (const bad of [
      '',
      'candidate:',
      'candidate:1 1 udp 1 10.0.0.1 5000 host',
      'candidate:1 1 udp 1 10.0.0.1 70000 typ host',
      'candidate:1 1 udp -5 10.0.0.1 5000 typ host',
      'candidate:1 1 udp 1 10.0.0.1 5000 typ host\r\na=evil',
      'm=audio 9',
      'x'.repeat(5000),
    ]) {
      expect(classifyRemoteCandidate(bad), bad.slice(0, 40)).toBe('malformed');
    }
  });
});

describe('remoteSetupFor (the a=setup of the synthesized remote description, transport-v2.md §5)', () => {
  it('caller: the callee as it states itself when active, passive otherwise (we become DTLS client)', () => {
    expect(['passive', 'active', 'actpass', undefined].map((p) => remoteSetupFor(true, p))).toEqual(['passive', 'active', 'passive', 'passive']);
  });

  it('callee: the caller\'s actpass reads as active (libdatachannel would refuse its data channel otherwise)', () => {
    expect(['actpass', 'active', 'passive', undefined].map((p) => remoteSetupFor(false, p))).toEqual(['active', 'active', 'passive', 'active']);
  });
});
