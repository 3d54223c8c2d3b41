/**
 * Which way our MediaState goes, and when (transport-v2.md §2, §5). Sans-I/O: inputs and `now`
 * in, a `MediaStateRoute` (or nothing) out.
 *
 * - Nothing goes out before the transport first connected.
 * - The data channel is the path tgcalls uses. When it is open, the message is offered to it; a
 *   refusal means the caller-side libdatachannel race (the channel reports open yet throws "not
 *   open" on every send, for good): that message then goes over signaling, which tgcalls feeds
 *   to the same dispatcher (transport-v2-sources.md §1.4).
 * - When the channel is not open, delivery waits for it during a grace period after the first
 *   connection, then goes over signaling.
 * - Every change is delivered; a change while nothing is connected waits. When the channel opens,
 *   the current state is offered to it even if signaling already carried it (kept as verified).
 */
import { DEFAULT_MEDIA_STATE, type MediaState, type MediaStateMessage } from './messages.js';

export interface MediaStateRoute {
  readonly via: 'data-channel' | 'signaling';
  readonly message: MediaStateMessage;
}

export interface MediaStateDeliveryStats {
  viaDataChannel: number;
  viaSignaling: number;
}

export class MediaStateDelivery {
  readonly stats: MediaStateDeliveryStats = { viaDataChannel: 0, viaSignaling: 0 };
  private readonly graceMs: number;
  private current: MediaState = DEFAULT_MEDIA_STATE;
  /** Bumped on every change; a delivery counts for the version it carried. */
  private version = 0;
  private delivered = false;
  private connected = false;
  private channelOpen = false;
  private graceUntil: number | undefined;
  /** Data channel routes handed out and not answered yet (`sent`). */
  private offered: { version: number; message: MediaStateMessage }[] = [];

  constructor(graceMs: number) {
    this.graceMs = graceMs;
  }

  get state(): MediaState {
    return this.current;
  }

  /** End of the data channel grace, while it runs. */
  get deadline(): number | undefined {
    return this.graceUntil;
  }

  /** Merges a change; a route when it must go out now. */
  set(change: Partial<MediaState>): MediaStateRoute | undefined {
    const next: MediaState = { ...this.current, ...change };
    const changed = (Object.keys(DEFAULT_MEDIA_STATE) as (keyof MediaState)[]).some((k) => next[k] !== this.current[k]);
    this.current = next;
    if (!changed) return undefined;
    this.version++;
    this.delivered = false;
    return this.route();
  }

  /** The transport is connected (the first time starts the grace). */
  connectedAt(now: number): MediaStateRoute | undefined {
    if (!this.connected) {
      this.connected = true;
      this.graceUntil = now + this.graceMs;
    }
    return this.delivered ? undefined : this.route();
  }

  channelOpened(): MediaStateRoute | undefined {
    this.channelOpen = true;
    return this.route();
  }

  channelClosed(): void {
    this.channelOpen = false;
  }

  /** The answer to a data channel route: false when the channel refused it (then: over signaling). */
  sent(ok: boolean): MediaStateRoute | undefined {
    const offered = this.offered.shift();
    if (!offered) return undefined;
    if (offered.version === this.version) this.delivered = true;
    if (ok) {
      this.stats.viaDataChannel++;
      return undefined;
    }
    this.stats.viaSignaling++;
    return { via: 'signaling', message: offered.message };
  }

  /** The grace is over at `now`: an undelivered state goes over signaling. */
  tick(now: number): MediaStateRoute | undefined {
    if (this.graceUntil === undefined || now < this.graceUntil) return undefined;
    this.graceUntil = undefined;
    return this.delivered ? undefined : this.route();
  }

  /** Nothing more goes out. */
  stop(): void {
    this.connected = false;
    this.graceUntil = undefined;
    this.offered = [];
  }

  private route(): MediaStateRoute | undefined {
    if (!this.connected) return undefined;
    const message: MediaStateMessage = { type: 'MediaState', ...this.current };
    if (this.channelOpen) {
      this.offered.push({ version: this.version, message });
      return { via: 'data-channel', message };
    }
    // Before the grace period ends, wait for the channel to open.
    if (this.graceUntil !== undefined) return undefined;
    this.stats.viaSignaling++;
    this.delivered = true;
    return { via: 'signaling', message };
  }
}
