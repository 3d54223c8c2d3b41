/**
 * CallTransport, the adapter around the sans-I/O TransportSequencer, driven with a recording fake
 * peer connection (fake-peer-connection.ts): what it asks of the port, what it emits, its one
 * timer, and that nothing a listener or the port does escapes it. No socket; the real
 * libdatachannel runs in call-transport-loopback.test.ts.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CallTransport, type CallTransportOptions, type CloseReason, type TransportState } from '../../src/transport/call-transport.js';
import { decodeSignalingMessage, type MediaState, type SignalingMessage } from '../../src/transport/messages.js';
import { fakeNetworkEdges, type FakeNetworkEdge } from './fake-network-edge.js';
import { fakePeerConnections, type FakePeerConnection } from './fake-peer-connection.js';
import { CALLEE_ANSWER, answerTo, candidates, hostCandidate, initialSetup, mediaState, offer } from './sequencer-harness.js';

afterEach(() => {
  vi.useRealTimers();
});

function transport(isOutgoing: boolean, extra: Partial<CallTransportOptions> = {}) {
  const pcs = fakePeerConnections();
  const edges = fakeNetworkEdges();
  const t = new CallTransport({ isOutgoing, ssrc: isOutgoing ? 1111 : 2222, createPeerConnection: pcs.create, createNetworkEdge: edges.create, ...extra });
  const sent: SignalingMessage[] = [];
  t.on('signaling', (p) => {
    const r = decodeSignalingMessage(p);
    if (r.kind === 'message') sent.push(r.message);
  });
  const events: string[] = [];
  t.on('state', (s) => events.push(`state:${s}`));
  t.on('connected', () => events.push('connected'));
  t.on('closed', (r) => events.push(`closed:${r}`));
  const errors: Error[] = [];
  t.on('error', (e) => errors.push(e));
  return { t, pcs, pc: (): FakePeerConnection => pcs.made[0]!, edge: (): FakeNetworkEdge => edges.made[0]!, sent, events, errors };
}

/** A caller whose offer the callee answered, with the callee's InitialSetup in: remote description applied. */
function negotiatedCaller(extra: Partial<CallTransportOptions> = {}) {
  const c = transport(true, extra);
  c.t.start();
  const ourOffer = c.sent.find((m) => m.type === 'NegotiateChannels')!;
  c.t.receiveSignaling(answerTo(ourOffer as Extract<SignalingMessage, { type: 'NegotiateChannels' }>));
  c.t.receiveSignaling(initialSetup('callee'));
  return c;
}

const flush = () => new Promise((r) => setImmediate(r));

describe('CallTransport with a fake peer connection', () => {
  it('keeps libjuice on loopback, hands the network options to the edge, and drives the caller recipe through both', () => {
    const network = { bindAddress: '127.0.0.1', portRange: { begin: 40000, end: 40100 }, iceServers: ['stun:127.0.0.1:3478'], connectTimeoutMs: 5_000 };
    const { t, pc, edge, sent, events } = transport(true, { network, relayOnly: true });
    t.start();
    expect(pc().options).toMatchObject({ name: 'tgcall-caller', isOutgoing: true, network: { bindAddress: '127.0.0.1' }, relayOnly: false, ssrc: 1111, payloadType: 111 });
    expect(pc().options.network.iceServers).toBeUndefined();
    expect(edge().options).toMatchObject({ isOutgoing: true, allowDirect: false, bindAddress: '127.0.0.1', portRange: network.portRange, allowLoopbackPeers: true });
    // relay only: no STUN server is asked for a server-reflexive address
    expect(edge().options.servers.stun).toEqual([]);
    expect(edge().credentials).toEqual([{ ufrag: expect.any(String), pwd: expect.any(String) }]);
    expect(pc().calls).toEqual(['createOffer']);
    expect(sent.map((m) => m.type)).toEqual(['InitialSetup', 'NegotiateChannels']);
    expect(events).toEqual(['state:connecting']);
    // The callee's candidates and InitialSetup come first; the answer releases everything.
    t.receiveSignaling(candidates(hostCandidate(5001)));
    t.receiveSignaling(initialSetup('callee'));
    // libjuice's own (loopback) candidate is never signalled; the edge's are
    pc().sink.localCandidate(hostCandidate(6002));
    edge().sink.localCandidate(hostCandidate(6001));
    expect(pc().calls).toEqual(['createOffer']);
    t.receiveSignaling(answerTo(sent[1] as Extract<SignalingMessage, { type: 'NegotiateChannels' }>));
    expect(pc().calls).toEqual(['createOffer', 'acceptAnswer', 'addRemoteCandidate']);
    expect(pc().remoteSdps[0]).toContain('a=setup:passive');
    expect(sent.map((m) => m.type)).toEqual(['InitialSetup', 'NegotiateChannels', 'Candidates']);
    expect(t.stats).toMatchObject({ signalingIn: 3, signalingOut: 3, localCandidates: 1, remoteCandidatesAdded: 1 });
    expect(edge().calls).toEqual(['start', 'setLocalCredentials', 'setEngineEndpoint', 'remoteDescriptionApplied', 'addRemoteCandidate']);
  });

  it('callee: applies the remote offer through the port and sends InitialSetup from its answer', () => {
    const { t, pc, sent } = transport(false);
    t.start();
    expect(pc().calls).toEqual([]);
    t.receiveSignaling(offer(5, 1111));
    t.receiveSignaling(initialSetup('caller'));
    expect(pc().calls).toEqual(['acceptOffer']);
    expect(pc().remoteSdps[0]).toContain('a=setup:active');
    expect(pc().remoteSdps[0]).toContain('a=ssrc:1111 ');
    expect(sent[0]).toMatchObject({ type: 'InitialSetup', ufrag: CALLEE_ANSWER.ufrag });
    expect(sent.map((m) => m.type)).toEqual(['InitialSetup', 'NegotiateChannels', 'NegotiateChannels']);
  });

  it('connects on the port state, emits `connected` once, and measures from start() with the injected clock', () => {
    let now = 1_000;
    const { t, pc, events } = transport(true, { now: () => now });
    t.start();
    now = 1_050;
    pc().sink.stateChange('connected');
    pc().sink.stateChange('disconnected');
    pc().sink.stateChange('connected');
    expect(events).toEqual(['state:connecting', 'state:connected', 'connected', 'state:connecting', 'state:connected']);
    expect(t.stats.connectTimeMs).toBe(50);
  });

  it('sends no RTP before our offer is answered; then through the port; RTCP any time; incoming media demultiplexed', () => {
    const { t, pc } = transport(true);
    t.start();
    const rtp = Buffer.from([0x80, 111, 0, 1, 0, 0, 0, 0, 0, 0, 0x04, 0x57, 0xf8]);
    const rtcp = Buffer.from([0x80, 201, 0, 1, 0, 0, 0x04, 0x57]);
    expect(t.sendRtp(rtp)).toBe(false);
    expect(t.sendRtcp(rtcp)).toBe(true);
    const c = negotiatedCaller();
    expect(c.t.canSendMedia).toBe(true);
    expect(c.t.sendRtp(rtp)).toBe(true);
    c.pc().mediaOpen = false;
    expect(c.t.sendRtp(rtp)).toBe(false);
    expect(pc().sentMedia).toEqual([rtcp]);
    expect(t.stats).toMatchObject({ rtpOut: 0, rtcpOut: 1, mediaOutDropped: 1 });
    expect(c.t.stats).toMatchObject({ rtpOut: 1, mediaOutDropped: 1 });
    const got: string[] = [];
    t.on('rtp', () => got.push('rtp'));
    t.on('rtcp', () => got.push('rtcp'));
    pc().sink.media(rtp);
    pc().sink.media(rtcp);
    pc().sink.media(Buffer.from([1, 2]));
    expect(got).toEqual(['rtp', 'rtcp']);
    expect(t.stats).toMatchObject({ rtpIn: 1, rtcpIn: 1, mediaInMalformed: 1 });
  });

  it('MediaState: over the open data channel, or over signaling when the channel refuses it; accepted from both', () => {
    const c = negotiatedCaller();
    c.pc().sink.stateChange('connected');
    c.pc().openDataChannel();
    expect(c.pc().sentData.map((d) => JSON.parse(d) as { '@type': string })).toEqual([expect.objectContaining({ '@type': 'MediaState', muted: false })]);
    c.pc().dataChannelRefuses = true;
    c.t.setMediaState({ muted: true });
    expect(c.sent.at(-1)).toMatchObject({ type: 'MediaState', muted: true });
    expect(c.t.stats).toMatchObject({ mediaStateViaDataChannel: 1, mediaStateViaSignaling: 1 });
    const remote: MediaState[] = [];
    c.t.on('remote-media-state', (s) => remote.push(s));
    c.t.receiveSignaling(mediaState(true));
    c.pc().sink.dataChannelMessage(mediaState(false));
    expect(remote.map((s) => s.muted)).toEqual([true, false]);
  });

  it('emits media-params when our offer is answered and when the peer offers', () => {
    const { t, sent } = transport(true);
    const params: unknown[] = [];
    t.on('media-params', (p) => params.push(p));
    t.start();
    t.receiveSignaling(answerTo(sent[1] as Extract<SignalingMessage, { type: 'NegotiateChannels' }>));
    t.receiveSignaling(offer(9, 2222));
    expect(params).toEqual([
      { local: expect.objectContaining({ ssrc: 1111, payloadType: 111 }), remote: undefined },
      { local: expect.objectContaining({ ssrc: 1111 }), remote: expect.objectContaining({ ssrc: 2222 }) },
    ]);
  });

  it('stats keep their historical field order', () => {
    const { t } = transport(true);
    expect(Object.keys(t.stats)).toEqual([
      'signalingIn',
      'signalingOut',
      'malformedMessages',
      'unknownMessageTypes',
      'ignoredMessages',
      'droppedMessages',
      'localCandidates',
      'remoteCandidatesAdded',
      'remoteCandidatesDropped',
      'rtpIn',
      'rtcpIn',
      'mediaInMalformed',
      'rtpOut',
      'rtcpOut',
      'mediaOutDropped',
      'mediaStateViaDataChannel',
      'mediaStateViaSignaling',
      'connectTimeMs',
      'dataChannelOpenMs',
      'network',
      'path',
    ]);
  });
});

describe('CallTransport timer', () => {
  it('ends with `disconnect` when not connected in time (one timer at the sequencer deadline)', async () => {
    vi.useFakeTimers();
    const { t, pc, events } = transport(false, { network: { connectTimeoutMs: 300 }, now: () => Date.now() });
    t.start();
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(299);
    expect(t.state).toBe('connecting');
    await vi.advanceTimersByTimeAsync(1);
    // release waits one turn of the loop (setImmediate) for the peer connection's last datagrams
    await vi.runOnlyPendingTimersAsync();
    expect(events).toEqual(['state:connecting', 'state:closed', 'closed:disconnect']);
    expect(t.closeReason).toBe('disconnect');
    expect(pc().closeCount).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('MediaState goes over signaling when the data channel has not opened within the grace', async () => {
    vi.useFakeTimers();
    const c = negotiatedCaller({ now: () => Date.now(), dataChannelGraceMs: 2_000 });
    c.pc().sink.stateChange('connected');
    await vi.advanceTimersByTimeAsync(1_999);
    expect(c.sent.some((m) => m.type === 'MediaState')).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(c.sent.at(-1)).toMatchObject({ type: 'MediaState', muted: false });
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('CallTransport failures and close', () => {
  it('a port that cannot be created: error, closed with `error`', async () => {
    const errors: Error[] = [];
    const t = new CallTransport({
      isOutgoing: true,
      createPeerConnection: () => {
        throw new Error('no native module');
      },
    });
    t.on('error', (e) => errors.push(e));
    const states: TransportState[] = [];
    t.on('state', (s) => states.push(s));
    t.start();
    await t.close();
    expect(states).toEqual(['connecting', 'closed']);
    expect(errors.map((e) => e.message)).toEqual(['no native module']);
    expect(t.closeReason).toBe('error');
  });

  for (const [step, isOutgoing] of [
    ['createOffer', true],
    ['acceptAnswer', true],
    ['acceptOffer', false],
  ] as const) {
    it(`${step} refused by the native side: error, then closed with \`error\`, the port closed`, async () => {
      const pcs = fakePeerConnections();
      const create = (o: Parameters<typeof pcs.create>[0]) => {
        const pc = pcs.create(o);
        pc.failing = step;
        return pc;
      };
      const c = transport(isOutgoing, { createPeerConnection: create });
      c.t.start();
      if (step === 'acceptAnswer') {
        c.t.receiveSignaling(answerTo(c.sent[1] as Extract<SignalingMessage, { type: 'NegotiateChannels' }>));
        c.t.receiveSignaling(initialSetup('callee'));
      }
      if (step === 'acceptOffer') c.t.receiveSignaling(initialSetup('caller'));
      await c.t.close();
      expect(c.errors.map((e) => (e as { code?: string }).code)).toEqual(['PEER_CONNECTION_FAILED']);
      expect(c.events).toEqual(['state:connecting', 'state:closed', 'closed:error']);
      expect(pcs.made[0]!.closeCount).toBe(1);
    });
  }

  it('a listener may close the transport from inside start(): no peer connection is created', async () => {
    const { t, pcs } = transport(true);
    t.once('state', () => void t.close());
    t.start();
    expect(t.state).toBe('closed');
    await t.close();
    expect(pcs.made).toEqual([]);
  });

  it('a listener may close the transport when our first message goes out: nothing follows it', async () => {
    const { t, pc, sent } = transport(true);
    t.once('signaling', () => void t.close());
    t.start();
    expect(t.state).toBe('closed');
    expect(t.stats.signalingOut).toBe(1);
    expect(sent.map((m) => m.type)).toEqual(['InitialSetup']);
    await t.close();
    expect(pc().closeCount).toBe(1);
  });

  it('close is idempotent, works before start, and drops later input', async () => {
    const { t, pcs } = transport(true);
    const closed: CloseReason[] = [];
    t.on('closed', (r) => closed.push(r));
    const first = t.close();
    expect(t.close()).toBe(first);
    await first;
    expect(closed).toEqual(['local']);
    expect(() => t.start()).toThrow(/start\(\) in state closed/);
    t.receiveSignaling(mediaState(true));
    expect(t.stats.droppedMessages).toBe(1);
    expect(t.sendRtcp(Buffer.alloc(8))).toBe(false);
    expect(t.selectedCandidatePair()).toBeNull();
    expect(pcs.made).toEqual([]);
  });

  it('start twice is API misuse', () => {
    const { t } = transport(false);
    t.start();
    expect(() => t.start()).toThrow(/start\(\) in state connecting/);
  });

  it('`closed` comes once, after the port released its handles; the peer closing DTLS reads as `disconnect`', async () => {
    const { t, pc, events } = transport(false);
    t.start();
    pc().sink.stateChange('closed');
    expect(events).toEqual(['state:connecting', 'state:closed']);
    await flush();
    await t.close('local');
    expect(events).toEqual(['state:connecting', 'state:closed', 'closed:disconnect']);
    expect(pc().closeCount).toBe(1);
  });

  it('throwing listeners and garbage reach `error` and the counters, never the port callbacks', () => {
    const c = negotiatedCaller();
    c.t.on('rtp', () => {
      throw new Error('listener bug');
    });
    c.t.on('state', () => {
      throw new Error('state listener bug');
    });
    expect(() => c.pc().sink.media(Buffer.from([0x80, 111, 0, 1, 0, 0, 0, 0, 0, 0, 0x04, 0x57]))).not.toThrow();
    expect(() => c.pc().sink.stateChange('connected')).not.toThrow();
    for (const junk of ['', '{', '[]', '{"@type":"Whatever"}', new Uint8Array([0xff, 0xfe])]) c.t.receiveSignaling(junk);
    expect(c.errors.map((e) => e.message)).toEqual(['listener bug', 'state listener bug']);
    expect(c.t.state).toBe('connected');
    expect(c.t.stats).toMatchObject({ rtpIn: 1, malformedMessages: 4, unknownMessageTypes: 1 });
  });

  it('one throwing listener does not keep the later ones from running (rtp, state, connected, closed, error)', async () => {
    const c = negotiatedCaller();
    const heard: string[] = [];
    for (const event of ['rtp', 'state', 'connected', 'closed'] as const) {
      c.t.on(event, () => {
        throw new Error(`${event} bug`);
      });
      c.t.on(event, () => void heard.push(event));
    }
    // A throwing 'error' listener before the recording one: the later one still hears every error.
    c.t.prependListener('error', () => {
      throw new Error('error listener bug');
    });
    expect(() => c.pc().sink.media(Buffer.from([0x80, 111, 0, 1, 0, 0, 0, 0, 0, 0, 0x04, 0x57]))).not.toThrow();
    expect(() => c.pc().sink.stateChange('connected')).not.toThrow();
    await c.t.close('local');
    expect(heard).toEqual(['rtp', 'state', 'connected', 'state', 'closed']);
    expect(c.errors.map((e) => e.message)).toEqual(['rtp bug', 'state bug', 'connected bug', 'state bug', 'closed bug']);
  });
});
