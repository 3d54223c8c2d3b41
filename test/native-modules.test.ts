/**
 * npm 11 does not run dependency install scripts unless allowed: the native modules must load
 * from what `npm ci` unpacks (prebuilt binaries shipped inside the packages).
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);

describe('native dependencies load after a plain npm ci', () => {
  it('@discordjs/opus encodes and decodes a frame', () => {
    const { OpusEncoder } = require('@discordjs/opus') as typeof import('@discordjs/opus');
    const encoder = new OpusEncoder(48000, 1);
    const pcm = Buffer.alloc(960 * 2);
    for (let i = 0; i < 960; i++) pcm.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 48000)), i * 2);
    const packet = encoder.encode(pcm);
    expect(packet.length).toBeGreaterThan(0);
    expect(encoder.decode(packet).length).toBe(960 * 2);
  });

  it('node-datachannel creates and closes a peer connection', async () => {
    const ndc = await import('node-datachannel');
    const pc = new ndc.PeerConnection('probe', { iceServers: [], bindAddress: '127.0.0.1' });
    pc.createDataChannel('probe');
    expect(typeof pc.localDescription()).toBe('object');
    pc.close();
  });
});
