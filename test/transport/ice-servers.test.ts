import { describe, expect, it } from 'vitest';
import { PeerConnection } from 'node-datachannel';
import { iceServersFromConnections } from '../../src/transport/ice-servers.js';

const turnAndStun = { ip: '91.108.9.1', ipv6: '2001:67c:4e8:f002::a', port: 1400, username: 'u:1', password: 'p@w', turn: true, stun: true };

describe('ICE servers from phoneConnectionWebrtc', () => {
  it('makes TURN (UDP, with credentials) and STUN servers for both address families', () => {
    expect(iceServersFromConnections([turnAndStun])).toEqual([
      { hostname: '91.108.9.1', port: 1400, username: 'u:1', password: 'p@w', relayType: 'TurnUdp' },
      { hostname: '91.108.9.1', port: 1400 },
      { hostname: '2001:67c:4e8:f002::a', port: 1400, username: 'u:1', password: 'p@w', relayType: 'TurnUdp' },
      { hostname: '2001:67c:4e8:f002::a', port: 1400 },
    ]);
  });

  it('relay only (p2p not allowed): TURN servers only', () => {
    expect(iceServersFromConnections([turnAndStun, { ip: '1.2.3.4', ipv6: '', port: 3478, stun: true, turn: false }], { relayOnly: true })).toEqual([
      { hostname: '91.108.9.1', port: 1400, username: 'u:1', password: 'p@w', relayType: 'TurnUdp' },
      { hostname: '2001:67c:4e8:f002::a', port: 1400, username: 'u:1', password: 'p@w', relayType: 'TurnUdp' },
    ]);
  });

  it('can leave IPv6 out (libdatachannel uses only two TURN servers, picked at random)', () => {
    expect(iceServersFromConnections([turnAndStun], { ipv6: false })).toEqual([
      { hostname: '91.108.9.1', port: 1400, username: 'u:1', password: 'p@w', relayType: 'TurnUdp' },
      { hostname: '91.108.9.1', port: 1400 },
    ]);
  });

  it('skips unusable entries and duplicates', () => {
    expect(
      iceServersFromConnections([
        { ip: '', ipv6: '', port: 3478, stun: true },
        { ip: 'example.org', port: 3478, stun: true },
        { ip: '1.2.3.4', port: 0, stun: true },
        { ip: '1.2.3.4', port: 3478, turn: true }, // TURN without credentials
        { ip: '1.2.3.4', port: 3478, stun: true },
        { ip: '1.2.3.4', port: 3478, stun: true },
      ]),
    ).toEqual([{ hostname: '1.2.3.4', port: 3478 }]);
  });

  it('node-datachannel accepts the result, IPv6 included (its URL form would not)', () => {
    const servers = iceServersFromConnections([turnAndStun]);
    const pc = new PeerConnection('ice-servers', { iceServers: servers, iceTransportPolicy: 'relay', bindAddress: '127.0.0.1' });
    pc.onStateChange(() => {}); // lets node-datachannel release the handle on close
    pc.close();
    expect(() => new PeerConnection('ice-url', { iceServers: ['stun:[2001:db8::1]:3478'] })).toThrow(/port/);
  });
});
