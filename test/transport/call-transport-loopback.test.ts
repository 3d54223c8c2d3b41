/**
 * Integration: two real CallTransports (libdatachannel through node-datachannel) over loopback,
 * the JSON signaling passed between them by a test pipe that can hold and reorder messages. The
 * ordering rules themselves are tested without sockets (transport-sequencer.test.ts,
 * sequencer-property.test.ts) and the adapter with a fake port (call-transport.test.ts); these
 * check that the recipe works against libdatachannel: a whole call, the ntgcalls message order
 * (the libdatachannel races the rules dodge), and native handles released mid-connection.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CallTransport, type CallTransportOptions, type CloseReason, type TransportState } from '../../src/transport/call-transport.js';
import type { MediaState } from '../../src/transport/messages.js';
import { liveNativeHandles } from '../../src/transport/native-handles.js';
import { SignalingPipe, type PipeOptions } from './signaling-pipe.js';

const open: CallTransport[] = [];
const pipes: SignalingPipe[] = [];

afterEach(async () => {
  for (const p of pipes.splice(0)) p.close();
  await Promise.all(open.splice(0).map((t) => t.close()));
  expect(liveNativeHandles()).toBe(0);
});

function transport(options: Partial<CallTransportOptions> & { isOutgoing: boolean }): CallTransport {
  const t = new CallTransport({ network: { bindAddress: '127.0.0.1', connectTimeoutMs: 10_000 }, ...options });
  open.push(t);
  return t;
}

function pair(pipe: PipeOptions = {}, extra: Partial<CallTransportOptions> = {}) {
  const caller = transport({ isOutgoing: true, ssrc: 1111, ...extra });
  const callee = transport({ isOutgoing: false, ssrc: 2222, ...extra });
  const p = new SignalingPipe(caller, callee, pipe);
  pipes.push(p);
  return { caller, callee, pipe: p };
}

function once<T>(t: CallTransport, event: 'connected' | 'closed'): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} in time`)), 15_000);
    t.once(event, ((value: T) => {
      clearTimeout(timer);
      resolve(value);
    }) as never);
  });
}

function waitFor(what: string, predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = (): void => {
      if (predicate()) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 10);
    };
    tick();
  });
}

function rtpPacket(ssrc: number, pt: number, seq: number, payload: number[]): Buffer {
  const p = Buffer.alloc(12 + payload.length);
  p[0] = 0x80;
  p[1] = pt;
  p.writeUInt16BE(seq, 2);
  p.writeUInt32BE(seq * 960, 4);
  p.writeUInt32BE(ssrc, 8);
  Buffer.from(payload).copy(p, 12);
  return p;
}

/** An RTCP receiver report without report blocks. */
function rtcpReceiverReport(ssrc: number): Buffer {
  const p = Buffer.alloc(8);
  p[0] = 0x80;
  p[1] = 201;
  p.writeUInt16BE(1, 2);
  p.writeUInt32BE(ssrc, 4);
  return p;
}

/** Sends RTP until the receiver got `count` packets (the track opens shortly after `connected`). */
async function exchangeRtp(from: CallTransport, to: CallTransport, count: number): Promise<Buffer[]> {
  const got: Buffer[] = [];
  to.on('rtp', (p) => got.push(p));
  const params = from.mediaParams.local!;
  let seq = 0;
  await waitFor('rtp', () => {
    if (got.length >= count) return true;
    from.sendRtp(rtpPacket(params.ssrc, params.payloadType, seq++, [0xf8, 0xff, 0xfe]));
    return false;
  });
  return got;
}

describe('CallTransport over loopback', () => {
  it('connects caller and callee; negotiates; carries RTP, RTCP and MediaState both ways', async () => {
    const { caller, callee, pipe } = pair();
    const states: Record<string, TransportState[]> = { caller: [], callee: [] };
    caller.on('state', (s) => states.caller!.push(s));
    callee.on('state', (s) => states.callee!.push(s));
    const errors: Error[] = [];
    caller.on('error', (e) => errors.push(e));
    callee.on('error', (e) => errors.push(e));
    const stateAtCallee: MediaState[] = [];
    const stateAtCaller: MediaState[] = [];
    callee.on('remote-media-state', (s) => stateAtCallee.push(s));
    caller.on('remote-media-state', (s) => stateAtCaller.push(s));

    const connected = Promise.all([once(caller, 'connected'), once(callee, 'connected')]);
    caller.start();
    callee.start();
    await connected;
    expect(caller.state).toBe('connected');
    expect(callee.state).toBe('connected');

    // Negotiated parameters: each side's local params are the other side's remote params.
    await waitFor('negotiation', () => caller.canSendMedia && callee.canSendMedia && !!caller.mediaParams.remote);
    expect(caller.mediaParams.local).toMatchObject({ ssrc: 1111, payloadType: 111, extensionIds: { absSendTime: 2, transportWideCc: 3 } });
    expect(callee.mediaParams.remote).toMatchObject({ ssrc: 1111, opusPayloadTypes: [111], extensionIds: { absSendTime: 2, transportWideCc: 3 } });
    expect(callee.mediaParams.local).toMatchObject({ ssrc: 2222, payloadType: 111 });
    expect(caller.mediaParams.remote).toMatchObject({ ssrc: 2222, opusPayloadTypes: [111] });

    // RTP both ways, with the negotiated SSRC and payload type.
    const atCallee = await exchangeRtp(caller, callee, 5);
    const atCaller = await exchangeRtp(callee, caller, 5);
    expect(atCallee[0]!.readUInt32BE(8)).toBe(1111);
    expect(atCallee[0]![1]! & 0x7f).toBe(111);
    expect([...atCallee[0]!.subarray(12)]).toEqual([0xf8, 0xff, 0xfe]);
    expect(atCaller[0]!.readUInt32BE(8)).toBe(2222);

    // RTCP is demultiplexed onto its own event.
    const rtcpAtCallee: Buffer[] = [];
    callee.on('rtcp', (p) => rtcpAtCallee.push(p));
    await waitFor('rtcp', () => {
      caller.sendRtcp(rtcpReceiverReport(1111));
      return rtcpAtCallee.some((p) => p[1] === 201 && p.readUInt32BE(4) === 1111);
    });

    // MediaState: the initial one from each side, then a change.
    await waitFor('initial MediaState', () => stateAtCallee.length > 0 && stateAtCaller.length > 0);
    expect(stateAtCallee[0]).toEqual({ muted: false, lowBattery: false, videoState: 'inactive', videoRotation: 0, screencastState: 'inactive' });
    caller.setMediaState({ muted: true });
    callee.setMediaState({ lowBattery: true });
    await waitFor('changed MediaState', () => stateAtCallee.at(-1)?.muted === true && stateAtCaller.at(-1)?.lowBattery === true);
    const viaDataChannel = caller.stats.mediaStateViaDataChannel + callee.stats.mediaStateViaDataChannel;
    const viaSignaling = caller.stats.mediaStateViaSignaling + callee.stats.mediaStateViaSignaling;
    expect(viaDataChannel + viaSignaling).toBeGreaterThanOrEqual(4);
    // The callee's data channel never hits the libdatachannel race (transport-v2.md §5).
    expect(callee.stats.mediaStateViaDataChannel).toBeGreaterThanOrEqual(2);

    // libjuice talks to its loopback proxies only; the route between the edges is direct, host to host.
    const pairAtCaller = caller.selectedCandidatePair();
    expect(pairAtCaller?.local.address).toBe('127.0.0.1');
    expect(pairAtCaller?.remote.address).toBe('127.0.0.1');
    for (const t of [caller, callee]) {
      expect(t.path()).toMatchObject({ kind: 'host', local: 'direct4', remoteType: 'host' });
      expect(t.path()?.remote).toMatch(/^127\.0\.0\.1:\d+$/);
    }
    expect(caller.stats.network).toMatchObject({ peerMoves: 0, sendErrors: 0 });

    // DTLS roles in InitialSetup: caller actpass, callee passive; no renomination (libdatachannel).
    const setupOf = (side: 'a' | 'b') => pipe.log.find((m) => m.from === side && m.type === 'InitialSetup')?.message;
    expect(setupOf('a')).toMatchObject({ renomination: false, fingerprints: [{ hash: 'sha-256', setup: 'actpass' }] });
    expect(setupOf('b')).toMatchObject({ renomination: false, fingerprints: [{ hash: 'sha-256', setup: 'passive' }] });

    // Signaling order: our InitialSetup precedes our NegotiateChannels on both sides.
    for (const side of ['a', 'b'] as const) {
      const types = pipe.log.filter((m) => m.from === side).map((m) => m.type);
      expect(types.indexOf('InitialSetup')).toBeLessThan(types.indexOf('NegotiateChannels'));
      expect(types.filter((t) => t === 'NegotiateChannels')).toHaveLength(2); // one offer + one answer
    }

    expect(caller.stats.connectTimeMs).toBeGreaterThan(0);
    // Connected (media flows) once DTLS-SRTP is up; the SCTP data channel opens after that.
    for (const t of [caller, callee]) expect(t.stats.dataChannelOpenMs).toBeGreaterThanOrEqual(t.stats.connectTimeMs!);
    expect(caller.stats.malformedMessages + callee.stats.malformedMessages).toBe(0);
    expect(errors).toEqual([]);
    expect(states.caller).toEqual(['connecting', 'connected']);
    expect(states.callee).toEqual(['connecting', 'connected']);

    const closedAtCallee = once<CloseReason>(callee, 'closed');
    await caller.close();
    expect(caller.state).toBe('closed');
    expect(caller.closeReason).toBe('local');
    // The peer sees DTLS end and closes with `disconnect`.
    expect(await closedAtCallee).toBe('disconnect');
    expect(caller.sendRtp(rtpPacket(1111, 111, 1, [0]))).toBe(false);
  });

  it('connects when the peer sends candidates before its InitialSetup and answer (ntgcalls order, caller side)', async () => {
    const { caller, callee, pipe } = pair({ hold: ['b:InitialSetup', 'b:NegotiateChannels'] });
    const connected = Promise.all([once(caller, 'connected'), once(callee, 'connected')]);
    caller.start();
    callee.start();
    // The caller gets the callee's candidates first and must keep them.
    await waitFor('callee candidates at the caller', () => caller.stats.signalingIn >= 1);
    await new Promise((r) => setTimeout(r, 100));
    expect(caller.state).toBe('connecting');
    expect(caller.stats.remoteCandidatesAdded).toBe(0);
    pipe.release();
    await connected;
    expect(caller.stats.remoteCandidatesAdded).toBeGreaterThan(0);
    const got = await exchangeRtp(caller, callee, 3);
    expect(got[0]!.readUInt32BE(8)).toBe(1111);
  });

});

describe('CallTransport over loopback: native handles', () => {
  it('closing mid-connection releases every native handle', async () => {
    const { caller, callee } = pair();
    caller.start();
    callee.start();
    await new Promise((r) => setTimeout(r, 20));
    expect(liveNativeHandles()).toBeGreaterThan(0);
    await Promise.all([caller.close(), callee.close()]);
    expect(liveNativeHandles()).toBe(0);
  });
});
