/** Reflector entries to servers: the shared numbering of reflector.md §1 and what is left out. */
import { describe, expect, it } from 'vitest';
import { reflectorServers, type ReflectorConnectionInput } from '../../src/network/reflector-servers.js';

const TAG = new Uint8Array(16).fill(7);

function entry(id: bigint, extra: Partial<ReflectorConnectionInput> = {}): ReflectorConnectionInput {
  return { id, ip: `10.0.0.${Number(id & 0xffn) || 1}`, ipv6: '', port: 596, peerTag: TAG, tcp: false, ...extra };
}

describe('reflectorServers', () => {
  it('serverId = 1-based rank of the entry id among all reflector ids, in entry order', () => {
    const { servers, skipped } = reflectorServers([entry(30n), entry(10n), entry(20n)]);
    expect(servers.map((s) => [s.connectionId, s.serverId])).toEqual([
      [30n, 3],
      [10n, 1],
      [20n, 2],
    ]);
    expect(skipped).toEqual([]);
  });

  it('ranks TCP entries and signed int64 ids like std::set<int64_t>', () => {
    const { servers } = reflectorServers([entry(5n, { tcp: true, port: 443 }), entry(-9n, { ip: '10.0.0.9' }), entry(2n)]);
    expect(servers.map((s) => [s.connectionId, s.serverId, s.tcp])).toEqual([
      [5n, 3, true],
      [-9n, 1, false],
      [2n, 2, false],
    ]);
  });

  it('an entry with a bad peer tag is skipped but still counts for the ranking', () => {
    const { servers, skipped } = reflectorServers([entry(1n, { peerTag: new Uint8Array(15) }), entry(2n)]);
    expect(servers.map((s) => s.serverId)).toEqual([2]);
    expect(skipped).toEqual([{ connectionId: 1n, reason: 'bad-peer-tag' }]);
  });

  it('one server per wanted address family; IPv6 only when asked', () => {
    const e = entry(1n, { ip: '91.108.13.2', ipv6: '2001:67C:4E8:F004::2' });
    expect(reflectorServers([e]).servers.map((s) => s.endpoint)).toEqual([{ address: '91.108.13.2', port: 596 }]);
    const both = reflectorServers([e], { ipv6: true }).servers;
    expect(both.map((s) => [s.family, s.endpoint.address, s.serverId])).toEqual([
      [4, '91.108.13.2', 1],
      [6, '2001:67c:4e8:f004::2', 1],
    ]);
  });

  it('port 0 means 599 (tgcalls PrepareAddress); bad ports and missing addresses are reported', () => {
    const { servers, skipped } = reflectorServers([
      entry(1n, { port: 0 }),
      entry(2n, { port: 70000 }),
      entry(3n, { ip: '' }),
      entry(4n, { ip: 'reflector.example' }),
    ]);
    expect(servers.map((s) => s.endpoint.port)).toEqual([599]);
    expect(skipped.map((s) => [s.connectionId, s.reason])).toEqual([
      [2n, 'bad-port'],
      [3n, 'no-address'],
      [4n, 'no-address'],
    ]);
  });

  it('the same transport address twice: the first entry wins, as tgcalls matches the first', () => {
    const { servers, skipped } = reflectorServers([entry(1n, { ip: '10.1.1.1' }), entry(2n, { ip: '10.1.1.1' }), entry(3n, { ip: '10.1.1.1', tcp: true })]);
    expect(servers.map((s) => [s.serverId, s.tcp])).toEqual([
      [1, false],
      [3, true],
    ]);
    expect(skipped).toEqual([{ connectionId: 2n, reason: 'duplicate-endpoint', address: '10.1.1.1' }]);
  });

  it('duplicate ids share one rank', () => {
    const { servers } = reflectorServers([entry(7n, { ip: '10.2.0.1' }), entry(7n, { ip: '10.2.0.2' }), entry(9n)]);
    expect(servers.map((s) => s.serverId)).toEqual([1, 1, 2]);
  });

  it('past 255 entries the uint8 id would wrap: those entries are skipped and reported', () => {
    const many = Array.from({ length: 257 }, (_, i) => entry(BigInt(i + 1), { ip: `10.3.${i >> 8}.${i & 0xff}` }));
    const { servers, skipped } = reflectorServers(many);
    expect(servers).toHaveLength(255);
    expect(servers.at(-1)!.serverId).toBe(255);
    expect(skipped).toEqual([
      { connectionId: 256n, reason: 'server-id-overflow' },
      { connectionId: 257n, reason: 'server-id-overflow' },
    ]);
  });

  it('copies the peer tag', () => {
    const tag = new Uint8Array(16);
    const { servers } = reflectorServers([entry(1n, { peerTag: tag })]);
    tag[0] = 9;
    expect(servers[0]!.peerTag[0]).toBe(0);
  });
});
