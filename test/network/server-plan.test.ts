import { createSocket, type Socket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { hostAddresses, isLocalAddress, type InterfaceTable } from '../../src/network/host-addresses.js';
import { planServers, type CallServerInput } from '../../src/network/server-plan.js';
import { bindUdp } from '../../src/network/udp-bind.js';

const TAG = new Uint8Array(16).fill(7);

const webrtc = (ip: string, ipv6: string, extra: Partial<Extract<CallServerInput, { kind: 'webrtc' }>> = {}): CallServerInput => ({
  kind: 'webrtc',
  ip,
  ipv6,
  port: 3478,
  username: 'u',
  password: 'p',
  turn: true,
  stun: true,
  ...extra,
});

describe('planServers: which relays and STUN servers a call uses', () => {
  it('takes IPv4 TURN first in list order, IPv6 only when the host has IPv6, at most three', () => {
    const connections = [webrtc('1.1.1.1', '2001:db8::1'), webrtc('2.2.2.2', '2001:db8::2'), webrtc('3.3.3.3', ''), webrtc('4.4.4.4', '')];
    const v4only = planServers({ connections, allowDirect: true, ipv6: false });
    expect(v4only.turn.map((t) => t.host)).toEqual(['1.1.1.1', '2.2.2.2', '3.3.3.3']);
    expect(v4only.stun.map((s) => s.host)).toEqual(['1.1.1.1', '2.2.2.2']);
    const dual = planServers({ connections: [webrtc('', '2001:db8::1'), webrtc('2.2.2.2', '')], allowDirect: true, ipv6: true });
    expect(dual.turn.map((t) => t.host)).toEqual(['2.2.2.2', '2001:db8::1']);
  });

  it('asks no STUN server when p2p is not allowed, and keeps TURN entries that carry credentials only', () => {
    const plan = planServers({ connections: [webrtc('1.1.1.1', '', { username: undefined }), webrtc('2.2.2.2', '')], allowDirect: false, ipv6: false });
    expect(plan.stun).toEqual([]);
    expect(plan.turn).toEqual([{ host: '2.2.2.2', port: 3478, username: 'u', password: 'p' }]);
  });

  it('numbers every reflector as both ends do and reports the unusable ones', () => {
    const plan = planServers({
      connections: [
        { kind: 'reflector', id: 30n, ip: '9.9.9.9', ipv6: '', port: 599, peerTag: TAG, tcp: false },
        { kind: 'reflector', id: 10n, ip: '8.8.8.8', ipv6: '', port: 0, peerTag: TAG, tcp: true },
        { kind: 'reflector', id: 20n, ip: '7.7.7.7', ipv6: '', port: 599, peerTag: new Uint8Array(5), tcp: false },
      ],
      allowDirect: false,
      ipv6: false,
    });
    expect(plan.reflectors.map((r) => [r.serverId, r.endpoint.address, r.endpoint.port, r.tcp])).toEqual([
      [3, '9.9.9.9', 599, false],
      [1, '8.8.8.8', 599, true],
    ]);
    expect(plan.skipped).toEqual([{ connectionId: 20n, reason: 'bad-peer-tag' }]);
  });

  it('reads the user ICE servers (object and URL forms) instead of the call TURN/STUN entries', () => {
    const plan = planServers({
      connections: [webrtc('1.1.1.1', '')],
      iceServers: [
        'stun:5.5.5.5:3479',
        'turn:us%40er:pa%3Ass@6.6.6.6:3480?transport=udp',
        'turn:x:y@7.7.7.7?transport=tcp',
        { hostname: '8.8.8.8', port: 3478, username: 'a', password: 'b:c', relayType: 'TurnUdp' },
        { hostname: '9.9.9.9', port: 443, username: 'a', password: 'b', relayType: 'TurnTls' },
        'garbage',
      ],
      allowDirect: true,
      ipv6: false,
    });
    expect(plan.stun).toEqual([{ host: '5.5.5.5', port: 3479 }]);
    expect(plan.turn).toEqual([
      { host: '6.6.6.6', port: 3480, username: 'us@er', password: 'pa:ss' },
      { host: '8.8.8.8', port: 3478, username: 'a', password: 'b:c' },
    ]);
  });
});

describe('hostAddresses: what our host candidates name', () => {
  const table: InterfaceTable = {
    lo: [
      { address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' },
      { address: '::1', netmask: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', family: 'IPv6', mac: '00:00:00:00:00:00', internal: true, cidr: '::1/128', scopeid: 0 },
    ],
    eth0: [
      { address: '192.0.2.2', netmask: '255.255.255.0', family: 'IPv4', mac: '02:00:00:00:00:01', internal: false, cidr: '192.0.2.2/24' },
      { address: 'fe80::1', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '02:00:00:00:00:01', internal: false, cidr: 'fe80::1/64', scopeid: 2 },
      { address: '169.254.3.4', netmask: '255.255.0.0', family: 'IPv4', mac: '02:00:00:00:00:01', internal: false, cidr: '169.254.3.4/16' },
    ],
    wlan0: [{ address: '2001:db8::7', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '02:00:00:00:00:02', internal: false, cidr: '2001:db8::7/64', scopeid: 0 }],
  };

  it('keeps non-internal IPv4 and global IPv6 only', () => {
    expect(hostAddresses(table)).toEqual({ ipv4: ['192.0.2.2'], ipv6: ['2001:db8::7'] });
    expect(hostAddresses({ lo: table.lo })).toEqual({ ipv4: [], ipv6: [] });
  });

  it('knows the host own addresses, loopback included', () => {
    expect(isLocalAddress(table, '127.0.0.1')).toBe(true);
    expect(isLocalAddress(table, '2001:DB8::7')).toBe(true);
    expect(isLocalAddress(table, '192.0.2.99')).toBe(false);
  });
});

describe('bindUdp: binding failures are typed errors, never a native abort', () => {
  it('moves on past taken ports of the range and says so when all are taken', async () => {
    const taken: Socket[] = [];
    try {
      const first = await bindUdp(4, '127.0.0.1');
      taken.push(first);
      const port = first.address().port;
      await expect(bindUdp(4, '127.0.0.1', { begin: port, end: port })).rejects.toMatchObject({ code: 'PORT_RANGE_EXHAUSTED' });
      const next = await bindUdp(4, '127.0.0.1', { begin: port, end: port + 1 }).catch(() => undefined);
      if (next) {
        taken.push(next);
        expect(next.address().port).toBe(port + 1);
      }
    } finally {
      for (const s of taken) s.close();
    }
  });

  it('an address of no interface here is BIND_FAILED', async () => {
    await expect(bindUdp(4, '192.0.2.254')).rejects.toMatchObject({ code: 'BIND_FAILED' });
    await expect(bindUdp(4, 'not-an-ip')).rejects.toMatchObject({ code: 'BIND_FAILED' });
    // nothing left open: a fresh socket binds the same way as before
    const s = createSocket('udp4');
    await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
    s.close();
  });
});
