import type { NetworkInterfaceInfo } from 'node:os';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/logger.js';
import { parseIceCandidate } from '../../src/network/ice-candidate.js';
import { NetworkEdge, type NetworkEdgeOptions } from '../../src/network/network-edge.js';
import type { InterfaceTable } from '../../src/network/host-addresses.js';

function table(...addresses: string[]): InterfaceTable {
  return {
    eth0: addresses.map((address): NetworkInterfaceInfo => ({ address, netmask: '255.255.255.0', family: 'IPv4', mac: '02:00:00:00:00:01', internal: false, cidr: `${address}/24` })),
  };
}

describe('NetworkEdge: a network change of ours', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  async function open(extra: Partial<NetworkEdgeOptions>, interfaces: () => InterfaceTable): Promise<{ edge: NetworkEdge; lines: string[] }> {
    const lines: string[] = [];
    const edge = await NetworkEdge.open({
      isOutgoing: true,
      allowDirect: true,
      servers: { turn: [], stun: [], reflectors: [], skipped: [] },
      logger: silentLogger,
      sink: { localCandidate: (line) => lines.push(line), engineCandidate: () => undefined, event: () => undefined },
      interfaces: interfaces(),
      scanInterfaces: interfaces,
      ...extra,
    });
    return { edge, lines };
  }

  it('signals a host candidate for an address that appears mid-call, with the same wildcard socket port', async () => {
    // Only the interface scan's interval is faked: the sockets stay real (bound, never sending).
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    let now = table('10.9.0.1');
    const { edge, lines } = await open({}, () => now);
    edge.start();
    edge.setLocalCredentials('ufrg', 'icepasswordicepassword');
    expect(lines.map((l) => parseIceCandidate(l)?.address)).toEqual(['10.9.0.1']);
    now = table('10.9.0.3'); // the first address is gone, a new one came
    vi.advanceTimersByTime(2_000);
    expect(lines).toHaveLength(2);
    const [first, second] = lines.map((l) => parseIceCandidate(l)!);
    expect(second).toMatchObject({ address: '10.9.0.3', port: first!.port, type: 'host' });
    vi.advanceTimersByTime(10_000);
    expect(lines).toHaveLength(2);
    await edge.close();
    now = table('10.9.0.5');
    vi.advanceTimersByTime(10_000);
    expect(lines).toHaveLength(2);
  });

  it('never scans for a socket bound to one address (it cannot use another)', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    // No scanInterfaces given: the default would be os.networkInterfaces(), whose addresses differ.
    const { edge, lines } = await open({ bindAddress: '127.0.0.1', scanInterfaces: undefined }, () => table('127.0.0.1'));
    edge.start();
    edge.setLocalCredentials('ufrg', 'icepasswordicepassword');
    vi.advanceTimersByTime(10_000);
    expect(lines.map((l) => parseIceCandidate(l)?.address)).toEqual(['127.0.0.1']);
    await edge.close();
  });
});
