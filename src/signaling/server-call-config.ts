/**
 * The call timeouts the server hands out in `help.getConfig` (`call_receive_timeout_ms`,
 * `call_ring_timeout_ms`, `call_connect_timeout_ms`, `call_packet_timeout_ms`), read once per
 * account and kept until the config's `expires`. tdesktop and TDLib take these from the config
 * (tdesktop `Call::startOutgoing` / `createAndStartController`, official-clients.md §5); the
 * constants of call-timeouts.ts stay the fallback.
 *
 * A call never waits long for it: the fetch starts with `PhoneCalls.start()`, an outgoing call
 * waits at most `waitMs` for a fetch still under way, an incoming call uses what is known. A
 * failed fetch is retried no sooner than `retryMs` later.
 */
import { toError } from '../errors.js';
import type { Logger } from '../logger.js';
import { isTlObject } from './mtproto.js';

/** The server's values, in ms; a field the server did not give (or gave out of range) is absent. */
export interface ServerCallTimeouts {
  readonly receiveMs?: number;
  readonly ringMs?: number;
  readonly connectMs?: number;
  /**
   * `call_packet_timeout_ms`: read and reported, not applied. Only the legacy libtgvoip engine
   * uses it; InstanceV2 keeps its own fixed timer (official-clients.md §3), and tgcall's path
   * watch (silence, then the reconnect deadline) plays that part.
   */
  readonly packetMs?: number;
}

const MAX_MS = 24 * 3600 * 1000;

/** The four values out of a GramJS `Config`; undefined when `value` is not one. */
export function decodeServerCallTimeouts(value: unknown): { timeouts: ServerCallTimeouts; expires: number | undefined } | undefined {
  if (!isTlObject(value) || value.className !== 'Config') return undefined;
  const ms = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= MAX_MS ? v : undefined);
  const timeouts: Record<string, number> = {};
  const fields = [
    ['receiveMs', value.callReceiveTimeoutMs],
    ['ringMs', value.callRingTimeoutMs],
    ['connectMs', value.callConnectTimeoutMs],
    ['packetMs', value.callPacketTimeoutMs],
  ] as const;
  for (const [key, raw] of fields) {
    const v = ms(raw);
    if (v !== undefined) timeouts[key] = v;
  }
  const expires = typeof value.expires === 'number' && Number.isFinite(value.expires) ? value.expires * 1000 : undefined;
  return { timeouts: timeouts as ServerCallTimeouts, expires };
}

export interface ServerCallConfigOptions {
  /** Performs help.getConfig. */
  readonly fetch: () => Promise<unknown>;
  readonly now: () => number;
  readonly logger: Logger;
  /** Longest an outgoing call waits for a fetch under way. */
  readonly waitMs: number;
  /** After a failed fetch, how long before another is tried. */
  readonly retryMs: number;
}

export interface ServerCallConfigStats {
  fetches: number;
  failures: number;
  /** Outgoing calls that went ahead with the fallback because the fetch took longer than `waitMs`. */
  waitsCut: number;
}

/** One account's cache of the server's call timeouts. */
export class ServerCallConfig {
  readonly stats: ServerCallConfigStats = { fetches: 0, failures: 0, waitsCut: 0 };
  private value: ServerCallTimeouts | undefined;
  private expiresAt: number | undefined;
  private retryAt = 0;
  private inFlight: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: ServerCallConfigOptions) {}

  /** What is known now (possibly stale: still nearer the truth than the constants). */
  get current(): ServerCallTimeouts | undefined {
    return this.value;
  }

  /** Starts a fetch when nothing fresh is known and none is under way. Never throws. */
  refresh(): void {
    if (this.closed || this.inFlight) return;
    const now = this.options.now();
    const fresh = this.value !== undefined && (this.expiresAt === undefined || now < this.expiresAt);
    if (fresh || now < this.retryAt) return;
    this.stats.fetches++;
    this.inFlight = Promise.resolve()
      .then(() => this.options.fetch())
      .then((result) => {
        const decoded = decodeServerCallTimeouts(result);
        if (!decoded) throw new TypeError('help.getConfig did not answer a Config');
        this.value = decoded.timeouts;
        this.expiresAt = decoded.expires;
        this.options.logger.debug('server call timeouts', { ...decoded.timeouts });
      })
      .catch((err: unknown) => {
        this.stats.failures++;
        this.retryAt = this.options.now() + this.options.retryMs;
        this.options.logger.info('help.getConfig failed: call timeouts stay at their defaults', { error: toError(err).message });
      })
      .finally(() => {
        this.inFlight = undefined;
      });
  }

  /** `refresh()`, then waits at most `waitMs` for the fetch; resolves with what is known. */
  async settle(): Promise<ServerCallTimeouts | undefined> {
    this.refresh();
    const pending = this.inFlight;
    if (!pending) return this.value;
    let timer: NodeJS.Timeout | undefined;
    const cut = new Promise<'cut'>((resolve) => {
      timer = setTimeout(() => resolve('cut'), this.options.waitMs);
    });
    try {
      if ((await Promise.race([pending, cut])) === 'cut') this.stats.waitsCut++;
    } finally {
      clearTimeout(timer);
    }
    return this.value;
  }

  /** Later fetches are not started; one under way finishes by itself. */
  close(): void {
    this.closed = true;
  }
}
