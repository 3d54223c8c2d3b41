/**
 * An ntgcalls peer process as a user of the in-process fake Telegram (src/fake): the bridge does
 * what a Telegram client application around ntgcalls does (py-tgcalls' P2P flow) — it talks
 * MTProto to the fake server with real GramJS `Api` objects and moves the DH values and signaling
 * blobs between the server and ntgcalls. So a tgcall `TelegramCalls` on the same fake server calls
 * ntgcalls (or is called by it) exactly as it would call an official app.
 */
import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Api } from 'telegram';
import type { FakeClient } from '../../src/fake/index.js';
import { buildInputPhoneCall, buildRequest, decodeDhConfig, decodePhoneCallResult, decodePhoneUpdate, unwrapUpdates } from '../../src/signaling/index.js';
import type { NtgcallsPeer, PeerInit, PeerReport } from './ntgcalls-peer.js';

export interface NtgcallsPhoneOptions {
  readonly peer: NtgcallsPeer;
  readonly client: FakeClient;
  /** What this phone advertises in phoneCallProtocol.library_versions (and gives ntgcalls). */
  readonly versions: string[];
  readonly toneHz: number;
  readonly toneSeconds?: number;
  /** Raw s16le 48 kHz mono recording of what ntgcalls receives. */
  readonly rxPath: string;
  /** Answer incoming calls at once (default true). */
  readonly autoAnswer?: boolean;
  /**
   * What the app hands connect_p2p from `phoneCall.connections` / `p2p_allowed` / `custom_parameters`
   * (default: no server, p2p allowed). A test gives the same servers the fake Telegram hands out.
   */
  readonly network?: Pick<PeerInit, 'servers' | 'p2pAllowed' | 'customParameters'>;
  /** Send and record the latency probes instead of the tone (ntgcalls-peer.ts `capture`/`playback`). */
  readonly probes?: boolean;
  /** Lifetime bound and stats period of the ntgcalls process (defaults 60 s and 1 s). */
  readonly process?: Pick<PeerInit, 'maxLifetimeS' | 'statsIntervalS'>;
}

export interface NtgcallsPhoneEvents {
  /** The call reached phoneCall (keys agreed on the server's side). */
  keyed: [];
  discarded: [reason: string | undefined];
  error: [error: Error];
}

const PROTOCOL_BASE = { udpP2p: true, udpReflector: true, minLayer: 65, maxLayer: 92 };

export class NtgcallsPhone extends EventEmitter<NtgcallsPhoneEvents> {
  readonly peer: NtgcallsPeer;
  private readonly client: FakeClient;
  private readonly options: NtgcallsPhoneOptions;
  private readonly unsubscribe: () => void;
  private call: { id: bigint; accessHash: bigint } | undefined;
  private role: 'caller' | 'callee' | undefined;
  private startedAt = 0;
  private ended = false;
  /** Signaling updates that arrived before the call id was known. */
  private early: Uint8Array[] = [];
  readonly errors: string[] = [];

  constructor(options: NtgcallsPhoneOptions) {
    super();
    this.options = options;
    this.peer = options.peer;
    this.client = options.client;
    this.unsubscribe = this.client.onUpdate((raw) => {
      for (const item of unwrapUpdates(raw)) this.guard('update', () => this.onUpdate(item));
    });
    this.peer.on('signal', ({ data }) => this.guard('send signaling', () => this.sendSignaling(data)));
    this.peer.on('peer_error', (e) => this.errors.push(`ntgcalls ${e.where}: ${e.type}: ${e.message}`));
  }

  get protocol() {
    return { ...PROTOCOL_BASE, libraryVersions: this.options.versions };
  }

  /** ntgcalls places a call to `userId`: DH config → init (caller) → requestCall with its g_a_hash. */
  async placeCall(userId: bigint, accessHash: bigint | undefined): Promise<void> {
    this.role = 'caller';
    const dh = await this.dhConfig();
    const request = this.peer.waitFor('request', undefined, 10_000);
    this.peer.init({ role: 'caller', uid: 1, ...this.initCommon(), dh });
    const { gAHash } = await request;
    const result = await this.client.invoke(
      buildRequest(Api, { method: 'requestCall', userId, userAccessHash: accessHash, randomId: randomInt(0, 0x7fffffff), gAHash, protocol: this.protocol, video: false }),
    );
    const record = decodePhoneCallResult(result);
    if (record.kind === 'empty' || record.kind === 'discarded') throw new Error(`requestCall answered ${record.kind}`);
    this.call = { id: record.id, accessHash: record.accessHash };
    this.startedAt = Date.now();
    this.flushEarly();
  }

  /** ntgcalls hangs up first (stop), then the app tells Telegram (as py-tgcalls does) — also when ntgcalls died in its stop(). */
  async hangup(): Promise<PeerReport> {
    try {
      return await this.peer.hangup();
    } finally {
      await this.discard('hangup');
    }
  }

  close(): void {
    this.unsubscribe();
  }

  private async onUpdate(item: unknown): Promise<void> {
    const update = decodePhoneUpdate(item);
    if (!update) return;
    if (update.kind === 'signaling') {
      if (!this.call) this.early.push(update.data);
      else if (update.callId === this.call.id) this.peer.signal(update.data);
      return;
    }
    const call = update.call;
    if (call.kind === 'requested' && !this.call && this.role === undefined) {
      await this.onRequested(call.id, call.accessHash, call.gAHash);
      return;
    }
    if (!this.call || call.id !== this.call.id) return;
    switch (call.kind) {
      case 'accepted':
        if (this.role === 'caller') await this.onAccepted(call.gB);
        break;
      case 'call':
        if (this.role === 'callee') this.peer.confirm(call.gAOrB, call.keyFingerprint);
        this.emit('keyed');
        break;
      case 'discarded':
        if (!this.ended) {
          this.ended = true;
          // The other side ended the call: stop ntgcalls (its report carries the recording).
          await this.peer.hangup().catch(() => undefined);
        }
        this.emit('discarded', call.reason);
        break;
      default:
        break;
    }
  }

  private async onRequested(id: bigint, accessHash: bigint, gAHash: Uint8Array): Promise<void> {
    this.role = 'callee';
    this.call = { id, accessHash };
    this.startedAt = Date.now();
    await this.client.invoke(buildRequest(Api, { method: 'receivedCall', peer: this.call }));
    if (this.options.autoAnswer === false) return;
    const dh = await this.dhConfig();
    const accept = this.peer.waitFor('accept', undefined, 10_000);
    this.peer.init({ role: 'callee', uid: 2, ...this.initCommon(), dh });
    this.peer.request(gAHash);
    const { gB } = await accept;
    await this.client.invoke(buildRequest(Api, { method: 'acceptCall', peer: this.call, gB, protocol: this.protocol }));
    this.flushEarly();
  }

  private async onAccepted(gB: Uint8Array): Promise<void> {
    const confirm = this.peer.waitFor('confirm', undefined, 10_000);
    this.peer.accepted(gB);
    const { gA, fingerprint } = await confirm;
    const result = await this.client.invoke(
      buildRequest(Api, { method: 'confirmCall', peer: this.call!, gA, keyFingerprint: fingerprint, protocol: this.protocol }),
    );
    decodePhoneCallResult(result);
  }

  private initCommon(): Omit<PeerInit, 'role' | 'uid' | 'dh'> {
    const o = this.options;
    const probes = o.probes ? ({ capture: 'bursts', playback: 'timed' } as const) : {};
    return { versions: o.versions, toneHz: o.toneHz, toneSeconds: o.toneSeconds ?? 5, rxPath: o.rxPath, maxLifetimeS: 60, ...o.process, ...o.network, ...probes };
  }

  private async dhConfig(): Promise<{ g: number; p: Uint8Array; random: Uint8Array }> {
    const config = decodeDhConfig(await this.client.invoke(buildRequest(Api, { method: 'getDhConfig', version: 0, randomLength: 256 })));
    if (config.kind !== 'config') throw new Error('expected a full DH config');
    return { g: config.g, p: config.p, random: config.random };
  }

  private async sendSignaling(data: Uint8Array): Promise<void> {
    if (!this.call || this.ended) return;
    await this.client.invoke(new Api.phone.SendSignalingData({ peer: buildInputPhoneCall(Api, this.call), data: Buffer.from(data) }));
  }

  private async discard(reason: 'hangup' | 'missed' | 'busy' | 'disconnect'): Promise<void> {
    if (!this.call || this.ended) return;
    this.ended = true;
    const duration = Math.round((Date.now() - this.startedAt) / 1000);
    await this.client.invoke(buildRequest(Api, { method: 'discardCall', peer: this.call, duration, reason, video: false }));
  }

  private flushEarly(): void {
    const early = this.early.splice(0);
    for (const data of early) this.peer.signal(data);
  }

  private guard(what: string, fn: () => unknown): void {
    try {
      const result = fn();
      if (result instanceof Promise) result.catch((err: unknown) => this.fail(what, err));
    } catch (err) {
      this.fail(what, err);
    }
  }

  private fail(what: string, err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    this.errors.push(`${what}: ${error.message}`);
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }
}
