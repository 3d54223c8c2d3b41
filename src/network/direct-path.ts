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

export class DirectPath {
  readonly id: string;
  readonly config: DirectPathConfig;
  private readonly bindings: StunBindingClient[];
  private readonly reflexive: Endpoint[] = [];

  constructor(config: DirectPathConfig) {
    this.config = config;
    this.id = `direct${config.family}`;
    this.bindings = (config.stunServers ?? []).map((server) => new StunBindingClient({ server }));
  }

  /** Our host candidates on this socket, IPv4 before IPv6, then in interface order. */
  hostCandidates(): IceCandidate[] {
    return this.config.hostAddresses.map((address, i) => ({
      foundation: candidateFoundation('host', address),
      component: 1,
      transport: 'udp',
      priority: candidatePriority(TYPE_PREFERENCE.host, 0xffff - i - (this.config.family === 6 ? 0x100 : 0)),
      address,
      port: this.config.localPort,
      type: 'host',
    }));
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
      if (this.config.hostAddresses.includes(mapped.address) || this.reflexive.some((r) => sameEndpoint(r, mapped))) continue;
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
