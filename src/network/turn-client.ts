/**
 * A TURN client over UDP for one server (RFC 8656), sans-I/O: the TURN path of the network edge
 * (EDGE.md). libjuice cannot relay to loopback proxies, so tgcall allocates itself, with the
 * long-term credentials of a `phoneConnectionWebrtc` entry (official-clients.md §5).
 *
 * - Allocate: unauthenticated, 401 with REALM/NONCE, then authenticated (RFC 8489 §9.2); a second
 *   401 fails (`TURN_UNAUTHORIZED`). 438 Stale Nonce: retry with the new nonce (bounded). The
 *   realm, nonce and key are turn-credentials.ts's.
 * - Refresh before the granted lifetime ends; `close(now)` sends Refresh LIFETIME=0 (once, no wait).
 * - Permissions per peer IP (turn-peers.ts), created on `permit()` or the first `send()`, refreshed
 *   every 4 min; data waits (bounded) until the permission is installed, then goes as Send
 *   indications until a ChannelBind succeeds, then as ChannelData.
 * - Incoming Data indications and ChannelData become `data` events (payload: a view, no copy).
 * - Responses are matched by transaction id; every response to an authenticated request must carry
 *   a MESSAGE-INTEGRITY valid with our key (RFC 8489 §9.2.5), except the 401/438 challenges (and
 *   coturn's unsigned 437 to Allocate, see turn-messages.ts `unsignedErrorAllowed`).
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
  decodeU32,
  ipFamily,
  parseStun,
  verifyFingerprint,
  verifyIntegrity,
  type StunAttributeInit,
  type StunMessage,
} from './stun.js';
import {
  cryptoRandom,
  newTransactionId,
  retransmitDelay,
  retransmitPolicy,
  transactionKey,
  type RandomSource,
  type RetransmitPolicy,
} from './stun-transaction.js';
import {
  DEFAULT_ALLOCATION_LIFETIME_S,
  allocateAttributes,
  allocationRefreshDelayMs,
  failureCodeFor,
  isChannelData,
  refreshAttributes,
  turnMethod,
  unsignedErrorAllowed,
  type TurnFailureCode,
  type TurnRequestKind,
} from './turn-messages.js';
import { TurnCredentials } from './turn-credentials.js';
import { TurnPeers, type PeerRequest, type TurnData, type TurnLimits, type TurnPermissionFailed } from './turn-peers.js';
import { newTurnStats, type TurnStats } from './turn-stats.js';

export type { TurnFailureCode } from './turn-messages.js';
export type { TurnData, TurnLimits, TurnPermissionFailed } from './turn-peers.js';
export type { TurnStats } from './turn-stats.js';

export interface TurnClientOptions {
  readonly server: Endpoint;
  readonly username: string;
  readonly password: string;
  /** LIFETIME to request (seconds); default: none (the server's default, 600 s). */
  readonly lifetimeSec?: number;
  /** Family of the relayed address; default: the server address's family. */
  readonly family?: 4 | 6;
  /** Bind a channel per peer and use ChannelData once bound (default true). */
  readonly channels?: boolean;
  readonly retransmit?: Partial<RetransmitPolicy>;
  readonly random?: RandomSource;
  readonly limits?: Partial<TurnLimits>;
}

export type TurnEvent =
  | { readonly type: 'allocated'; readonly relayed: Endpoint; readonly mapped: Endpoint | undefined; readonly lifetimeSec: number }
  | TurnData
  | TurnPermissionFailed
  | { readonly type: 'failed'; readonly code: TurnFailureCode; readonly status?: number; readonly reason: string };

export type TurnState = 'idle' | 'allocating' | 'allocated' | 'failed' | 'closed';

interface Transaction {
  readonly kind: TurnRequestKind;
  readonly key: string;
  readonly bytes: Uint8Array;
  readonly authenticated: boolean;
  /** 401/438 retries so far in this request's chain. */
  readonly retries: number;
  /** What to build the request from again (new nonce, new transaction id). */
  readonly rebuild: (id: Uint8Array) => StunAttributeInit[];
  readonly method: number;
  readonly peer: PeerRequest | undefined;
  sent: number;
  nextAt: number;
}

/** Allocation refresh after a timed-out Refresh: retried while at least this much lifetime remains. */
const REFRESH_RETRY_MIN_LEFT_MS = 2_000;

export class TurnClient {
  readonly server: Endpoint;
  readonly stats: TurnStats = newTurnStats();
  readonly family: 4 | 6;
  private readonly options: TurnClientOptions;
  private readonly policy: RetransmitPolicy;
  private readonly random: RandomSource;
  private readonly peers: TurnPeers;
  private stateValue: TurnState = 'idle';
  private readonly credentials: TurnCredentials;
  private readonly transactions = new Map<string, Transaction>();
  private relayedValue: Endpoint | undefined;
  private mappedValue: Endpoint | undefined;
  private expiresAt = 0;
  private refreshAt: number | undefined;
  /** An authenticated Allocate went out and no error said there is no allocation. */
  private allocationMayExist = false;

  constructor(options: TurnClientOptions) {
    const lifetime = options.lifetimeSec;
    if (lifetime !== undefined && (!Number.isInteger(lifetime) || lifetime < 1 || lifetime > 0xffffffff)) throw new RangeError(`bad lifetimeSec ${lifetime}`);
    this.options = options;
    this.server = options.server;
    this.family = options.family ?? ipFamily(options.server.address);
    this.policy = retransmitPolicy(options.retransmit);
    this.random = options.random ?? cryptoRandom;
    this.peers = new TurnPeers(this.family, options.channels ?? true, options.limits, this.stats, this.random);
    this.credentials = new TurnCredentials(options.username, options.password);
  }

  get state(): TurnState {
    return this.stateValue;
  }

  get relayed(): Endpoint | undefined {
    return this.relayedValue;
  }

  get mapped(): Endpoint | undefined {
    return this.mappedValue;
  }

  start(now: number): CoreStep<TurnEvent> {
    if (this.stateValue !== 'idle') return emptyStep();
    this.stateValue = 'allocating';
    const step = emptyStep<TurnEvent>();
    this.request(step, 'allocate', () => allocateAttributes(this.family, this.options.lifetimeSec), now);
    return step;
  }

  /** Installs (and keeps refreshing) a permission for `address`: the peer can reach us before we send. */
  permit(address: string, now: number): CoreStep<TurnEvent> {
    const step = emptyStep<TurnEvent>();
    if (this.stateValue !== 'allocated') this.stats.dropped.notAllocated += 1;
    else this.issue(step, this.peers.permit(address, now), now);
    return step;
  }

  /** Relays `payload` to `peer` (ChannelData when bound, else a Send indication, else queued). */
  send(peer: Endpoint, payload: Uint8Array, now: number): CoreStep<TurnEvent> {
    const step = emptyStep<TurnEvent>();
    if (this.stateValue !== 'allocated') this.stats.dropped.notAllocated += 1;
    else this.issue(step, this.peers.send(peer, payload, now, this.server, step.send), now);
    return step;
  }

  /**
   * Refreshes the allocation now (normally automatic); `lifetimeSec` overrides the requested one.
   * To release, use `close()`.
   */
  refresh(now: number, lifetimeSec: number | undefined = this.options.lifetimeSec): CoreStep<TurnEvent> {
    const step = emptyStep<TurnEvent>();
    if (this.stateValue === 'allocated' && !this.inFlight('refresh')) this.request(step, 'refresh', () => refreshAttributes(lifetimeSec), now);
    return step;
  }

  receive(bytes: Uint8Array, from: Endpoint, now: number): CoreStep<TurnEvent> {
    const step = emptyStep<TurnEvent>();
    if (!sameEndpoint(from, this.server)) {
      this.stats.dropped.unknownSource += 1;
    } else if (this.stateValue === 'idle' || this.stateValue === 'closed' || this.stateValue === 'failed') {
      this.stats.dropped.notAllocated += 1;
    } else if (isChannelData(bytes)) {
      const data = this.peers.receiveChannelData(bytes);
      if (data) step.events.push(data);
    } else {
      const message = parseStun(bytes);
      if (!message.ok) this.stats.dropped.malformed += 1;
      else if (message.fingerprintOffset >= 0 && !verifyFingerprint(message)) this.stats.dropped.badFingerprint += 1;
      else if (message.cls === 'success' || message.cls === 'error') this.onResponse(message, step, now);
      else if (message.cls !== 'indication' || message.method !== StunMethod.DATA) this.stats.dropped.unexpected += 1;
      else {
        const data = this.peers.receiveDataIndication(message);
        if (data) step.events.push(data);
      }
    }
    return step;
  }

  tick(now: number): CoreStep<TurnEvent> {
    const step = emptyStep<TurnEvent>();
    for (const tx of [...this.transactions.values()]) {
      if (now < tx.nextAt || !this.transactions.has(tx.key)) continue;
      if (tx.sent < this.policy.maxTransmissions) {
        tx.sent += 1;
        tx.nextAt = now + retransmitDelay(this.policy, tx.sent);
        this.stats.sent.retransmissions += 1;
        step.send.push({ to: this.server, data: tx.bytes });
      } else {
        this.transactions.delete(tx.key);
        this.onTimeout(tx, step, now);
      }
    }
    if (this.stateValue === 'allocated') {
      if (this.refreshAt !== undefined && now >= this.refreshAt && !this.inFlight('refresh')) {
        this.refreshAt = undefined;
        this.request(step, 'refresh', () => refreshAttributes(this.options.lifetimeSec), now);
      }
      this.issue(step, this.peers.due(now), now);
    }
    return step;
  }

  nextDeadline(): number | undefined {
    if (this.stateValue !== 'allocating' && this.stateValue !== 'allocated') return undefined;
    let next = this.stateValue === 'allocated' ? this.peers.nextDeadline() : undefined;
    const consider = (t: number | undefined): void => {
      if (t !== undefined && (next === undefined || t < next)) next = t;
    };
    for (const tx of this.transactions.values()) consider(tx.nextAt);
    if (this.stateValue === 'allocated' && !this.inFlight('refresh')) consider(this.refreshAt);
    return next;
  }

  /** Releases the allocation (Refresh LIFETIME=0, sent once, answer not awaited) and forgets everything. */
  close(now: number): CoreStep<TurnEvent> {
    const step = emptyStep<TurnEvent>();
    if (this.stateValue === 'closed') return step;
    if (this.allocationMayExist && this.credentials.key) this.request(step, 'refresh', () => refreshAttributes(0), now);
    this.stateValue = 'closed';
    this.transactions.clear();
    this.peers.clear();
    this.refreshAt = undefined;
    return step;
  }

  // ---- requests ------------------------------------------------------------------------------

  private issue(step: CoreStep<TurnEvent>, requests: readonly PeerRequest[], now: number): void {
    for (const r of requests) {
      if (this.transactions.size >= this.peers.limits.maxTransactions) {
        this.stats.dropped.tooManyTransactions += 1;
        const event = this.peers.failed(r, now, undefined, 'too many requests in flight');
        if (event) step.events.push(event);
        continue;
      }
      this.request(step, r.kind, (id) => this.peers.attributes(r, id), now, r);
    }
  }

  private inFlight(kind: TurnRequestKind): boolean {
    for (const tx of this.transactions.values()) if (tx.kind === kind) return true;
    return false;
  }

  private request(
    step: CoreStep<TurnEvent>,
    kind: TurnRequestKind,
    rebuild: (id: Uint8Array) => StunAttributeInit[],
    now: number,
    peer?: PeerRequest,
    retries = 0,
  ): void {
    const id = newTransactionId(this.random);
    const attributes = rebuild(id);
    const key = this.credentials.sign(attributes);
    if (key && kind === 'allocate') this.allocationMayExist = true;
    const method = turnMethod(kind);
    const bytes = buildStun({ method, cls: 'request', transactionId: id, attributes, integrityKey: key, fingerprint: true });
    const nextAt = now + retransmitDelay(this.policy, 1);
    const tx: Transaction = { kind, key: transactionKey(id), bytes, authenticated: key !== undefined, retries, rebuild, method, peer, sent: 1, nextAt };
    this.transactions.set(tx.key, tx);
    this.stats.sent.requests += 1;
    step.send.push({ to: this.server, data: bytes });
  }

  /** A new transaction for the same request after a challenge; only 438s count against the bound. */
  private retry(tx: Transaction, status: number, step: CoreStep<TurnEvent>, now: number): void {
    if (status === 438) this.stats.staleNonceRetries += 1;
    this.request(step, tx.kind, tx.rebuild, now, tx.peer, status === 438 ? tx.retries + 1 : tx.retries);
  }

  // ---- responses -----------------------------------------------------------------------------

  private onResponse(message: StunMessage, step: CoreStep<TurnEvent>, now: number): void {
    const tx = this.transactions.get(transactionKey(message.transactionId));
    if (!tx || message.method !== tx.method) {
      this.stats.dropped.unknownTransaction += 1;
      return;
    }
    const error = message.cls === 'error' ? decodeErrorCode(attributeValue(message, StunAttr.ERROR_CODE) ?? new Uint8Array(0)) : undefined;
    if (message.cls === 'error' && !error) {
      this.stats.dropped.malformed += 1;
      return;
    }
    const challenge = error !== undefined && (error.code === 401 || error.code === 438);
    if (tx.authenticated && !challenge && !unsignedErrorAllowed(tx.kind, error?.code) && !verifyIntegrity(message, this.credentials.key!)) {
      this.stats.dropped.badIntegrity += 1;
      return;
    }
    this.transactions.delete(tx.key);
    if (challenge && this.credentials.takeChallenge(message, error.code, tx.authenticated, tx.retries)) {
      this.retry(tx, error.code, step, now);
      return;
    }
    if (error) {
      this.onError(tx, error.code, `${error.code} ${error.reason}`, step, now);
      return;
    }
    switch (tx.kind) {
      case 'allocate':
        this.onAllocated(message, step, now);
        return;
      case 'refresh':
        this.grantLifetime(message, now);
        return;
      default:
        this.peers.succeeded(tx.peer!, now, this.server, step.send);
    }
  }

  private onAllocated(message: StunMessage, step: CoreStep<TurnEvent>, now: number): void {
    const relayedValue = attributeValue(message, StunAttr.XOR_RELAYED_ADDRESS);
    const relayed = relayedValue && decodeAddress(relayedValue, message.transactionId);
    if (!relayed || ipFamily(relayed.address) !== this.family) {
      this.fail(step, 'TURN_BAD_RESPONSE', 'Allocate success without a usable XOR-RELAYED-ADDRESS');
      return;
    }
    const mappedValue = attributeValue(message, StunAttr.XOR_MAPPED_ADDRESS);
    const lifetimeSec = this.grantLifetime(message, now);
    this.relayedValue = relayed;
    this.mappedValue = mappedValue && decodeAddress(mappedValue, message.transactionId);
    this.stateValue = 'allocated';
    step.events.push({ type: 'allocated', relayed, mapped: this.mappedValue, lifetimeSec });
  }

  private grantLifetime(message: StunMessage, now: number): number {
    const value = attributeValue(message, StunAttr.LIFETIME);
    const lifetimeSec = (value && decodeU32(value)) || this.options.lifetimeSec || DEFAULT_ALLOCATION_LIFETIME_S;
    this.expiresAt = now + lifetimeSec * 1000;
    this.refreshAt = now + allocationRefreshDelayMs(lifetimeSec);
    return lifetimeSec;
  }

  private onError(tx: Transaction, status: number, reason: string, step: CoreStep<TurnEvent>, now: number): void {
    if (tx.kind === 'allocate' || tx.kind === 'refresh') {
      // 437 on Refresh: the allocation is gone; on Allocate: nothing of ours exists either way.
      if (tx.kind === 'allocate' || status === 437) this.allocationMayExist = false;
      this.fail(step, failureCodeFor(status), `${tx.kind}: ${reason}`, status);
      return;
    }
    const event = this.peers.failed(tx.peer!, now, status, reason);
    if (event) step.events.push(event);
  }

  private onTimeout(tx: Transaction, step: CoreStep<TurnEvent>, now: number): void {
    if (tx.kind === 'allocate') {
      this.fail(step, 'TURN_TIMEOUT', `no answer to Allocate after ${tx.sent} transmissions`);
    } else if (tx.kind === 'refresh') {
      // Retry while the allocation still has time left; then it is lost.
      if (this.expiresAt - now > REFRESH_RETRY_MIN_LEFT_MS) {
        this.request(step, 'refresh', tx.rebuild, now);
      } else {
        this.fail(step, 'TURN_TIMEOUT', `no answer to Refresh after ${tx.sent} transmissions; the allocation expires`);
      }
    } else {
      const event = this.peers.failed(tx.peer!, now, undefined, `no answer after ${tx.sent} transmissions`);
      if (event) step.events.push(event);
    }
  }

  private fail(step: CoreStep<TurnEvent>, code: TurnFailureCode, reason: string, status?: number): void {
    this.stateValue = 'failed';
    this.transactions.clear();
    this.peers.clear();
    this.refreshAt = undefined;
    step.events.push(status === undefined ? { type: 'failed', code, reason } : { type: 'failed', code, status, reason });
  }
}

