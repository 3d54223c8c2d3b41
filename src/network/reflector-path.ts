/**
 * A Telegram reflector as one of the edge's relays: `ReflectorClient` (the protocol,
 * reflector-client.ts) behind the `RelayPath` contract the path mux drives.
 *
 * A reflector carries datagrams only between ports of the same server (reflector.md §5.2): a
 * peer candidate is reachable through it iff it is `reflector-<our serverId>-<id>.reflector` on
 * this server's port.
 */
import type { Endpoint } from './endpoint.js';
import type { IceCandidate } from './ice-candidate.js';
import { ReflectorClient, type ReflectorClientOptions, type ReflectorClientOutput } from './reflector-client.js';
import { parseReflectorHostname, REFLECTOR_TCP_CANDIDATE_PRIORITY, REFLECTOR_UDP_CANDIDATE_PRIORITY, reflectorHostname } from './reflector-codec.js';
import type { RelayEvent, RelayPath, RelayPathStats, RelayPeer, RelayStep, RelayWire } from './relay-path.js';

export class ReflectorPath implements RelayPath {
  readonly kind = 'reflector' as const;
  readonly server: Endpoint;
  readonly transport: 'udp' | 'tcp';
  private readonly client: ReflectorClient;
  private failed = false;

  constructor(options: ReflectorClientOptions) {
    this.client = new ReflectorClient(options);
    this.server = this.client.server;
    this.transport = this.client.transport;
  }

  get serverId(): number {
    return this.client.serverId;
  }

  get myId(): number {
    return this.client.myId;
  }

  start(now: number): RelayStep {
    return this.step(this.client.start(now));
  }

  receive(data: Uint8Array, from: Endpoint, now: number): RelayStep {
    return this.step(this.client.receive(data, from, now));
  }

  send(peer: RelayPeer, payload: Uint8Array, now: number): RelayStep {
    return typeof peer === 'number' ? this.step(this.client.sendTo(peer, payload, now)) : { wire: [], events: [] };
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

  streamConnected(now: number): RelayStep {
    return this.step(this.client.connected(now));
  }

  streamClosed(now: number): RelayStep {
    return this.step(this.client.disconnected(now));
  }

  peerFor(candidate: IceCandidate): RelayPeer | undefined {
    const parsed = parseReflectorHostname(candidate.address);
    if (!parsed || parsed.serverId !== this.client.serverId || candidate.port !== this.server.port) return undefined;
    return parsed.id;
  }

  stats(): RelayPathStats {
    const s = this.client.stats;
    const state = this.client.state;
    return {
      state: state === 'unreachable' ? 'failed' : state,
      packetsIn: s.packetsIn,
      packetsOut: s.packetsOut,
      bytesIn: s.bytesIn,
      bytesOut: s.bytesOut,
      dropped: { ...s.dropped },
    };
  }

  private step(output: ReflectorClientOutput): RelayStep {
    const wire: RelayWire[] = output.send.map((d) => (this.transport === 'udp' ? { to: d.to, data: d.data } : { data: d.data }));
    const events: RelayEvent[] = [];
    for (const e of output.events) {
      switch (e.type) {
        case 'ready':
          this.failed = false;
          events.push({ kind: 'ready', candidate: this.candidate(e.hostname, e.port) });
          break;
        case 'data':
          events.push({ kind: 'data', peer: e.senderId, payload: e.payload });
          break;
        case 'state':
          if (e.state === 'unreachable' && !this.failed) {
            this.failed = true;
            events.push({ kind: 'failed', reason: 'no answer from the reflector' });
          } else if (e.state === 'ready' && this.failed) {
            this.failed = false;
            events.push({ kind: 'ready', candidate: undefined });
          }
          break;
        case 'stream-error':
          events.push({ kind: 'failed', reason: `reflector stream: ${e.error}` });
          break;
      }
    }
    return { wire, events };
  }

  private candidate(hostname: string, port: number): IceCandidate {
    return {
      foundation: String(this.client.serverId),
      component: 1,
      // tgcalls signals "udp" over TCP reflectors too; the priority tells them apart (reflector.md §5.1).
      transport: 'udp',
      priority: this.transport === 'tcp' ? REFLECTOR_TCP_CANDIDATE_PRIORITY : REFLECTOR_UDP_CANDIDATE_PRIORITY,
      address: hostname || reflectorHostname(this.client.serverId, this.client.myId),
      port,
      type: 'relay',
    };
  }
}
