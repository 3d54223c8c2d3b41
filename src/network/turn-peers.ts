/**
 * The peer side of a TURN allocation (RFC 8656 §9, §11, §12): permissions per peer IP, channel
 * bindings per peer transport address, and the bounded queue of data waiting for a permission.
 * Owned by `TurnClient`, which sends the requests this table asks for and reports their outcome.
 *
 * Timing: a permission lives 300 s and is refreshed after 240 s; a channel lives 600 s and is
 * re-bound after 540 s (a ChannelBind also installs/refreshes the permission of its IP, §12.2).
 * A failed CreatePermission drops the queued data and blocks new attempts for that IP for 5 s; a
 * failed ChannelBind leaves that peer on Send indications for the rest of the allocation.
 */
import { endpointKey, type Endpoint } from './endpoint.js';
import type { Datagram } from './datagram.js';
import {
  StunAttr,
  StunMethod,
  attributeValue,
  buildStun,
  bytesToIp,
  decodeAddress,
  ipFamily,
  ipToBytes,
  type StunAttributeInit,
  type StunMessage,
} from './stun.js';
import type { RandomSource } from './stun-transaction.js';
import type { TurnStats } from './turn-stats.js';
import {
  CHANNEL_LIFETIME_MS,
  CHANNEL_MAX,
  CHANNEL_MIN,
  CHANNEL_REFRESH_MS,
  MAX_TURN_PAYLOAD,
  PERMISSION_LIFETIME_MS,
  PERMISSION_REFRESH_MS,
  channelAttribute,
  encodeChannelData,
  parseChannelData,
  peerAttribute,
} from './turn-messages.js';

export interface TurnLimits {
  /** Peer IPs with a permission (libjuice keeps ≤ 30 remote candidates, fewer IPs). */
  readonly maxPermissions: number;
  readonly maxChannels: number;
  /** Packets waiting for one permission. */
  readonly maxQueuedPerPeer: number;
  /** Bytes waiting over all permissions. */
  readonly maxQueuedBytes: number;
  readonly maxTransactions: number;
}

export const DEFAULT_TURN_LIMITS: TurnLimits = Object.freeze({
  maxPermissions: 32,
  maxChannels: 32,
  maxQueuedPerPeer: 32,
  maxQueuedBytes: 256 * 1024,
  maxTransactions: 64,
});

export type PeerRequest = { readonly kind: 'permission'; readonly ip: string } | { readonly kind: 'channel'; readonly channel: number };

export interface TurnData {
  readonly type: 'data';
  readonly peer: Endpoint;
  /** A view into the received datagram. */
  readonly payload: Uint8Array;
}

export interface TurnPermissionFailed {
  readonly type: 'permission-failed';
  readonly address: string;
  readonly status?: number;
  readonly reason: string;
}

/** After a failed CreatePermission, no new attempt for that IP for this long. */
const PERMISSION_RETRY_MS = 5_000;
const NO_REQUESTS: readonly PeerRequest[] = Object.freeze([]);

interface Permission {
  readonly ip: string;
  grantedAt: number | undefined;
  pending: boolean;
  failedUntil: number;
  queue: { readonly peer: Endpoint; readonly payload: Uint8Array }[];
  queuedBytes: number;
}

interface Channel {
  readonly number: number;
  readonly peer: Endpoint;
  boundAt: number | undefined;
  pending: boolean;
  failed: boolean;
}

export class TurnPeers {
  readonly limits: TurnLimits;
  private readonly permissions = new Map<string, Permission>();
  private readonly channelsByKey = new Map<string, Channel>();
  private readonly channelsByNumber = new Map<number, Channel>();
  private nextChannel = CHANNEL_MIN;
  private queuedBytes = 0;

  constructor(
    private readonly family: 4 | 6,
    private readonly useChannels: boolean,
    limits: Partial<TurnLimits> | undefined,
    private readonly stats: TurnStats,
    private readonly random: RandomSource,
  ) {
    this.limits = Object.freeze({ ...DEFAULT_TURN_LIMITS, ...limits });
    if (this.limits.maxChannels > CHANNEL_MAX - CHANNEL_MIN + 1) throw new RangeError('maxChannels is above the channel number range');
  }

  permit(address: string, now: number): readonly PeerRequest[] {
    const ip = this.canonicalIp(address);
    if (ip === undefined) return NO_REQUESTS;
    const requests: PeerRequest[] = [];
    this.permission(ip, now, requests);
    return requests;
  }

  /** Puts `payload` for `peer` on the wire (into `out`) or queues it; returns the requests it needs. */
  send(peer: Endpoint, payload: Uint8Array, now: number, server: Endpoint, out: Datagram[]): readonly PeerRequest[] {
    if (payload.length > MAX_TURN_PAYLOAD) {
      this.stats.dropped.oversize += 1;
      return NO_REQUESTS;
    }
    let channel = this.channelsByKey.get(endpointKey(peer));
    if (channel && isBound(channel, now)) {
      this.stats.sent.channelData += 1;
      out.push({ to: server, data: encodeChannelData(channel.number, payload) });
      return NO_REQUESTS;
    }
    const ip = this.canonicalIp(peer.address);
    if (ip === undefined) return NO_REQUESTS;
    const target = { address: ip, port: peer.port };
    const requests: PeerRequest[] = [];
    const permission = this.permission(ip, now, requests);
    if (!permission) return requests;
    channel ??= this.channelsByKey.get(endpointKey(target));
    if (!channel && this.useChannels && this.channelsByKey.size < this.limits.maxChannels) {
      channel = { number: this.nextChannel++, peer: target, boundAt: undefined, pending: true, failed: false };
      this.channelsByKey.set(endpointKey(target), channel);
      this.channelsByNumber.set(channel.number, channel);
      requests.push({ kind: 'channel', channel: channel.number });
    }
    if (isGranted(permission, now)) {
      this.deliver(target, payload, now, server, out);
    } else if (!permission.pending) {
      this.stats.dropped.permissionFailed += 1;
    } else if (permission.queue.length >= this.limits.maxQueuedPerPeer || this.queuedBytes + payload.length > this.limits.maxQueuedBytes) {
      this.stats.dropped.queueFull += 1;
    } else {
      // a copy (not `slice`, a view on a Node Buffer): the caller may reuse its buffer meanwhile
      permission.queue.push({ peer: target, payload: new Uint8Array(payload) });
      permission.queuedBytes += payload.length;
      this.queuedBytes += payload.length;
    }
    return requests;
  }

  attributes(request: PeerRequest, transactionId: Uint8Array): StunAttributeInit[] {
    if (request.kind === 'permission') return [peerAttribute({ address: request.ip, port: 0 }, transactionId)];
    const channel = this.channelsByNumber.get(request.channel)!;
    return [channelAttribute(channel.number), peerAttribute(channel.peer, transactionId)];
  }

  succeeded(request: PeerRequest, now: number, server: Endpoint, out: Datagram[]): void {
    let ip: string;
    if (request.kind === 'channel') {
      const channel = this.channelsByNumber.get(request.channel);
      if (!channel) return;
      channel.pending = false;
      channel.boundAt = now;
      ip = channel.peer.address;
    } else {
      ip = request.ip;
    }
    const permission = this.permissions.get(ip);
    if (!permission) return;
    if (request.kind === 'permission') permission.pending = false;
    permission.grantedAt = now;
    for (const item of permission.queue) this.deliver(item.peer, item.payload, now, server, out);
    this.unqueue(permission);
  }

  failed(request: PeerRequest, now: number, status: number | undefined, reason: string): TurnPermissionFailed | undefined {
    if (request.kind === 'channel') {
      const channel = this.channelsByNumber.get(request.channel);
      if (channel) {
        channel.pending = false;
        channel.failed = true;
        this.stats.channelFailures += 1;
      }
      return undefined;
    }
    const permission = this.permissions.get(request.ip);
    if (!permission) return undefined;
    permission.pending = false;
    permission.failedUntil = now + PERMISSION_RETRY_MS;
    // a lapsed permission is not refreshed again; the next send asks anew
    if (!isGranted(permission, now)) permission.grantedAt = undefined;
    this.stats.dropped.permissionFailed += permission.queue.length;
    this.unqueue(permission);
    return status === undefined
      ? { type: 'permission-failed', address: request.ip, reason }
      : { type: 'permission-failed', address: request.ip, status, reason };
  }

  /** Refreshes that are due. */
  due(now: number): readonly PeerRequest[] {
    let requests: PeerRequest[] | undefined;
    for (const p of this.permissions.values()) {
      const at = permissionRefreshAt(p);
      if (at !== undefined && now >= at) {
        p.pending = true;
        (requests ??= []).push({ kind: 'permission', ip: p.ip });
      }
    }
    for (const c of this.channelsByKey.values()) {
      const at = channelRefreshAt(c);
      if (at !== undefined && now >= at) {
        c.pending = true;
        (requests ??= []).push({ kind: 'channel', channel: c.number });
      }
    }
    return requests ?? NO_REQUESTS;
  }

  nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const p of this.permissions.values()) next = earlier(next, permissionRefreshAt(p));
    for (const c of this.channelsByKey.values()) next = earlier(next, channelRefreshAt(c));
    return next;
  }

  /**
   * ChannelData from the server: a `data` event when the channel is one we asked for (bound or
   * pending: the server may use it before its answer reaches us). The payload is a view.
   */
  receiveChannelData(bytes: Uint8Array): TurnData | undefined {
    const frame = parseChannelData(bytes);
    const channel = frame && this.channelsByNumber.get(frame.channel);
    if (!frame) this.stats.dropped.malformed += 1;
    else if (!channel || channel.failed) this.stats.dropped.unknownChannel += 1;
    else {
      this.stats.received.channelData += 1;
      return { type: 'data', peer: channel.peer, payload: frame.payload };
    }
    return undefined;
  }

  /** A Data indication: a `data` event when it comes from an IP we asked a permission for. */
  receiveDataIndication(message: StunMessage): TurnData | undefined {
    const peerValue = attributeValue(message, StunAttr.XOR_PEER_ADDRESS);
    const payload = attributeValue(message, StunAttr.DATA);
    const peer = peerValue && decodeAddress(peerValue, message.transactionId);
    if (!peer || !payload) {
      this.stats.dropped.malformed += 1;
    } else if (!this.permissions.has(peer.address)) {
      // decodeAddress gives the RFC 5952 form, the form the permissions are keyed by
      this.stats.dropped.unpermittedPeer += 1;
    } else {
      this.stats.received.dataIndications += 1;
      return { type: 'data', peer, payload };
    }
    return undefined;
  }

  clear(): void {
    this.permissions.clear();
    this.channelsByKey.clear();
    this.channelsByNumber.clear();
    this.queuedBytes = 0;
  }

  private permission(ip: string, now: number, requests: PeerRequest[]): Permission | undefined {
    let permission = this.permissions.get(ip);
    if (!permission) {
      if (this.permissions.size >= this.limits.maxPermissions) {
        this.stats.dropped.tooManyPeers += 1;
        return undefined;
      }
      permission = { ip, grantedAt: undefined, pending: false, failedUntil: 0, queue: [], queuedBytes: 0 };
      this.permissions.set(ip, permission);
    }
    if (!permission.pending && !isGranted(permission, now) && now >= permission.failedUntil) {
      permission.pending = true;
      requests.push({ kind: 'permission', ip });
    }
    return permission;
  }

  private deliver(peer: Endpoint, payload: Uint8Array, now: number, server: Endpoint, out: Datagram[]): void {
    const channel = this.channelsByKey.get(endpointKey(peer));
    if (channel && isBound(channel, now)) {
      this.stats.sent.channelData += 1;
      out.push({ to: server, data: encodeChannelData(channel.number, payload) });
      return;
    }
    const id = this.random(12);
    this.stats.sent.sendIndications += 1;
    out.push({
      to: server,
      data: buildStun({
        method: StunMethod.SEND,
        cls: 'indication',
        transactionId: id,
        attributes: [peerAttribute(peer, id), { type: StunAttr.DATA, value: payload }],
      }),
    });
  }

  private unqueue(permission: Permission): void {
    this.queuedBytes -= permission.queuedBytes;
    permission.queue = [];
    permission.queuedBytes = 0;
  }

  /** The RFC 5952 form of an IP of our family, or `undefined` (counted). */
  private canonicalIp(address: string): string | undefined {
    const bytes = ipToBytes(address);
    if (!bytes) {
      this.stats.dropped.badAddress += 1;
      return undefined;
    }
    if (ipFamily(address) !== this.family) {
      this.stats.dropped.familyMismatch += 1;
      return undefined;
    }
    return bytesToIp(bytes);
  }
}

function isGranted(p: Permission, now: number): boolean {
  return p.grantedAt !== undefined && now < p.grantedAt + PERMISSION_LIFETIME_MS;
}

function isBound(c: Channel, now: number): boolean {
  return c.boundAt !== undefined && now < c.boundAt + CHANNEL_LIFETIME_MS;
}

function permissionRefreshAt(p: Permission): number | undefined {
  return p.grantedAt === undefined || p.pending ? undefined : Math.max(p.grantedAt + PERMISSION_REFRESH_MS, p.failedUntil);
}

function channelRefreshAt(c: Channel): number | undefined {
  return c.boundAt === undefined || c.pending || c.failed ? undefined : c.boundAt + CHANNEL_REFRESH_MS;
}

function earlier(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.min(a, b);
}
