/**
 * One of our direct UDP sockets (per address family) as the path mux sees it: the host
 * candidates it names and its server-reflexive candidate, learned with our own STUN Binding to
 * the call's STUN servers (stun-binding.ts) from this very socket, so the mapping is the one the
 * peer's packets will reach.
 */
import type { Datagram } from './datagram.js';
import { sameEndpoint, type Endpoint } from './endpoint.js';
import { candidateFoundation, candidatePriority, TYPE_PREFERENCE, type IceCandidate } from './ice-candidate.js';
import { StunBindingClient } from './stun-binding.js';

export interface DirectPathConfig {
  readonly family: 4 | 6;
  readonly localPort: number;
  /** Addresses our host candidates name (with `localPort`). */
  readonly hostAddresses: readonly string[];
  /** STUN servers to learn our server-reflexive address from (this family only). */
  readonly stunServers?: readonly Endpoint[];
}

export interface DirectStep {
  readonly wire: readonly Datagram[];
  readonly candidates: readonly IceCandidate[];
}

const NOTHING: DirectStep = Object.freeze({ wire: Object.freeze([]), candidates: Object.freeze([]) });
/** Host addresses named over a call at most (each network change may add some). */
const MAX_HOST_ADDRESSES = 16;

export class DirectPath {
  readonly id: string;
  readonly config: DirectPathConfig;
  private readonly bindings: StunBindingClient[];
  private readonly reflexive: Endpoint[] = [];
  /** Every address our host candidates named so far, in order. */
  private readonly hosts: string[];

  constructor(config: DirectPathConfig) {
    this.config = config;
    this.id = `direct${config.family}`;
    this.bindings = (config.stunServers ?? []).map((server) => new StunBindingClient({ server }));
    this.hosts = config.hostAddresses.slice(0, MAX_HOST_ADDRESSES);
  }

  /** Our host candidates on this socket, IPv4 before IPv6, then in interface order. */
  hostCandidates(): IceCandidate[] {
    return this.hosts.map((address, i) => this.hostCandidate(address, i));
  }

  /**
   * The host's addresses now: candidates for those never named before. The socket is on the
   * wildcard address, so after a network change it is reachable on the new address with the same
   * port; a libwebrtc peer pairs its own new candidates only with candidates it was signalled
   * (not with the peer-reflexive address it learned from our checks), so a peer that changes
   * networks after us can only find us again through this candidate.
   */
  addressesNow(addresses: readonly string[]): IceCandidate[] {
    const fresh: IceCandidate[] = [];
    for (const address of addresses) {
      if (this.hosts.includes(address) || this.hosts.length >= MAX_HOST_ADDRESSES) continue;
      this.hosts.push(address);
      fresh.push(this.hostCandidate(address, this.hosts.length - 1));
    }
    return fresh;
  }

  private hostCandidate(address: string, index: number): IceCandidate {
    return {
      foundation: candidateFoundation('host', address),
      component: 1,
      transport: 'udp',
      priority: candidatePriority(TYPE_PREFERENCE.host, 0xffff - index - (this.config.family === 6 ? 0x100 : 0)),
      address,
      port: this.config.localPort,
      type: 'host',
    };
  }

  start(now: number): DirectStep {
    const wire: Datagram[] = [];
    for (const b of this.bindings) wire.push(...b.start(now).send);
    return { wire, candidates: [] };
  }

  /** A datagram from one of our STUN servers, or undefined when `from` is not one (then it is the peer's). */
  receive(data: Uint8Array, from: Endpoint, now: number): DirectStep | undefined {
    const binding = this.bindings.find((b) => sameEndpoint(b.server, from));
    return binding ? this.result(binding.receive(data, from, now)) : undefined;
  }

  tick(now: number): DirectStep {
    let wire: Datagram[] | undefined;
    let candidates: IceCandidate[] | undefined;
    for (const b of this.bindings) {
      const deadline = b.nextDeadline();
      if (deadline === undefined || deadline > now) continue;
      const step = this.result(b.tick(now));
      (wire ??= []).push(...step.wire);
      (candidates ??= []).push(...step.candidates);
    }
    return wire || candidates ? { wire: wire ?? [], candidates: candidates ?? [] } : NOTHING;
  }

  nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const b of this.bindings) {
      const d = b.nextDeadline();
      if (d !== undefined && (next === undefined || d < next)) next = d;
    }
    return next;
  }

  close(now: number): void {
    for (const b of this.bindings) b.close(now);
  }

  private result(step: ReturnType<StunBindingClient['tick']>): DirectStep {
    const candidates: IceCandidate[] = [];
    for (const e of step.events) {
      if (e.type !== 'mapped') continue;
      const mapped = e.mapped;
      // Behind no NAT the mapping is a host address: nothing new to tell the peer.
      if (this.hosts.includes(mapped.address) || this.reflexive.some((r) => sameEndpoint(r, mapped))) continue;
      this.reflexive.push(mapped);
      candidates.push({
        foundation: candidateFoundation('srflx', mapped.address),
        component: 1,
        transport: 'udp',
        priority: candidatePriority(TYPE_PREFERENCE.srflx, 0xffff - this.reflexive.length),
        address: mapped.address,
        port: mapped.port,
        type: 'srflx',
        relatedAddress: this.config.hostAddresses[0] ?? (this.config.family === 4 ? '0.0.0.0' : '::'),
        relatedPort: this.config.localPort,
      });
    }
    return { wire: step.send, candidates };
  }
}
