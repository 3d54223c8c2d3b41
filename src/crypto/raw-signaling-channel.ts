/**
 * Raw signaling framing (library version 7.0.0, and V3 = 12.0.0/13.0.0 with gzip): body =
 * be32(counter) || payload, no acks and no resends (call-crypto-and-signaling.md §5.2). One message
 * per packet; new messages decoded per second and bytes inflated are bounded like the acked
 * channel's (signaling-limits.ts), but a message over budget is lost: nothing here resends it
 * (in V3 the SCTP carrier below has already acked it). In V3 the payload is gzip'd JSON (§5.5).
 */
import { CryptoError } from '../errors.js';
import { readUint32BE, writeUint32BE } from './bytes.js';
import { MSG_KEY_SIZE, PacketCipher } from './packet-cipher.js';
import { ReplayWindow } from './replay-window.js';
import { compressSignalingPayload, decodeSignalingPayload } from './signaling-payload.js';
import { DEFAULT_SIGNALING_LIMITS, type SignalingLimits } from './signaling-limits.js';
import { TokenBucket } from './token-bucket.js';
import {
  copyStats,
  counterExhausted,
  decryptCounted,
  emptyStats,
  MAX_COUNTER,
  type ChannelOutput,
  type SignalingChannel,
  type SignalingChannelStats,
} from './signaling-channel.js';

export interface RawChannelOptions {
  key: Uint8Array;
  isOutgoing: boolean;
  limits?: Partial<Pick<SignalingLimits, 'incomingMessages' | 'inflate'>>;
  /** gzip every outgoing payload (V3 senders, level 9, §5.5). */
  compress?: boolean;
  /** Largest encrypted packet `send` produces (msg_key included); larger ones throw MESSAGE_TOO_LARGE. */
  maxPacketSize?: number;
}

export class RawSignalingChannel implements SignalingChannel {
  readonly mode = 'raw' as const;
  private readonly counters = emptyStats();
  readonly fatalError = undefined;
  private readonly cipher: PacketCipher;
  private readonly incoming = new ReplayWindow();
  private readonly messageBudget: TokenBucket;
  private readonly inflateBudget: TokenBucket;
  private readonly compress: boolean;
  private readonly maxPacketSize: number | undefined;
  private counter = 0;

  constructor(options: RawChannelOptions) {
    this.compress = options.compress ?? false;
    this.maxPacketSize = options.maxPacketSize;
    this.cipher = new PacketCipher(options.key, options.isOutgoing, 'signaling');
    this.messageBudget = new TokenBucket(options.limits?.incomingMessages ?? DEFAULT_SIGNALING_LIMITS.incomingMessages);
    this.inflateBudget = new TokenBucket(options.limits?.inflate ?? DEFAULT_SIGNALING_LIMITS.inflate);
  }

  send(payload: Uint8Array, _now: number): Uint8Array[] {
    // tgcalls does not check the limit in raw mode; stopping is safer than wrapping.
    if (this.counter >= MAX_COUNTER) throw counterExhausted();
    const data = this.compress ? compressSignalingPayload(payload) : payload;
    const max = this.maxPacketSize;
    if (max !== undefined && MSG_KEY_SIZE + 4 + data.length > max) {
      throw new CryptoError('MESSAGE_TOO_LARGE', `signaling message of ${payload.length} bytes does not fit in a ${max}-byte packet`);
    }
    this.counter++;
    const body = new Uint8Array(4 + data.length);
    writeUint32BE(body, 0, this.counter);
    body.set(data, 4);
    this.counters.messagesSent++;
    this.counters.packetsSent++;
    return [this.cipher.encrypt(body)];
  }

  receive(packet: Uint8Array, now: number): ChannelOutput {
    const out: ChannelOutput = { packets: [], messages: [] };
    const body = decryptCounted(this.cipher, packet, this.counters);
    if (!body) return out;
    const counter = readUint32BE(body, 0) & MAX_COUNTER;
    if (!this.incoming.accept(counter)) {
      this.counters.dropped.replay++;
      return out;
    }
    this.counters.packetsReceived++;
    const decoded = this.messageBudget.take(1, now) ? decodeSignalingPayload(body.subarray(4), this.inflateBudget, now) : undefined;
    if (!decoded || !decoded.ok) {
      if (!decoded || decoded.reason === 'budget') this.counters.dropped.budget++;
      else this.counters.dropped.payload++;
      return out;
    }
    this.counters.messagesDelivered++;
    out.messages.push(decoded.payload);
    return out;
  }

  tick(_now: number): Uint8Array[] {
    return [];
  }

  getStats(): SignalingChannelStats {
    return copyStats(this.counters);
  }

  nextDeadline(): number | undefined {
    return undefined;
  }
}
