/**
 * A TURN allocation as one of the edge's relays: `TurnClient` (the protocol, turn-client.ts)
 * behind the `RelayPath` contract the path mux drives. Our relayed address becomes a `typ relay`
 * candidate for the peer; any peer IP candidate of the allocation's family is reachable through
 * it (permissions and channels are made on the first datagram to it).
 */
import type { CoreStep } from './datagram.js';
import type { Endpoint } from './endpoint.js';
import { candidateFoundation, candidatePriority, classifyAddress, TYPE_PREFERENCE, type IceCandidate } from './ice-candidate.js';
import type { RelayEvent, RelayPath, RelayPathStats, RelayPeer, RelayStep } from './relay-path.js';
import { TurnClient, type TurnClientOptions, type TurnEvent } from './turn-client.js';

export class TurnPath implements RelayPath {
  readonly kind = 'turn' as const;
  readonly server: Endpoint;
  readonly transport = 'udp' as const;
  private readonly client: TurnClient;
  /** Orders our relay candidates when there are several allocations (first server first). */
  private readonly rank: number;
  /** Payload bytes relayed each way (the client counts packets). */
  private bytesIn = 0;
  private bytesOut = 0;

  constructor(options: TurnClientOptions, rank = 0) {
    this.client = new TurnClient(options);
    this.server = options.server;
    this.rank = rank;
  }

  get relayed(): Endpoint | undefined {
    return this.client.relayed;
  }

  start(now: number): RelayStep {
    return this.step(this.client.start(now));
  }

  receive(data: Uint8Array, from: Endpoint, now: number): RelayStep {
    return this.step(this.client.receive(data, from, now));
  }

  send(peer: RelayPeer, payload: Uint8Array, now: number): RelayStep {
    if (typeof peer === 'number') return { wire: [], events: [] };
    this.bytesOut += payload.length;
    return this.step(this.client.send(peer, payload, now));
  }

  tick(now: number): RelayStep {
    return this.step(this.client.tick(now));
  }

  nextDeadline(): number | undefined {
    return this.client.nextDeadline();
  }

  close(now: number): RelayStep {
    return this.step(this.client.close(now));
  }

  peerFor(candidate: IceCandidate): RelayPeer | undefined {
    const kind = classifyAddress(candidate.address);
    const family = kind === 'ipv4' || kind === 'loopback' ? (candidate.address.includes(':') ? 6 : 4) : kind === 'ipv6' ? 6 : undefined;
    if (family === undefined || family !== this.client.family) return undefined;
    return { address: candidate.address, port: candidate.port };
  }

  stats(): RelayPathStats {
    const s = this.client.stats;
    const state = this.client.state;
    return {
      state: state === 'allocated' ? 'ready' : state === 'idle' || state === 'allocating' ? 'connecting' : state,
      packetsIn: s.received.channelData + s.received.dataIndications,
      packetsOut: s.sent.channelData + s.sent.sendIndications,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      dropped: { ...s.dropped },
    };
  }

  private step(step: CoreStep<TurnEvent>): RelayStep {
    const events: RelayEvent[] = [];
    for (const e of step.events) {
      switch (e.type) {
        case 'allocated':
          events.push({ kind: 'ready', candidate: this.candidate(e.relayed, e.mapped) });
          break;
        case 'data':
          this.bytesIn += e.payload.length;
          events.push({ kind: 'data', peer: e.peer, payload: e.payload });
          break;
        case 'failed':
          events.push({ kind: 'failed', reason: `${e.code}${e.status !== undefined ? ` ${e.status}` : ''}: ${e.reason}` });
          break;
        case 'permission-failed':
          // One peer address refused; the allocation serves the others.
          break;
      }
    }
    return { wire: step.send, events };
  }

  private candidate(relayed: Endpoint, mapped: Endpoint | undefined): IceCandidate {
    return {
      foundation: candidateFoundation('relay', relayed.address, `${this.server.address}:${this.server.port}`),
      component: 1,
      transport: 'udp',
      priority: candidatePriority(TYPE_PREFERENCE.relay, 0xffff - this.rank),
      address: relayed.address,
      port: relayed.port,
      type: 'relay',
      relatedAddress: mapped?.address ?? '0.0.0.0',
      relatedPort: mapped?.port ?? 0,
    };
  }
}
