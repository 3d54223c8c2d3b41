/**
 * Typed handle on one `tgcall-child.ts` process: a tgcall phone inside a network namespace,
 * attached to the in-process fake Telegram through its account's `FakeClient` (requests, results
 * and updates cross the child's stdin/stdout as TL bytes; no packet of the call does). Every wait
 * is bounded; `close()` always ends the process.
 */
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Api } from 'telegram';
import { tlBytes, tlParse, type FakeClient } from '../../src/fake/index.js';
import type { NetnsEnd } from './netns.js';

const CHILD = fileURLToPath(new URL('./tgcall-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const LOG_KEEP = 400;

export interface TgcallChildOptions {
  readonly end: Pick<NetnsEnd, 'spawn'>;
  /** Its account on the fake Telegram. */
  readonly client: FakeClient;
  readonly toneHz: number;
  /** The tone it listens for (the other phone's). */
  readonly listenHz: number;
  readonly name: string;
}

/** `Call.getStats()` as JSON (bigint as strings): what the tests read of it. */
export interface ChildCallStats {
  readonly state: string;
  readonly connection?: {
    readonly path?: { readonly kind: string; readonly local: string; readonly remote: string };
    readonly transport: {
      readonly network?: { readonly peerMoves: number; readonly dropped: Readonly<Record<string, number>>; readonly sendErrors: number };
    };
  };
}

export interface ChildEnded {
  readonly at: number;
  readonly reason: string;
  readonly by: string;
  readonly error?: { readonly code: string; readonly message: string };
}

interface ChildEvents {
  message: [Record<string, unknown>];
  exit: [];
}

export class TgcallChild extends EventEmitter<ChildEvents> {
  readonly name: string;
  /** info/warn/error records of the child's TelegramCalls, `at` first (bounded). */
  readonly logs: string[] = [];
  /** Set when its call ended. */
  ended: ChildEnded | undefined;
  connectedAt: number | undefined;
  private readonly child: ChildProcess;
  private readonly client: FakeClient;
  private readonly unsubscribe: () => void;
  private stderr = '';
  private nextId = 0;
  private exited = false;

  private constructor(child: ChildProcess, options: TgcallChildOptions) {
    super();
    this.child = child;
    this.client = options.client;
    this.name = options.name;
    child.stdin?.on('error', () => undefined);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => (this.stderr = (this.stderr + d).slice(-8000)));
    child.once('exit', () => {
      this.exited = true;
      this.emit('exit');
    });
    createInterface({ input: child.stdout!, crlfDelay: Infinity }).on('line', (line) => this.onLine(line));
    this.unsubscribe = this.client.onUpdate((update) => this.send({ op: 'update', data: tlBytes(update).toString('base64') }));
  }

  static async start(options: TgcallChildOptions): Promise<TgcallChild> {
    const args = ['--import', 'tsx', CHILD, options.client.userId.toString(), String(options.toneHz), String(options.listenHz)];
    const child = options.end.spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'], cwd: ROOT });
    const phone = new TgcallChild(child, options);
    try {
      await phone.waitFor((m) => m.ev === 'ready', 30_000, 'ready');
    } catch (err) {
      await phone.close();
      throw err;
    }
    return phone;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Places a call to `userId` (its access hash as the fake knows it). */
  async call(userId: bigint): Promise<void> {
    const { accessHash } = await this.client.resolveUser(userId);
    await this.request({ op: 'call', userId: userId.toString(), accessHash: String(accessHash ?? 0n) });
  }

  async stats(): Promise<ChildCallStats> {
    return (await this.request({ op: 'stats' })).stats as ChildCallStats;
  }

  /** 100 ms windows after `since` (Date.now() ms): [end time, 1 if the other phone's tone dominated]. */
  async heard(since: number): Promise<[number, number][]> {
    return (await this.request({ op: 'heard', since })).windows as [number, number][];
  }

  async hangup(): Promise<{ reason?: string; by?: string }> {
    return (await this.request({ op: 'hangup' }, 15_000)) as { reason?: string; by?: string };
  }

  waitConnected(timeoutMs = 20_000): Promise<unknown> {
    if (this.connectedAt !== undefined) return Promise.resolve();
    return this.waitFor((m) => m.ev === 'connected', timeoutMs, 'connected');
  }

  waitEnded(timeoutMs = 15_000): Promise<ChildEnded> {
    if (this.ended) return Promise.resolve(this.ended);
    return this.waitFor((m) => m.ev === 'ended', timeoutMs, 'ended').then(() => this.ended!);
  }

  /** Freezes (SIGSTOP) or thaws (SIGCONT) the whole process: the phone falls silent, its address unchanged. */
  signal(sig: 'SIGSTOP' | 'SIGCONT'): void {
    if (this.child.pid !== undefined && !this.exited) process.kill(this.child.pid, sig);
  }

  /** Asks the child to stop its phone and exit; then SIGTERM, then SIGKILL, each bounded. Idempotent. */
  async close(): Promise<void> {
    this.unsubscribe();
    if (this.exited) return;
    this.signal('SIGCONT');
    this.send({ op: 'exit' });
    this.child.stdin?.end();
    for (const sig of [undefined, 'SIGTERM', 'SIGKILL'] as const) {
      if (sig) this.child.kill(sig);
      if (await this.exitWithin(sig === 'SIGKILL' ? 2_000 : 4_000)) return;
    }
  }

  private exitWithin(ms: number): Promise<boolean> {
    if (this.exited) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.once('exit', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  private async request(msg: Record<string, unknown>, timeoutMs = 10_000): Promise<Record<string, unknown>> {
    const id = ++this.nextId;
    const reply = this.waitFor((m) => m.ev === 'reply' && m.id === id, timeoutMs, `reply to ${String(msg.op)}`);
    this.send({ ...msg, id });
    const got = await reply;
    if (typeof got.error === 'string') throw new Error(`${this.name} ${String(msg.op)}: ${got.error}`);
    return got;
  }

  private waitFor(match: (m: Record<string, unknown>) => boolean, timeoutMs: number, what: string): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.off('message', onMessage);
        this.off('exit', onExit);
      };
      const onMessage = (m: Record<string, unknown>): void => {
        if (!match(m)) return;
        done();
        resolve(m);
      };
      const onExit = (): void => {
        done();
        reject(new Error(`${this.name} exited while waiting for ${what}${this.diagnostics()}`));
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name}: no ${what} within ${timeoutMs} ms${this.diagnostics()}`));
      }, timeoutMs);
      this.on('message', onMessage);
      this.on('exit', onExit);
      if (this.exited) onExit();
    });
  }

  diagnostics(): string {
    return `\n  log: ${this.logs.slice(-12).join('\n       ')}\n  stderr: ${this.stderr.slice(-1500)}`;
  }

  private send(msg: Record<string, unknown>): void {
    const stdin = this.child.stdin;
    if (this.exited || !stdin || stdin.destroyed || stdin.writableEnded) return;
    stdin.write(`${JSON.stringify(msg)}\n`);
  }

  private onLine(line: string): void {
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(line) as Record<string, unknown>;
    } catch {
      this.stderr += `[stdout] ${line}\n`;
      return;
    }
    switch (m.ev) {
      case 'rpc':
        void this.forward(Number(m.id), String(m.data));
        break;
      case 'connected':
        this.connectedAt ??= Number(m.at);
        break;
      case 'ended':
        this.ended = m as unknown as ChildEnded;
        this.note(`ended ${String(m.reason)} by ${String(m.by)}${m.error ? ` ${JSON.stringify(m.error)}` : ''}`, Number(m.at));
        break;
      case 'log':
        this.note(`${String(m.level)} [${String(m.scope)}] ${String(m.message)} ${m.fields ? JSON.stringify(m.fields) : ''}`, Number(m.at));
        break;
    }
    this.emit('message', m);
  }

  private note(text: string, at: number): void {
    this.logs.push(`${at} ${text}`);
    if (this.logs.length > LOG_KEEP) this.logs.shift();
  }

  /** One request of the child's, to the fake Telegram and back. */
  private async forward(id: number, data: string): Promise<void> {
    try {
      const request = tlParse(Buffer.from(data, 'base64')) as Api.AnyRequest;
      const result = await this.client.invoke(request);
      this.send({ op: 'rpc-result', id, data: tlBytes(result).toString('base64') });
    } catch (err) {
      const e = err as { message?: unknown; errorMessage?: unknown; code?: unknown };
      this.send({ op: 'rpc-error', id, message: String(e.message), ...(typeof e.errorMessage === 'string' ? { errorMessage: e.errorMessage, code: e.code } : {}) });
    }
  }
}
