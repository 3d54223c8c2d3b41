/**
 * Typed handle on one `ntgcalls_peer.py` process: ntgcalls as "the other phone". Ops are methods,
 * events come out of a typed EventEmitter and `waitFor`. Every wait is bounded; `close()` always
 * ends the process. The JSON-lines protocol is documented in ntgcalls_peer.py.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createInterface } from 'node:readline';
import { toError } from '../../src/errors.js';
import { InteropError } from './interop-error.js';
import { silentLogger, type Logger } from '../../src/logger.js';
import type { Netns } from './netns.js';
import { peerScript, venvPython, type NtgcallsVersion } from './prereqs.js';

export type PeerRole = 'caller' | 'callee';
/** ntgcalls `ConnectionState` names. */
export type PeerConnectionState = 'CONNECTING' | 'CONNECTED' | 'FAILED' | 'TIMEOUT' | 'CLOSED';

export interface NtgcallsPeerOptions {
  version: NtgcallsVersion;
  /** Spawn inside this namespace (a `Netns`, or one end of a `NetnsPair`); omitted = the test's own namespace. */
  netns?: Pick<Netns, 'spawn'>;
  /** Label used in error messages. */
  name?: string;
  /** ntgcalls/webrtc DEBUG logs (decrypted signaling JSON) on the peer's stderr. */
  verbose?: boolean;
  /** Receives the peer's stderr lines at debug level. */
  logger?: Logger;
  /** Bound for the process to start and print `ready` (default 15 s). */
  startTimeoutMs?: number;
}

/** One ntgcalls `RTCServer`. With `peerTag` ntgcalls makes it a Telegram reflector (reflector.md §1). */
export interface PeerRtcServer {
  id: number;
  ipv4: string;
  ipv6?: string;
  port: number;
  username?: string;
  password?: string;
  turn?: boolean;
  stun?: boolean;
  tcp?: boolean;
  peerTag?: Uint8Array;
}

export interface PeerInit {
  role: PeerRole;
  /** ntgcalls' call key; any int64 that fits a JS number. Default 1. */
  uid?: number;
  /** Default ["9.0.0","8.0.0"]: V2 only (3.x would pick 12/13 = V3 if offered). */
  versions?: string[];
  toneHz: number;
  /** Length of the generated tone file (ntgcalls stops sending at its end). Default 5 s. */
  toneSeconds?: number;
  /** Where ntgcalls records what it receives: raw s16le, `sampleRate`, `channels`. */
  rxPath: string;
  tonePath?: string;
  sampleRate?: number;
  channels?: number;
  /** messages.getDhConfig result to use; omit for a `skipKey` call. */
  dh?: { g: number; p: Uint8Array; random?: Uint8Array };
  /** The peer ends itself after this long (default 60 s). */
  maxLifetimeS?: number;
  /** Period of unsolicited `stats` events once connected; 0 disables (default 1 s). */
  statsIntervalS?: number;
  /** Servers for connect_p2p (default none). */
  servers?: PeerRtcServer[];
  /** connect_p2p's p2p_allowed (default true). */
  p2pAllowed?: boolean;
  /** 3.x custom_parameters JSON (e.g. `{"network_standalone_reflectors":true}`); ignored by 2.2.x. */
  customParameters?: Record<string, unknown>;
  /**
   * Latency probes (latency_probe.py): 'bursts' sends test/helpers/tone-bursts.ts's signal in real
   * time, hand-over times in `<rxPath>.mouth`; 'timed' records what is played out with its times
   * in `<rxPath>.ear`. Default 'file' both (the tone file, the raw recording).
   */
  capture?: 'file' | 'bursts';
  playback?: 'file' | 'timed';
}

interface Timed {
  /** Peer-side ms since the peer process started. */
  tMs: number;
}
export interface PeerReady extends Timed {
  version: string;
  pid: number;
  libraryVersions: string[];
}
export interface PeerStats extends Timed {
  rxBytes: number;
  cpuS: number;
  captureS?: number;
  playbackS?: number;
}
export interface PeerReport extends Timed {
  reason: string;
  version: string;
  role: string;
  rxPath: string;
  rxBytes: number;
  rxSeconds: number;
  sampleRate: number;
  channels: number;
  cpuUserS: number;
  cpuSysS: number;
  cpuS: number;
  maxRssKb: number;
  /** connect_p2p start to CONNECTED, peer clock. */
  setupMs: number | null;
  finalState: string | null;
  /** Protocol version ntgcalls selected ("8.0.0" always for 2.2.x), null before connect. */
  selectedVersion: string | null;
  signalsIn: number;
  signalsOut: number;
  /** CONNECTED to report, and the CPU the process used in that span (absent if never connected). */
  callS?: number;
  callCpuS?: number;
}
export interface PeerErrorEvent extends Timed {
  where: string;
  type: string;
  message: string;
  id?: string;
}

export interface NtgcallsPeerEvents {
  ready: [PeerReady];
  request: [{ gAHash: Uint8Array } & Timed];
  accept: [{ gB: Uint8Array } & Timed];
  confirm: [{ gA: Uint8Array; fingerprint: bigint } & Timed];
  keyed: [{ fingerprint: bigint } & Timed];
  emojis: [{ emojis: string; source: string } & Timed];
  /** connect_p2p returned; `selectedVersion` is the protocol version ntgcalls logged choosing. */
  started: [{ connectP2pMs: number; queuedSignals: number; selectedVersion: string | null } & Timed];
  signal: [{ data: Uint8Array } & Timed];
  state: [{ state: PeerConnectionState; sinceConnectMs?: number } & Timed];
  remote_source: [{ device: string; state: string; ssrc: number } & Timed];
  muted: [{ muted: boolean; ok: boolean } & Timed];
  stream_end: [{ type: string; device: string } & Timed];
  stats: [PeerStats];
  report: [PeerReport];
  done: [{ id: string; op: string } & Timed];
  /** The peer's `error` event (renamed: an unhandled 'error' would throw in Node). */
  peer_error: [PeerErrorEvent];
  exit: [{ code: number | null; signal: string | null }];
}
type EventName = keyof NtgcallsPeerEvents;
type Payload<K extends EventName> = NtgcallsPeerEvents[K][0];

const STDERR_KEEP = 64 * 1024;
const HISTORY_KEEP = 200;
const DEFAULT_WAIT_MS = 10_000;

export class NtgcallsPeer extends EventEmitter<NtgcallsPeerEvents> {
  readonly name: string;
  readonly version: NtgcallsVersion;
  /** Every connection state seen, in order. */
  readonly states: PeerConnectionState[] = [];
  private readonly child: ChildProcess;
  private readonly logger: Logger;
  private stderr = '';
  private readonly history: string[] = [];
  private exitInfo: { code: number | null; signal: string | null } | null = null;
  private readonly exited: Promise<void>;
  private nextId = 0;
  private lastReport: PeerReport | null = null;

  private constructor(child: ChildProcess, options: NtgcallsPeerOptions) {
    super();
    this.child = child;
    this.version = options.version;
    this.name = options.name ?? `ntgcalls-${options.version}`;
    this.logger = options.logger ?? silentLogger;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        this.safeEmit('exit', { code, signal });
        resolve();
      });
      child.once('error', (err) => {
        this.stderr += `\n[spawn error] ${err.message}`;
        if (!this.exitInfo) {
          this.exitInfo = { code: null, signal: null };
          this.safeEmit('exit', this.exitInfo);
        }
        resolve();
      });
    });
    child.stdin?.on('error', () => {
      // EPIPE after the peer exited: surfaced through `exit`, not as a crash.
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-STDERR_KEEP);
      for (const line of chunk.split('\n')) if (line) this.logger.debug(`${this.name}: ${line}`);
    });
    if (child.stdout) {
      const lines = createInterface({ input: child.stdout, crlfDelay: Infinity });
      lines.on('line', (line) => this.onLine(line));
    }
  }

  /** Spawns the peer (inside `options.netns` if given) and waits for its `ready` event. */
  static async start(options: NtgcallsPeerOptions): Promise<NtgcallsPeer> {
    const args = ['-u', peerScript(), ...(options.verbose ? ['-v'] : [])];
    const python = venvPython(options.version);
    const stdio = ['pipe', 'pipe', 'pipe'] as const;
    const child = options.netns
      ? options.netns.spawn(python, args, { stdio: [...stdio] })
      : spawn(python, args, { stdio: [...stdio] });
    const peer = new NtgcallsPeer(child, options);
    try {
      await peer.waitFor('ready', undefined, options.startTimeoutMs ?? 15_000);
    } catch (err) {
      await peer.close();
      throw err;
    }
    return peer;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get exitCode(): number | null | undefined {
    return this.exitInfo ? this.exitInfo.code : undefined;
  }

  /** The last `report` event, if any arrived. */
  get report(): PeerReport | null {
    return this.lastReport;
  }

  /** The peer's stderr (last 64 KiB), for failure messages. */
  stderrTail(chars = 4000): string {
    return this.stderr.slice(-chars);
  }

  // ---- ops ----

  /** Creates the call, the tone file and the capture source; a DH caller then emits `request`. */
  init(init: PeerInit): void {
    const msg: Record<string, unknown> = {
      op: 'init',
      role: init.role,
      uid: init.uid ?? 1,
      versions: init.versions ?? ['9.0.0', '8.0.0'],
      tone_hz: init.toneHz,
      tone_seconds: init.toneSeconds ?? 5,
      rx_path: init.rxPath,
      sample_rate: init.sampleRate ?? 48000,
      channels: init.channels ?? 1,
      max_lifetime_s: init.maxLifetimeS ?? 60,
      stats_interval_s: init.statsIntervalS ?? 1,
    };
    if (init.tonePath) msg.tone_path = init.tonePath;
    if (init.servers) {
      msg.servers = init.servers.map((x) => ({
        id: x.id,
        ipv4: x.ipv4,
        ipv6: x.ipv6 ?? '',
        port: x.port,
        username: x.username ?? null,
        password: x.password ?? null,
        turn: x.turn ?? true,
        stun: x.stun ?? false,
        tcp: x.tcp ?? false,
        peer_tag: x.peerTag ? b64(x.peerTag) : null,
      }));
    }
    if (init.p2pAllowed !== undefined) msg.p2p_allowed = init.p2pAllowed;
    if (init.customParameters) msg.custom_parameters = init.customParameters;
    if (init.capture) msg.capture = init.capture;
    if (init.playback) msg.playback = init.playback;
    if (init.dh) {
      msg.g = init.dh.g;
      msg.p = b64(init.dh.p);
      if (init.dh.random) msg.random = b64(init.dh.random);
    }
    this.send(msg);
  }

  /** Callee: phoneCallRequested arrived with `gAHash`; the peer answers with `accept`. */
  request(gAHash: Uint8Array): void {
    this.send({ op: 'request', g_a_hash: b64(gAHash) });
  }

  /** Caller: phoneCallAccepted arrived with `gB`; the peer answers with `confirm` and connects. */
  accepted(gB: Uint8Array): void {
    this.send({ op: 'accepted', g_b: b64(gB) });
  }

  /** Callee: phoneCall arrived with the caller's `gA` and fingerprint; the peer checks and connects. */
  confirm(gA: Uint8Array, fingerprint: bigint): void {
    this.send({ op: 'confirm', g_a: b64(gA), fingerprint: fingerprint.toString() });
  }

  /** DH-free call: `skip_exchange` with this 256-byte key, then connect. */
  skipKey(key: Uint8Array, outgoing?: boolean): void {
    if (key.length !== 256) throw new RangeError('skipKey needs exactly 256 bytes');
    const msg: Record<string, unknown> = { op: 'skip_key', key: b64(key) };
    if (outgoing !== undefined) msg.outgoing = outgoing;
    this.send(msg);
  }

  /** An incoming signaling blob (updatePhoneCallSignalingData.data). Queued by the peer until connected. */
  signal(data: Uint8Array): void {
    this.send({ op: 'signal', data: b64(data) });
  }

  mute(timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    return this.call('mute', {}, timeoutMs);
  }

  unmute(timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    return this.call('unmute', {}, timeoutMs);
  }

  /** Current rx bytes, CPU and streamed seconds. */
  async stats(timeoutMs = DEFAULT_WAIT_MS): Promise<PeerStats> {
    const next = this.waitFor('stats', undefined, timeoutMs);
    this.send({ op: 'stats' });
    return next;
  }

  /** Stops the call and waits for the report and the process exit. */
  async hangup(timeoutMs = DEFAULT_WAIT_MS): Promise<PeerReport> {
    if (this.lastReport) return this.lastReport;
    const report = this.waitFor('report', undefined, timeoutMs);
    this.send({ op: 'hangup' });
    const result = await report;
    await this.waitExit(timeoutMs);
    return result;
  }

  /** Ends the process: stdin EOF, then SIGTERM, then SIGKILL, each bounded. Idempotent. */
  async close(timeoutMs = 5_000): Promise<void> {
    if (this.exitInfo) return;
    this.child.stdin?.end();
    if (await this.exitWithin(timeoutMs / 2)) return;
    this.child.kill('SIGTERM');
    if (await this.exitWithin(timeoutMs / 4)) return;
    this.child.kill('SIGKILL');
    await this.exitWithin(timeoutMs / 4);
  }

  /** Writes one raw line to the peer's stdin (robustness tests: malformed input). */
  sendRawLine(line: string): void {
    const stdin = this.child.stdin;
    if (this.exitInfo || !stdin || stdin.destroyed || stdin.writableEnded) {
      throw new InteropError('INTEROP_PEER_EXITED', `${this.name}: cannot write, the peer is gone`);
    }
    stdin.write(line.endsWith('\n') ? line : `${line}\n`);
  }

  /** Closes the peer's stdin: the peer stops its call, reports and exits by itself. */
  endInput(): void {
    this.child.stdin?.end();
  }

  // ---- waiting ----

  /**
   * Resolves with the next `event` payload that satisfies `predicate`. Rejects on timeout and
   * when the process exits first (unless waiting for `exit`).
   */
  waitFor<K extends EventName>(
    event: K,
    predicate?: (payload: Payload<K>) => boolean,
    timeoutMs = DEFAULT_WAIT_MS,
  ): Promise<Payload<K>> {
    return new Promise<Payload<K>>((resolve, reject) => {
      const listener = (...args: NtgcallsPeerEvents[K]): void => {
        const payload = args[0];
        let match = true;
        try {
          match = predicate ? predicate(payload) : true;
        } catch (err) {
          finish();
          reject(toError(err));
          return;
        }
        if (!match) return;
        finish();
        resolve(payload);
      };
      const onExit = (): void => {
        finish();
        reject(
          new InteropError(
            'INTEROP_PEER_EXITED',
            `${this.name} exited (${JSON.stringify(this.exitInfo)}) while waiting for ${event}${this.diagnostics()}`,
          ),
        );
      };
      const timer = setTimeout(() => {
        finish();
        reject(new InteropError('INTEROP_TIMEOUT', `${this.name}: no ${event} within ${timeoutMs} ms${this.diagnostics()}`));
      }, timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        this.off(event, listener as never);
        this.off('exit', onExit);
      };
      this.on(event, listener as never);
      if (event !== 'exit') {
        if (this.exitInfo) {
          onExit();
          return;
        }
        this.on('exit', onExit);
      }
    });
  }

  /** Resolves once the connection reaches `state` (also if it already did); rejects on a terminal state. */
  async waitForState(state: PeerConnectionState, timeoutMs = 12_000): Promise<void> {
    if (this.states.includes(state)) return;
    const terminal = ['FAILED', 'TIMEOUT', 'CLOSED'];
    const seen = await this.waitFor('state', (s) => s.state === state || terminal.includes(s.state), timeoutMs);
    if (seen.state !== state) {
      throw new InteropError('INTEROP_STATE', `${this.name} reached ${seen.state} instead of ${state}${this.diagnostics()}`);
    }
  }

  /** Resolves true when the process has exited within `timeoutMs`. */
  waitExit(timeoutMs = DEFAULT_WAIT_MS): Promise<boolean> {
    return this.exitWithin(timeoutMs);
  }

  // ---- internals ----

  private async call(op: string, fields: Record<string, unknown>, timeoutMs: number): Promise<void> {
    this.nextId += 1;
    const id = `${op}-${this.nextId}`;
    const done = this.waitFor('done', (d) => d.id === id, timeoutMs);
    const failed = this.waitFor('peer_error', (e) => e.id === id, timeoutMs);
    this.send({ ...fields, op, id });
    try {
      await Promise.race([
        done,
        failed.then((e) => {
          throw new InteropError('INTEROP_PEER_OP', `${this.name} ${op} failed: ${e.type}: ${e.message}`);
        }),
      ]);
    } finally {
      // The loser of the race times out on its own; swallow that rejection.
      done.catch(() => {});
      failed.catch(() => {});
    }
  }

  private send(msg: Record<string, unknown>): void {
    const stdin = this.child.stdin;
    if (this.exitInfo || !stdin || stdin.destroyed || stdin.writableEnded) {
      throw new InteropError('INTEROP_PEER_EXITED', `${this.name}: cannot send ${String(msg.op)}, the peer is gone${this.diagnostics()}`);
    }
    stdin.write(JSON.stringify(msg) + '\n');
  }

  private exitWithin(timeoutMs: number): Promise<boolean> {
    if (this.exitInfo) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      void this.exited.then(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  private diagnostics(): string {
    return `\n  recent events: ${this.history.slice(-15).join(' ')}\n  stderr tail:\n${this.stderrTail(2000)}`;
  }

  private onLine(line: string): void {
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      this.protocolError(`stdout line is not JSON: ${line.slice(0, 200)}`);
      return;
    }
    try {
      this.dispatch(raw);
    } catch (err) {
      this.protocolError(`bad event ${line.slice(0, 200)}: ${toError(err).message}`);
    }
  }

  private protocolError(message: string): void {
    this.safeEmit('peer_error', { where: 'wrapper', type: 'ProtocolError', message, tMs: 0 });
  }

  private dispatch(raw: unknown): void {
    if (typeof raw !== 'object' || raw === null) throw new Error('not an object');
    const m = raw as Record<string, unknown>;
    const ev = str(m, 'ev');
    const tMs = num(m, 't_ms');
    this.history.push(ev === 'state' ? `state:${String(m.state)}` : ev);
    if (this.history.length > HISTORY_KEEP) this.history.shift();
    switch (ev) {
      case 'ready':
        this.safeEmit('ready', {
          tMs,
          version: str(m, 'version'),
          pid: num(m, 'pid'),
          libraryVersions: strList(m, 'library_versions'),
        });
        return;
      case 'request':
        this.safeEmit('request', { tMs, gAHash: bytes(m, 'g_a_hash') });
        return;
      case 'accept':
        this.safeEmit('accept', { tMs, gB: bytes(m, 'g_b') });
        return;
      case 'confirm':
        this.safeEmit('confirm', { tMs, gA: bytes(m, 'g_a'), fingerprint: int64(m, 'fingerprint') });
        return;
      case 'keyed':
        this.safeEmit('keyed', { tMs, fingerprint: int64(m, 'fingerprint') });
        return;
      case 'emojis':
        this.safeEmit('emojis', { tMs, emojis: str(m, 'emojis'), source: str(m, 'source') });
        return;
      case 'started':
        this.safeEmit('started', {
          tMs,
          connectP2pMs: num(m, 'connect_p2p_ms'),
          queuedSignals: num(m, 'queued_signals'),
          selectedVersion: typeof m.selected_version === 'string' ? m.selected_version : null,
        });
        return;
      case 'signal':
        this.safeEmit('signal', { tMs, data: bytes(m, 'data') });
        return;
      case 'state': {
        const state = str(m, 'state') as PeerConnectionState;
        this.states.push(state);
        const payload: Payload<'state'> = { tMs, state };
        if (typeof m.since_connect_ms === 'number') payload.sinceConnectMs = m.since_connect_ms;
        this.safeEmit('state', payload);
        return;
      }
      case 'remote_source':
        this.safeEmit('remote_source', { tMs, device: str(m, 'device'), state: str(m, 'state'), ssrc: num(m, 'ssrc') });
        return;
      case 'muted':
        this.safeEmit('muted', { tMs, muted: m.muted === true, ok: m.ok === true });
        return;
      case 'stream_end':
        this.safeEmit('stream_end', { tMs, type: str(m, 'type'), device: str(m, 'device') });
        return;
      case 'stats': {
        const stats: PeerStats = { tMs, rxBytes: num(m, 'rx_bytes'), cpuS: num(m, 'cpu_s') };
        if (typeof m.capture_s === 'number') stats.captureS = m.capture_s;
        if (typeof m.playback_s === 'number') stats.playbackS = m.playback_s;
        this.safeEmit('stats', stats);
        return;
      }
      case 'report': {
        const report: PeerReport = {
          tMs,
          reason: str(m, 'reason'),
          version: str(m, 'version'),
          role: str(m, 'role'),
          rxPath: str(m, 'rx_path'),
          rxBytes: num(m, 'rx_bytes'),
          rxSeconds: num(m, 'rx_seconds'),
          sampleRate: num(m, 'sample_rate'),
          channels: num(m, 'channels'),
          cpuUserS: num(m, 'cpu_user_s'),
          cpuSysS: num(m, 'cpu_sys_s'),
          cpuS: num(m, 'cpu_s'),
          maxRssKb: num(m, 'max_rss_kb'),
          setupMs: typeof m.setup_ms === 'number' ? m.setup_ms : null,
          finalState: typeof m.final_state === 'string' ? m.final_state : null,
          selectedVersion: typeof m.selected_version === 'string' ? m.selected_version : null,
          signalsIn: num(m, 'signals_in'),
          signalsOut: num(m, 'signals_out'),
        };
        if (typeof m.call_s === 'number') report.callS = m.call_s;
        if (typeof m.call_cpu_s === 'number') report.callCpuS = m.call_cpu_s;
        this.lastReport = report;
        this.safeEmit('report', report);
        return;
      }
      case 'done':
        this.safeEmit('done', { tMs, id: String(m.id), op: str(m, 'op') });
        return;
      case 'error': {
        const e: PeerErrorEvent = { tMs, where: str(m, 'where'), type: str(m, 'type'), message: str(m, 'message') };
        if (m.id !== undefined && m.id !== null) e.id = String(m.id);
        this.logger.warn(`${this.name} error`, { where: e.where, type: e.type, message: e.message });
        this.safeEmit('peer_error', e);
        return;
      }
      default:
        throw new Error(`unknown event ${ev}`);
    }
  }

  /** A throwing listener must not kill the stdout reader. */
  private safeEmit<K extends EventName>(event: K, payload: Payload<K>): void {
    try {
      (this.emit as (e: K, p: Payload<K>) => boolean)(event, payload);
    } catch (err) {
      this.logger.error(`${this.name}: listener for ${event} threw`, { error: toError(err).message });
    }
  }
}

function b64(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
}

function str(m: Record<string, unknown>, key: string): string {
  const v = m[key];
  if (typeof v !== 'string') throw new Error(`field ${key} is not a string`);
  return v;
}

function num(m: Record<string, unknown>, key: string): number {
  const v = m[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`field ${key} is not a number`);
  return v;
}

function strList(m: Record<string, unknown>, key: string): string[] {
  const v = m[key];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new Error(`field ${key} is not a string list`);
  return v as string[];
}

function bytes(m: Record<string, unknown>, key: string): Uint8Array {
  return new Uint8Array(Buffer.from(str(m, key), 'base64'));
}

/** int64 travels as a decimal string: JSON numbers lose precision past 2^53. */
function int64(m: Record<string, unknown>, key: string): bigint {
  const s = str(m, key);
  if (!/^-?\d{1,20}$/.test(s)) throw new Error(`field ${key} is not a decimal int64`);
  return BigInt(s);
}
