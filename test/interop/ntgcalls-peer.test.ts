/**
 * The peer process itself: bad input never kills it, it ends by itself (stdin EOF, lifetime),
 * and a wrong key fingerprint from the other side is reported as a CryptoError.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeTelegram } from './fake-telegram.js';
import { createNetns, type Netns } from './netns.js';
import { NtgcallsPeer } from './ntgcalls-peer.js';
import { checkNtgcallsPrereqs, interopGate } from './prereqs.js';

const VERSION = '2.2.5';
const enabled = interopGate(`ntgcalls ${VERSION} peer`, checkNtgcallsPrereqs(VERSION));

describe.skipIf(!enabled)(`ntgcalls_peer.py (${VERSION})`, () => {
  let ns: Netns | undefined;
  let dir = '';
  const peers: NtgcallsPeer[] = [];
  const start = async (name: string): Promise<NtgcallsPeer> => {
    const peer = await NtgcallsPeer.start({ version: VERSION, netns: ns!, name });
    peers.push(peer);
    return peer;
  };

  beforeAll(async () => {
    ns = await createNetns();
    dir = mkdtempSync(join(tmpdir(), 'tgcall-peer-'));
  });
  afterEach(async () => {
    await Promise.all(peers.splice(0).map((p) => p.close()));
  });
  afterAll(async () => {
    await ns?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('answers malformed lines with error events and keeps running', async () => {
    const peer = await start('garbage');
    const errors: string[] = [];
    peer.on('peer_error', (e) => errors.push(`${e.where}:${e.type}`));
    peer.sendRawLine('this is not json');
    peer.sendRawLine('[1,2,3]');
    peer.sendRawLine('{"op":"no_such_op"}');
    peer.sendRawLine('{"op":"signal","data":"AAAA"}'); // before init
    peer.sendRawLine('{"op":"init","role":"nobody","rx_path":"/dev/null"}');
    const last = peer.waitFor('peer_error', (e) => e.where === 'op:init', 5_000);
    await last;
    expect(errors).toEqual(['op:_bad:ValueError', 'op:_bad:ValueError', 'op:no_such_op:ValueError', 'op:signal:RuntimeError', 'op:init:ValueError']);
    const report = await peer.hangup();
    expect(report.reason).toBe('hangup');
    expect(peer.exitCode).toBe(0);
  });

  it('reports and exits by itself when its stdin closes', async () => {
    const peer = await start('eof');
    peer.init({ role: 'caller', toneHz: 440, toneSeconds: 1, rxPath: join(dir, 'eof.raw') });
    await peer.stats();
    const report = peer.waitFor('report');
    peer.endInput();
    expect((await report).reason).toBe('stdin_closed');
    expect(await peer.waitExit(5_000)).toBe(true);
    expect(peer.exitCode).toBe(0);
  });

  it('ends itself after max_lifetime_s', async () => {
    const peer = await start('lifetime');
    peer.init({ role: 'callee', toneHz: 440, toneSeconds: 1, rxPath: join(dir, 'life.raw'), maxLifetimeS: 0.5 });
    const report = await peer.waitFor('report', undefined, 5_000);
    expect(report.reason).toBe('lifetime');
    expect(await peer.waitExit(5_000)).toBe(true);
    expect(peer.exitCode).toBe(3);
  });

  it('rejects a wrong key fingerprint with CryptoError and exits non-zero', async () => {
    const tg = new FakeTelegram();
    const caller = await start('caller');
    const callee = await start('callee');
    callee.init({ role: 'callee', toneHz: 880, rxPath: join(dir, 'fp-callee.raw'), dh: tg.getDhConfig() });
    const request = caller.waitFor('request');
    caller.init({ role: 'caller', toneHz: 440, rxPath: join(dir, 'fp-caller.raw'), dh: tg.getDhConfig() });
    const accept = callee.waitFor('accept');
    callee.request((await request).gAHash);
    const confirm = caller.waitFor('confirm');
    caller.accepted((await accept).gB);
    const { gA, fingerprint } = await confirm;
    const failure = callee.waitFor('peer_error');
    // waiting for the report before it can come: the peer reports and exits right after the error
    const report = callee.waitFor('report', undefined, 5_000);
    callee.confirm(gA, fingerprint ^ 1n);
    const err = await failure;
    expect(err.type).toBe('CryptoError');
    expect(err.message).toMatch(/fingerprint/i);
    expect((await report).reason).toBe('key_exchange_failed');
    expect(await callee.waitExit(5_000)).toBe(true);
    expect(callee.exitCode).toBe(2);
  });
});
