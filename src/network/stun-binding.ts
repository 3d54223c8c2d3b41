/**
 * Server-reflexive address discovery against one STUN server (RFC 8489 §6.2.1, §7.3.3), sans-I/O:
 * the direct path sends a Binding request from its own socket to one of Telegram's STUN servers
 * (`phoneConnectionWebrtc` with `stun`, official-clients.md §5) and signals the mapped address as a
 * srflx candidate (EDGE.md). Retransmissions follow `CALL_SETUP_RETRANSMIT` (stun-transaction.ts:
 * 7 transmissions from 100 ms, timeout at 6.3 s).
 *
 * Accepted answer: from the server's address, a Binding success or error response with the current
 * transaction id, FINGERPRINT valid when present. The address is XOR-MAPPED-ADDRESS, or MAPPED-ADDRESS
 * from a server that predates RFC 5389. Everything else is a counted drop. `start(now)` may be
 * called again after an answer or a failure (e.g. after a network change): a new transaction.
 */
import { sameEndpoint, type Endpoint } from './endpoint.js';
import { emptyStep, type CoreStep } from './datagram.js';
import {
  StunAttr,
  StunMethod,
  attributeValue,
  buildStun,
  decodeAddress,
  decodeErrorCode,
  parseStun,
  verifyFingerprint,
} from './stun.js';
import {
  cryptoRandom,
  newTransactionId,
  retransmitDelay,
  retransmitPolicy,
  type RandomSource,
  type RetransmitPolicy,
} from './stun-transaction.js';

export interface StunBindingOptions {
  readonly server: Endpoint;
  readonly retransmit?: Partial<RetransmitPolicy>;
  readonly random?: RandomSource;
}

export type StunBindingFailureCode = 'STUN_TIMEOUT' | 'STUN_ERROR_RESPONSE' | 'STUN_BAD_RESPONSE';

export type StunBindingEvent =
  | {
      readonly type: 'mapped';
      readonly mapped: Endpoint;
      /** Round-trip time, only when the request was sent once (Karn's rule: otherwise ambiguous). */
      readonly rttMs: number | undefined;
    }
  | {
      readonly type: 'failed';
      readonly code: StunBindingFailureCode;
      /** STUN error code of an error response. */
      readonly status?: number;
      readonly reason: string;
    };

export type StunBindingState = 'idle' | 'pending' | 'mapped' | 'failed' | 'closed';

export interface StunBindingStats {
  transmissions: number;
  readonly dropped: {
    unknownSource: number;
    notStun: number;
    unexpected: number;
    badFingerprint: number;
  };
}

export class StunBindingClient {
  readonly server: Endpoint;
  readonly stats: StunBindingStats = { transmissions: 0, dropped: { unknownSource: 0, notStun: 0, unexpected: 0, badFingerprint: 0 } };
  private readonly policy: RetransmitPolicy;
  private readonly random: RandomSource;
  private stateValue: StunBindingState = 'idle';
  private request: Uint8Array | undefined;
  private transactionId: Uint8Array | undefined;
  private sent = 0;
  private firstSentAt = 0;
  private deadline: number | undefined;
  private mappedValue: Endpoint | undefined;

  constructor(options: StunBindingOptions) {
    this.server = options.server;
    this.policy = retransmitPolicy(options.retransmit);
    this.random = options.random ?? cryptoRandom;
  }

  get state(): StunBindingState {
    return this.stateValue;
  }

  /** The last mapped address learned, if any. */
  get mapped(): Endpoint | undefined {
    return this.mappedValue;
  }

  /** Sends a new Binding request (a new transaction; a pending one is abandoned). */
  start(now: number): CoreStep<StunBindingEvent> {
    if (this.stateValue === 'closed') return emptyStep();
    this.transactionId = newTransactionId(this.random);
    // FINGERPRINT lets a server that shares its port with other protocols tell STUN apart (RFC 8489 §7.1).
    this.request = buildStun({ method: StunMethod.BINDING, cls: 'request', transactionId: this.transactionId, fingerprint: true });
    this.stateValue = 'pending';
    this.sent = 0;
    this.firstSentAt = now;
    return this.transmit(now);
  }

  receive(bytes: Uint8Array, from: Endpoint, now: number): CoreStep<StunBindingEvent> {
    if (!sameEndpoint(from, this.server)) {
      this.stats.dropped.unknownSource += 1;
      return emptyStep();
    }
    const message = parseStun(bytes);
    if (!message.ok) {
      this.stats.dropped.notStun += 1;
      return emptyStep();
    }
    const id = this.transactionId;
    const current =
      this.stateValue === 'pending' &&
      id !== undefined &&
      message.method === StunMethod.BINDING &&
      (message.cls === 'success' || message.cls === 'error') &&
      Buffer.compare(message.transactionId, id) === 0;
    if (!current) {
      this.stats.dropped.unexpected += 1;
      return emptyStep();
    }
    if (message.fingerprintOffset >= 0 && !verifyFingerprint(message)) {
      this.stats.dropped.badFingerprint += 1;
      return emptyStep();
    }
    if (message.cls === 'error') {
      const error = decodeErrorCode(attributeValue(message, StunAttr.ERROR_CODE) ?? new Uint8Array(0));
      return this.fail('STUN_ERROR_RESPONSE', error ? `${error.code} ${error.reason}` : 'error response without ERROR-CODE', error?.code);
    }
    const xor = attributeValue(message, StunAttr.XOR_MAPPED_ADDRESS);
    const plain = xor ? undefined : attributeValue(message, StunAttr.MAPPED_ADDRESS);
    const mapped = xor ? decodeAddress(xor, message.transactionId) : plain ? decodeAddress(plain) : undefined;
    if (!mapped) return this.fail('STUN_BAD_RESPONSE', 'success response without a valid (XOR-)MAPPED-ADDRESS');
    this.finish('mapped');
    this.mappedValue = mapped;
    return { send: [], events: [{ type: 'mapped', mapped, rttMs: this.sent === 1 ? now - this.firstSentAt : undefined }] };
  }

  tick(now: number): CoreStep<StunBindingEvent> {
    if (this.stateValue !== 'pending' || this.deadline === undefined || now < this.deadline) return emptyStep();
    if (this.sent >= this.policy.maxTransmissions) {
      return this.fail('STUN_TIMEOUT', `no answer from the STUN server after ${this.sent} transmissions`);
    }
    return this.transmit(now);
  }

  nextDeadline(): number | undefined {
    return this.stateValue === 'pending' ? this.deadline : undefined;
  }

  /** Nothing to say goodbye with: Binding leaves no state on the server. */
  close(_now: number): CoreStep<StunBindingEvent> {
    this.finish('closed');
    return emptyStep();
  }

  private transmit(now: number): CoreStep<StunBindingEvent> {
    this.sent += 1;
    this.stats.transmissions += 1;
    this.deadline = now + retransmitDelay(this.policy, this.sent);
    return { send: [{ to: this.server, data: this.request! }], events: [] };
  }

  private fail(code: StunBindingFailureCode, reason: string, status?: number): CoreStep<StunBindingEvent> {
    this.finish('failed');
    return { send: [], events: [status === undefined ? { type: 'failed', code, reason } : { type: 'failed', code, status, reason }] };
  }

  private finish(state: StunBindingState): void {
    this.stateValue = state;
    this.deadline = undefined;
    this.request = undefined;
    this.transactionId = undefined;
  }
}
