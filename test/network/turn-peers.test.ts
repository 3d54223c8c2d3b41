/**
 * TurnClient's data path on a virtual clock against a scripted server: permissions, the bounded
 * queue, Send indications until a channel is bound, ChannelData after, refreshes, and incoming data.
 */
import { describe, expect, it } from 'vitest';
import { StunAttr, StunMethod, attributeValue, decodeAddress, decodeChannelNumber, parseStun, type StunMessage } from '../../src/network/stun.js';
import type { TurnClient } from '../../src/network/turn-client.js';
import { SERVER, ScriptedTurn, channelData, newClient, parse, requests } from './scripted-turn.js';

const PEER = { address: '203.0.113.50', port: 61000 };
const PEER2 = { address: '203.0.113.50', port: 61001 };
const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);

function peerOf(m: StunMessage): unknown {
  return decodeAddress(attributeValue(m, StunAttr.XOR_PEER_ADDRESS)!, m.transactionId);
}

function setup(options: Parameters<typeof newClient>[0] = {}): { server: ScriptedTurn; client: TurnClient } {
  const server = new ScriptedTurn();
  return { server, client: server.allocate(newClient(options)) };
}

/** Sends to PEER: returns the CreatePermission and ChannelBind requests it caused. */
function firstSend(client: TurnClient, payload: Uint8Array, now: number): { permission: StunMessage; bind: StunMessage } {
  const step = client.send(PEER, payload, now);
  const reqs = requests(step.send);
  expect(reqs.map((r) => r.method)).toEqual([StunMethod.CREATE_PERMISSION, StunMethod.CHANNEL_BIND]);
  expect(step.send).toHaveLength(2); // the data waits for the permission
  return { permission: reqs[0]!, bind: reqs[1]! };
}

describe('TurnClient data path', () => {
  it('queues until the permission, flushes as Send indications, then uses ChannelData once bound', () => {
    const { server, client } = setup();
    const { permission, bind } = firstSend(client, bytes(1), 10);
    expect(peerOf(permission)).toEqual({ address: PEER.address, port: 0 });
    expect(peerOf(bind)).toEqual(PEER);
    expect(decodeChannelNumber(attributeValue(bind, StunAttr.CHANNEL_NUMBER)!)).toBe(0x4000);
    expect(client.send(PEER, bytes(2), 11).send).toHaveLength(0);

    const flushed = client.receive(server.ok(permission), SERVER, 20).send.map((d) => parse(d.data));
    expect(flushed.map((m) => [m.method, m.cls])).toEqual([
      [StunMethod.SEND, 'indication'],
      [StunMethod.SEND, 'indication'],
    ]);
    expect(flushed.map((m) => [...attributeValue(m, StunAttr.DATA)!])).toEqual([[1], [2]]);
    expect(flushed.every((m) => JSON.stringify(peerOf(m)) === JSON.stringify(PEER))).toBe(true);
    expect(parseStun(client.send(PEER, bytes(3), 21).send[0]!.data)).toMatchObject({ ok: true, method: StunMethod.SEND });

    client.receive(server.ok(bind), SERVER, 30);
    const out = client.send(PEER, bytes(4, 5, 6), 31).send;
    expect(out).toEqual([{ to: SERVER, data: bytes(0x40, 0x00, 0, 3, 4, 5, 6) }]);
    expect(client.send(PEER, new Uint8Array(0x10000), 32).send).toEqual([]); // cannot be framed
    expect(client.stats.dropped.oversize).toBe(1);
    expect(client.stats.sent).toMatchObject({ sendIndications: 3, channelData: 1 });
  });

  it('a second port on the same IP shares the permission and gets its own channel', () => {
    const { server, client } = setup();
    const { permission } = firstSend(client, bytes(1), 10);
    client.receive(server.ok(permission), SERVER, 20);
    const step = client.send(PEER2, bytes(9), 21);
    const reqs = requests(step.send);
    expect(reqs.map((r) => r.method)).toEqual([StunMethod.CHANNEL_BIND]);
    expect(decodeChannelNumber(attributeValue(reqs[0]!, StunAttr.CHANNEL_NUMBER)!)).toBe(0x4001);
    expect(step.send).toHaveLength(2); // the bind and the Send indication
  });

  it('queued data is a copy: the caller may reuse its Buffer', () => {
    const { server, client } = setup();
    const reused = Buffer.from([1, 2, 3]);
    const { permission } = firstSend(client, reused, 10);
    reused.fill(9);
    const flushed = client.receive(server.ok(permission), SERVER, 20).send.map((d) => parse(d.data));
    expect([...attributeValue(flushed[0]!, StunAttr.DATA)!]).toEqual([1, 2, 3]);
  });

  it('bounds the queue per peer', () => {
    const { client } = setup({ limits: { maxQueuedPerPeer: 3 } });
    firstSend(client, bytes(0), 10);
    for (let i = 1; i < 6; i += 1) client.send(PEER, bytes(i), 10);
    expect(client.stats.dropped.queueFull).toBe(3);
  });

  it('a refused permission drops the queue, reports it, and blocks that IP for 5 s', () => {
    const { server, client } = setup();
    const { permission } = firstSend(client, bytes(1), 10);
    client.send(PEER, bytes(2), 11);
    const step = client.receive(server.error(permission, 403, 'Forbidden IP'), SERVER, 20);
    expect(step.events).toEqual([{ type: 'permission-failed', address: PEER.address, status: 403, reason: '403 Forbidden IP' }]);
    expect(client.state).toBe('allocated');
    expect(client.stats.dropped.permissionFailed).toBe(2);
    expect(client.send(PEER, bytes(3), 5_019).send).toHaveLength(0);
    expect(client.stats.dropped.permissionFailed).toBe(3);
    expect(requests(client.send(PEER, bytes(4), 5_020).send).map((r) => r.method)).toEqual([StunMethod.CREATE_PERMISSION]);
  });

  it('a refused ChannelBind leaves the peer on Send indications', () => {
    const { server, client } = setup();
    const { permission, bind } = firstSend(client, bytes(1), 10);
    client.receive(server.ok(permission), SERVER, 20);
    client.receive(server.error(bind, 400, 'Bad Request'), SERVER, 21);
    expect(client.stats.channelFailures).toBe(1);
    const out = client.send(PEER, bytes(2), 22).send;
    expect(out.map((d) => parse(d.data).method)).toEqual([StunMethod.SEND]);
  });

  it('channels: false sends only Send indications', () => {
    const { server, client } = setup({ channels: false });
    const step = client.send(PEER, bytes(1), 10);
    const reqs = requests(step.send);
    expect(reqs.map((r) => r.method)).toEqual([StunMethod.CREATE_PERMISSION]);
    expect(client.receive(server.ok(reqs[0]!), SERVER, 11).send.map((d) => parse(d.data).method)).toEqual([StunMethod.SEND]);
  });

  it('permit() installs a permission before any data; refreshes at 4 min, channels re-bound at 9 min', () => {
    const { server, client } = setup();
    const permission = requests(client.permit(PEER.address, 100).send)[0]!;
    expect(client.permit(PEER.address, 101).send).toHaveLength(0); // already pending
    client.receive(server.ok(permission), SERVER, 110);
    const bind = requests(client.send(PEER, bytes(1), 120).send)[0]!;
    client.receive(server.ok(bind), SERVER, 130);
    // ChannelBind refreshed the permission of its IP too (RFC 8656 §12.2): next refresh 240 s after it
    expect(client.nextDeadline()).toBe(130 + 240_000);
    const first = requests(client.tick(130 + 240_000).send);
    expect(first.map((r) => r.method)).toEqual([StunMethod.CREATE_PERMISSION]);
    client.receive(server.ok(first[0]!), SERVER, 240_200);
    // (the allocation and the permission are due again by then too)
    const rebind = requests(client.tick(130 + 540_000).send).filter((r) => r.method === StunMethod.CHANNEL_BIND);
    expect(rebind).toHaveLength(1);
    expect([decodeChannelNumber(attributeValue(rebind[0]!, StunAttr.CHANNEL_NUMBER)!), peerOf(rebind[0]!)]).toEqual([0x4000, PEER]);
  });

  it('delivers Data indications from permitted peers and ChannelData on our channels', () => {
    const { server, client } = setup();
    const { permission, bind } = firstSend(client, bytes(1), 10);
    const data = client.receive(server.dataIndication(PEER, bytes(7, 8)), SERVER, 11);
    expect(data.events).toEqual([{ type: 'data', peer: PEER, payload: bytes(7, 8) }]);
    client.receive(server.ok(permission), SERVER, 12);
    client.receive(server.ok(bind), SERVER, 13);
    const frame = channelData(0x4000, bytes(9, 9, 9));
    const viaChannel = client.receive(frame, SERVER, 14);
    expect(viaChannel.events).toEqual([{ type: 'data', peer: PEER, payload: bytes(9, 9, 9) }]);
    expect((viaChannel.events[0] as { payload: Uint8Array }).payload.buffer).toBe(frame.buffer); // a view
    // padding up to 3 bytes is allowed over UDP
    expect(client.receive(Uint8Array.of(0x40, 0, 0, 1, 5, 0, 0, 0), SERVER, 15).events).toHaveLength(1);
    expect(client.stats.received).toEqual({ dataIndications: 1, channelData: 2 });
  });

  it('drops incoming data it cannot attribute', () => {
    const { server, client } = setup();
    firstSend(client, bytes(1), 10);
    client.receive(server.dataIndication({ address: '192.0.2.99', port: 1 }, bytes(1)), SERVER, 11);
    client.receive(channelData(0x4005, bytes(1)), SERVER, 11);
    client.receive(Uint8Array.of(0x40, 0, 0, 9, 1), SERVER, 11);
    client.receive(Uint8Array.of(0x40, 0, 0, 0, 1, 2, 3, 4), SERVER, 11);
    client.receive(channelData(0x4000, bytes(1)), { address: '192.0.2.1', port: 3478 }, 11);
    client.receive(Uint8Array.of(0, 1, 2), SERVER, 11);
    expect(client.stats.dropped).toMatchObject({ unpermittedPeer: 1, unknownChannel: 1, malformed: 3, unknownSource: 1 });
    expect(client.stats.received).toEqual({ dataIndications: 0, channelData: 0 });
  });

  it('drops sends it cannot make: before allocation, other family, bad address, too many peers', () => {
    const early = newClient();
    expect(early.send(PEER, bytes(1), 0).send).toHaveLength(0);
    expect(early.stats.dropped.notAllocated).toBe(1);
    const { client } = setup({ limits: { maxPermissions: 1 } });
    client.send({ address: '2001:db8::1', port: 5 }, bytes(1), 10);
    client.send({ address: 'peer.example', port: 5 }, bytes(1), 10);
    client.send(PEER, bytes(1), 10);
    client.send({ address: '203.0.113.51', port: 5 }, bytes(1), 10);
    client.send(PEER, new Uint8Array(70_000), 10);
    expect(client.stats.dropped).toMatchObject({ familyMismatch: 1, badAddress: 1, tooManyPeers: 1, oversize: 1 });
  });

  it('a peer address in another text form reaches the same permission and channel', () => {
    const { server, client } = setup({ server: { address: '2001:db8::3478', port: 3478 }, family: 6 });
    void server;
    const step = client.send({ address: '2001:DB8:0::50', port: 9 }, bytes(1), 10);
    const [permission] = requests(step.send);
    expect(peerOf(permission!)).toEqual({ address: '2001:db8::50', port: 0 });
    expect(client.send({ address: '2001:db8::50', port: 9 }, bytes(2), 11).send).toHaveLength(0); // same pending permission, no new requests
  });
});
