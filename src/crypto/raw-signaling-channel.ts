/**
 * Raw signaling framing (library version 7.0.0; the base of V3): body = be32(counter) || payload,
 * no acks and no resends (call-crypto-and-signaling.md §5.2).
 */
import { readUint32BE, writeUint32BE } from './bytes.js';
import { PacketCipher } from './packet-cipher.js';
import { ReplayWindow } from './replay-window.js';
import { decodeSignalingPayload } from './signaling-payload.js';
import { counterExhausted, decryptCounted, emptyStats, MAX_COUNTER, type ChannelOutput, type SignalingChannel } from './signaling-channel.js';

export interface RawChannelOptions {
  key: Uint8Array;
  isOutgoing: boolean;
}

export class RawSignalingChannel implements SignalingChannel {
  readonly mode = 'raw' as const;
  readonly stats = emptyStats();
  readonly fatalError = undefined;
  private readonly cipher: PacketCipher;
  private readonly incoming = new ReplayWindow();
  private counter = 0;

  constructor(options: RawChannelOptions) {
    this.cipher = new PacketCipher(options.key, options.isOutgoing, 'signaling');
  }

  send(payload: Uint8Array, _now: number): Uint8Array[] {
    // tgcalls does not check the limit in raw mode; stopping is safer than wrapping.
    if (this.counter >= MAX_COUNTER) throw counterExhausted();
    this.counter++;
    const body = new Uint8Array(4 + payload.length);
    writeUint32BE(body, 0, this.counter);
    body.set(payload, 4);
    this.stats.messagesSent++;
    this.stats.packetsSent++;
    return [this.cipher.encrypt(body)];
  }

  receive(packet: Uint8Array, _now: number): ChannelOutput {
    const out: ChannelOutput = { packets: [], messages: [] };
    const body = decryptCounted(this.cipher, packet, this.stats);
    if (!body) return out;
    const counter = readUint32BE(body, 0) & MAX_COUNTER;
    if (!this.incoming.accept(counter)) {
      this.stats.dropped.replay++;
      return out;
    }
    this.stats.packetsReceived++;
    const payload = decodeSignalingPayload(body.subarray(4));
    if (!payload) {
      this.stats.dropped.payload++;
      return out;
    }
    this.stats.messagesDelivered++;
    out.messages.push(payload);
    return out;
  }

  tick(_now: number): Uint8Array[] {
    return [];
  }

  nextDeadline(): number | undefined {
    return undefined;
  }
}
