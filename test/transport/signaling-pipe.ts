/**
 * Test pipe for the plaintext JSON signaling between two CallTransports: delivers asynchronously,
 * in order by default, and can hold messages of chosen types to release them later (reordering,
 * e.g. candidates and the offer before InitialSetup, as ntgcalls does) or drop everything.
 */
import { decodeSignalingMessage, type SignalingMessage } from '../../src/transport/messages.js';
import type { CallTransport } from '../../src/transport/call-transport.js';

export interface PipeOptions {
  /** Message types to hold back until `release()`, from both sides or from one (`a:Candidates`). */
  hold?: string[];
  /** Delay of every delivery, ms (0 = next macrotask). */
  delayMs?: number;
  /** Deliver nothing at all. */
  drop?: boolean;
}

export class SignalingPipe {
  readonly log: { from: 'a' | 'b'; type: string; message?: SignalingMessage }[] = [];
  private held: (() => void)[] = [];
  private timers = new Set<NodeJS.Timeout>();
  private holding: Set<string>;

  constructor(a: CallTransport, b: CallTransport, private readonly options: PipeOptions = {}) {
    this.holding = new Set(options.hold ?? []);
    a.on('signaling', (p) => this.forward('a', p, b));
    b.on('signaling', (p) => this.forward('b', p, a));
  }

  /** Delivers the held messages (in their original order) and stops holding. */
  release(): void {
    this.holding.clear();
    const held = this.held;
    this.held = [];
    for (const deliver of held) deliver();
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.held = [];
  }

  private forward(from: 'a' | 'b', payload: Uint8Array, to: CallTransport): void {
    const r = decodeSignalingMessage(payload);
    const type = r.kind === 'message' ? r.message.type : 'undecodable';
    this.log.push(r.kind === 'message' ? { from, type, message: r.message } : { from, type });
    if (this.options.drop) return;
    const copy = Uint8Array.from(payload);
    const deliver = (): void => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        to.receiveSignaling(copy);
      }, this.options.delayMs ?? 0);
      this.timers.add(t);
    };
    if (this.holding.has(type) || this.holding.has(`${from}:${type}`)) this.held.push(deliver);
    else deliver();
  }
}
