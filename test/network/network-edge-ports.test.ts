/**
 * A `portRange` too small for every relay socket: the relays that get no port are left out and
 * the call keeps the paths it has; with no path left at all, PORT_RANGE_EXHAUSTED.
 */
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { TransportError } from '../../src/errors.js';
import { silentLogger } from '../../src/logger.js';
import { NetworkEdge, type NetworkEdgeOptions } from '../../src/network/network-edge.js';
import type { ReflectorServer } from '../../src/network/reflector-servers.js';

const held: Socket[] = [];
afterEach(() => {
  for (const s of held.splice(0)) s.close();
});

/** `count` consecutive free loopback UDP ports (found by binding; released before use). */
async function freeRange(count: number): Promise<{ begin: number; end: number }> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const begin = 20_000 + Math.floor(Math.random() * 40_000);
    const sockets: Socket[] = [];
    try {
      for (let p = begin; p < begin + count; p++) {
        const s = createSocket('udp4');
        sockets.push(s);
        await new Promise<void>((resolve, reject) => {
          s.once('error', reject);
          s.bind(p, '127.0.0.1', () => resolve());
        });
      }
      return { begin, end: begin + count - 1 };
    } catch {
      // taken: try another block
    } finally {
      await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    }
  }
  throw new Error('no free port block');
}

function reflector(serverId: number): ReflectorServer {
  return { serverId, connectionId: BigInt(serverId), endpoint: { address: '127.0.0.1', port: 9 }, family: 4, tcp: false, peerTag: new Uint8Array(16).fill(serverId) };
}

function options(extra: Partial<NetworkEdgeOptions>): NetworkEdgeOptions {
  return {
    isOutgoing: true,
    allowDirect: true,
    bindAddress: '127.0.0.1',
    servers: { turn: [], stun: [], reflectors: [reflector(1), reflector(2), reflector(3)], skipped: [] },
    logger: silentLogger,
    sink: { localCandidate: () => undefined, engineCandidate: () => undefined, event: () => undefined },
    scanInterfaces: false,
    ...extra,
  };
}

describe('NetworkEdge: a port range smaller than the relay list', () => {
  it('direct plus as many relays as there are ports; the rest are left out', async () => {
    const edge = await NetworkEdge.open(options({ portRange: await freeRange(2) }));
    expect(edge.pathMux.relayPaths().size).toBe(1);
    expect(edge.describe()).toContain('relays: reflector 127.0.0.1:9');
    await edge.close();
  });

  it('relay only: the relays that got a port', async () => {
    const edge = await NetworkEdge.open(options({ allowDirect: false, portRange: await freeRange(2) }));
    expect(edge.pathMux.relayPaths().size).toBe(2);
    await edge.close();
  });

  it('relay only and no port at all: PORT_RANGE_EXHAUSTED, nothing left open', async () => {
    const range = await freeRange(1);
    const taken = createSocket('udp4');
    held.push(taken);
    await new Promise<void>((resolve) => taken.bind(range.begin, '127.0.0.1', () => resolve()));
    const err = await NetworkEdge.open(options({ allowDirect: false, portRange: range })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).code).toBe('PORT_RANGE_EXHAUSTED');
  });
});
