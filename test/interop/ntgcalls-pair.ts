/**
 * One ntgcalls <-> ntgcalls call through the Node plumbing: two peer processes in a namespace,
 * FakeTelegram in the middle handing out the DH config and relaying every value and blob.
 * Shared by the self test and the benchmark.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from '../../src/logger.js';
import { attachNtgcallsPeer, FakeTelegram, type CallSide } from './fake-telegram.js';
import type { Netns } from './netns.js';
import { NtgcallsPeer, type PeerInit, type PeerReport, type PeerRtcServer } from './ntgcalls-peer.js';
import type { NtgcallsVersion } from './prereqs.js';

export interface PairOptions {
  callerVersion: NtgcallsVersion;
  calleeVersion: NtgcallsVersion;
  /** Where the caller runs (and the callee, without `calleeNetns`). */
  netns: Pick<Netns, 'spawn'>;
  /**
   * Where the callee runs. Two peers in one namespace talk through `lo`; give each its own end
   * of an impaired link (impairment-relay.ts) to put a network between them.
   */
  calleeNetns?: Pick<Netns, 'spawn'>;
  /** Latency probes instead of tones (ntgcalls-peer.ts `capture: 'bursts'`, `playback: 'timed'`). */
  probes?: boolean;
  /** Each peer ends itself after this long (default 60 s). */
  maxLifetimeS?: number;
  /** Directory for the recordings (`<label>-caller.raw`, `<label>-callee.raw`). */
  dir: string;
  label?: string;
  /** 'dh': full key exchange through FakeTelegram; 'skip': skip_exchange with one random key. */
  key: 'dh' | 'skip';
  callerHz?: number;
  calleeHz?: number;
  toneSeconds?: number;
  versions?: string[];
  verbose?: boolean;
  logger?: Logger;
  /** connect_p2p servers of each side (default none), e.g. a reflector entry with its peer tag. */
  servers?: Partial<Record<CallSide, PeerRtcServer[]>>;
  /** connect_p2p's p2p_allowed for both sides (default true). */
  p2pAllowed?: boolean;
}

/** What the pair saw, for assertions. Times are Node's `performance.now()`. */
export interface PairObservations {
  callerFingerprint?: bigint;
  calleeFingerprint?: bigint;
  gAHash?: Uint8Array;
  gA?: Uint8Array;
  emojis: Partial<Record<CallSide, string>>;
  remoteSources: Record<CallSide, Array<{ device: string; state: string }>>;
  /** Node got the caller's `confirm`: DH done, the caller is calling connect_p2p. */
  confirmAt?: number;
  /** Node got the caller's `started`: its connect_p2p returned. */
  callerStartedAt?: number;
  connectedAt: Partial<Record<CallSide, number>>;
  /** Errors from the relay or from the peers' `error` events. */
  errors: string[];
}

export interface NtgcallsPair {
  readonly tg: FakeTelegram;
  readonly caller: NtgcallsPeer;
  readonly callee: NtgcallsPeer;
  readonly seen: PairObservations;
  readonly recordings: Record<CallSide, string>;
  /** Both sides CONNECTED (each bounded by `timeoutMs`). */
  connected(timeoutMs?: number): Promise<void>;
  /** `by` discards the call; the other side hangs up on phoneCallDiscarded. Both reports. */
  hangup(by?: CallSide, timeoutMs?: number): Promise<Record<CallSide, PeerReport>>;
  /** Kills whatever is still running. Idempotent. */
  close(): Promise<void>;
}

export async function startNtgcallsPair(options: PairOptions): Promise<NtgcallsPair> {
  const label = options.label ?? `${options.callerVersion}-${options.calleeVersion}-${options.key}`;
  const recordings = {
    caller: join(options.dir, `${label}-caller.raw`),
    callee: join(options.dir, `${label}-callee.raw`),
  };
  const common = { verbose: options.verbose ?? false, ...(options.logger ? { logger: options.logger } : {}) };
  const started = await Promise.allSettled([
    NtgcallsPeer.start({ ...common, netns: options.netns, version: options.callerVersion, name: `caller(${options.callerVersion})` }),
    NtgcallsPeer.start({ ...common, netns: options.calleeNetns ?? options.netns, version: options.calleeVersion, name: `callee(${options.calleeVersion})` }),
  ]);
  const [first, second] = started;
  if (first?.status !== 'fulfilled' || second?.status !== 'fulfilled') {
    // Never leave one phone running because the other failed to start.
    await Promise.all(started.map((r) => (r.status === 'fulfilled' ? r.value.close() : undefined)));
    const failure = started.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    throw failure.reason;
  }
  const caller = first.value;
  const callee = second.value;
  const peers: Record<CallSide, NtgcallsPeer> = { caller, callee };
  const tg = new FakeTelegram();
  const seen: PairObservations = { emojis: {}, remoteSources: { caller: [], callee: [] }, connectedAt: {}, errors: [] };
  const detach: Array<() => void> = [];

  for (const side of ['caller', 'callee'] as const) {
    const peer = peers[side];
    detach.push(attachNtgcallsPeer(tg, side, peer, (err) => seen.errors.push(`relay(${side}): ${String(err)}`)));
    peer.on('emojis', (e) => {
      seen.emojis[side] = e.emojis;
    });
    peer.on('remote_source', (r) => seen.remoteSources[side].push({ device: r.device, state: r.state }));
    peer.on('state', (s) => {
      if (s.state === 'CONNECTED' && seen.connectedAt[side] === undefined) seen.connectedAt[side] = performance.now();
    });
    peer.on('peer_error', (e) => seen.errors.push(`${side}: ${e.where}: ${e.type}: ${e.message}`));
  }
  caller.on('started', () => {
    seen.callerStartedAt ??= performance.now();
  });
  caller.on('request', (r) => {
    seen.gAHash = r.gAHash;
  });
  caller.on('confirm', (c) => {
    seen.confirmAt ??= performance.now();
    seen.callerFingerprint = c.fingerprint;
    seen.gA = c.gA;
  });
  callee.on('keyed', (k) => {
    seen.calleeFingerprint = k.fingerprint;
  });
  // phoneCallDiscarded: the side that did not hang up ends its call too.
  tg.on('discarded', ({ by }) => {
    const other = peers[by === 'caller' ? 'callee' : 'caller'];
    other.hangup().catch((err: unknown) => seen.errors.push(`hangup on discard: ${String(err)}`));
  });

  const base = {
    toneSeconds: options.toneSeconds ?? 5,
    maxLifetimeS: options.maxLifetimeS ?? 60,
    ...(options.probes ? ({ capture: 'bursts', playback: 'timed' } as const) : {}),
    ...(options.versions ? { versions: options.versions } : {}),
    ...(options.p2pAllowed !== undefined ? { p2pAllowed: options.p2pAllowed } : {}),
  };
  const servers = (side: CallSide): Pick<PeerInit, 'servers'> => {
    const list = options.servers?.[side];
    return list ? { servers: list } : {};
  };
  try {
    if (options.key === 'dh') {
      callee.init({ ...base, ...servers('callee'), role: 'callee', uid: 2, toneHz: options.calleeHz ?? 880, rxPath: recordings.callee, dh: tg.getDhConfig() });
      // The caller's `request` starts the exchange; FakeTelegram carries it on from there.
      caller.init({ ...base, ...servers('caller'), role: 'caller', uid: 1, toneHz: options.callerHz ?? 440, rxPath: recordings.caller, dh: tg.getDhConfig() });
    } else {
      const key = new Uint8Array(randomBytes(256));
      callee.init({ ...base, ...servers('callee'), role: 'callee', uid: 2, toneHz: options.calleeHz ?? 880, rxPath: recordings.callee });
      caller.init({ ...base, ...servers('caller'), role: 'caller', uid: 1, toneHz: options.callerHz ?? 440, rxPath: recordings.caller });
      caller.skipKey(key, true);
      callee.skipKey(key, false);
    }
  } catch (err) {
    await Promise.all([caller.close(), callee.close()]);
    throw err;
  }

  const close = async (): Promise<void> => {
    for (const off of detach.splice(0)) off();
    tg.removeAllListeners();
    await Promise.all([caller.close(), callee.close()]);
  };

  return {
    tg,
    caller,
    callee,
    seen,
    recordings,
    async connected(timeoutMs = 12_000) {
      await Promise.all([caller.waitForState('CONNECTED', timeoutMs), callee.waitForState('CONNECTED', timeoutMs)]);
    },
    async hangup(by: CallSide = 'caller', timeoutMs = 10_000) {
      const other = peers[by === 'caller' ? 'callee' : 'caller'];
      // The app stops its engine, then tells Telegram; the other phone stops on the update.
      // Never both at once: ntgcalls 2.2.5 aborts ("Pure virtual function called") in a few
      // percent of calls when both ends stop() within milliseconds of each other.
      const mine = await peers[by].hangup(timeoutMs);
      const otherReport = other.report ? Promise.resolve(other.report) : other.waitFor('report', undefined, timeoutMs);
      tg.discardCall(by);
      const theirs = await otherReport;
      await other.waitExit(timeoutMs);
      return by === 'caller' ? { caller: mine, callee: theirs } : { caller: theirs, callee: mine };
    },
    close,
  };
}
