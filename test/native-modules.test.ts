/**
 * npm 11 does not run dependency install scripts unless allowed: the native modules must load
 * from what `npm ci` unpacks (prebuilt binaries shipped inside the packages).
 */
import { describe, expect, it } from 'vitest';

describe('native dependencies load after a plain npm ci', () => {
  it('libopus (from @evan/opus: native encoder, WebAssembly decoder) encodes and decodes a frame', async () => {
    const { defaultOpusCodec } = await import('../src/media/opus-codec.js');
    const codec = defaultOpusCodec();
    expect(codec.name).toContain('native encoder');
    const encoder = codec.createEncoder({ channels: 1, bitrate: 32000, frameMs: 20, fec: true, packetLossPercent: 10, dtx: false, complexity: 5 });
    const decoder = codec.createDecoder(1);
    const pcm = new Int16Array(960);
    for (let i = 0; i < 960; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 48000));
    const packet = encoder.encode(pcm);
    expect(packet.length).toBeGreaterThan(0);
    expect(decoder.decode(packet)).toHaveLength(960);
    encoder.close();
    decoder.close();
  });

  it('node-datachannel creates and closes a peer connection', async () => {
    const ndc = await import('node-datachannel');
    const pc = new ndc.PeerConnection('probe', { iceServers: [], bindAddress: '127.0.0.1' });
    pc.createDataChannel('probe');
    expect(typeof pc.localDescription()).toBe('object');
    pc.close();
  });
});
