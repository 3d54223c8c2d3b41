/**
 * The ICE candidates signalled both ways: ours, kept from the start and sent once our ufrag is
 * known (each line carries it, with tgcalls' network-id/cost), and the peer's, checked before the
 * path mux makes routes to them (malformed, unusable for us, a duplicate or over the cap is a
 * counted drop). It is apart from path-mux.ts because it deals in signalling lines, not
 * datagrams: the mux only hears which peer candidates to route and which of ours to send.
 */
import { sameEndpoint } from './endpoint.js';
import { classifyAddress, formatIceCandidate, parseIceCandidate, type IceCandidate } from './ice-candidate.js';
import type { MuxOutput } from './path-mux-types.js';
import type { RelayPath } from './relay-path.js';

const MAX_REMOTE_CANDIDATES = 64;

export class CandidateExchange {
  private readonly remotes: IceCandidate[] = [];
  private readonly localLines: string[] = [];
  private ufrag: string | undefined;

  /**
   * `relays`: ours, whose server addresses are no peer; `drop` counts a refused candidate by
   * reason (the mux's drop counters).
   */
  constructor(
    private readonly allowLoopbackPeers: boolean,
    private readonly relays: ReadonlyMap<string, RelayPath>,
    private readonly drop: (reason: string) => void,
  ) {}

  /** Our ICE ufrag (from libjuice's local description): every candidate of ours so far goes out. */
  setUfrag(ufrag: string): MuxOutput[] {
    this.ufrag = ufrag;
    return this.localLines.map((line) => ({ kind: 'local-candidate', line: `${line} ufrag ${ufrag} network-id 1 network-cost 10` }) as const);
  }

  /** One of our candidates: out now when the ufrag is known, else with `setUfrag`. */
  addLocal(candidate: IceCandidate, out: MuxOutput[]): void {
    const line = formatIceCandidate(candidate);
    this.localLines.push(line);
    if (this.ufrag !== undefined) out.push({ kind: 'local-candidate', line: `${line} ufrag ${this.ufrag} network-id 1 network-cost 10` });
  }

  /** A candidate the peer signalled (`candidate:…`): the candidate to route, or undefined (dropped). */
  admitRemote(line: string, out: MuxOutput[]): IceCandidate | undefined {
    const candidate = parseIceCandidate(line);
    const reason = candidate ? this.unusable(candidate) : 'malformed';
    if (reason || !candidate) {
      this.drop(`candidate-${reason}`);
      out.push({ kind: 'event', event: { type: 'candidate-dropped', reason: reason ?? 'malformed', candidate: line.slice(0, 160) } });
      return undefined;
    }
    if (this.remotes.some((c) => c.address === candidate.address && c.port === candidate.port)) {
      this.drop('candidate-duplicate');
      return undefined;
    }
    if (this.remotes.length >= MAX_REMOTE_CANDIDATES) {
      this.drop('candidate-overflow');
      return undefined;
    }
    this.remotes.push(candidate);
    return candidate;
  }

  /** Why a peer candidate cannot be used, or undefined. */
  private unusable(c: IceCandidate): string | undefined {
    if (c.component !== 1) return 'component';
    if (c.transport !== 'udp') return 'transport';
    const kind = classifyAddress(c.address);
    if (kind === 'hostname') return c.address.endsWith('.reflector') ? undefined : 'hostname';
    if (kind === 'loopback' && this.allowLoopbackPeers) return undefined;
    if (kind !== 'ipv4' && kind !== 'ipv6') return kind;
    if (c.port === 0) return 'port';
    // A reflector's own address in IP form (ntgcalls' standalone candidates, reflector.md §7) is no peer.
    for (const relay of this.relays.values()) if (sameEndpoint(relay.server, c)) return 'relay-server';
    return undefined;
  }
}
