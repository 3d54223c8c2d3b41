/**
 * A recording, transparent `NetworkEdgePort` for CallTransport tests: no socket. Peer candidates
 * pass straight to the peer connection once the remote description is applied (as the real edge
 * announces its proxies), and `sink.localCandidate` lets a test play the edge gathering ours.
 */
import type { EdgeStats, NetworkEdgeOptions, NetworkEdgePort, NetworkEdgeSink, PathInfo } from '../../src/network/index.js';

export class FakeNetworkEdge implements NetworkEdgePort {
  readonly calls: string[] = [];
  readonly credentials: { ufrag: string; pwd: string }[] = [];
  closed = false;
  private applied = false;
  private held: string[] = [];

  constructor(readonly options: NetworkEdgeOptions) {}

  get sink(): NetworkEdgeSink {
    return this.options.sink;
  }

  start(): void {
    this.calls.push('start');
  }

  setLocalCredentials(ufrag: string, pwd: string): void {
    this.calls.push('setLocalCredentials');
    this.credentials.push({ ufrag, pwd });
  }

  setEngineEndpoint(): void {
    this.calls.push('setEngineEndpoint');
  }

  remoteDescriptionApplied(): void {
    this.calls.push('remoteDescriptionApplied');
    this.applied = true;
    const held = this.held;
    this.held = [];
    for (const line of held) this.sink.engineCandidate(line);
  }

  addRemoteCandidate(line: string): void {
    this.calls.push('addRemoteCandidate');
    if (this.applied) this.sink.engineCandidate(line);
    else this.held.push(line);
  }

  connected(): void {
    this.calls.push('connected');
  }

  pathInfo(): PathInfo | undefined {
    return undefined;
  }

  getStats(): EdgeStats {
    return { routes: 0, routesRefused: 0, peerMoves: 0, dropped: {}, sendErrors: 0, dtls: { replayed: 0, duplicated: 0, flightsResent: 0, flightTimeouts: 0 }, relays: [] };
  }

  farewell(): Promise<void> {
    return Promise.resolve();
  }

  describe(): string {
    return 'fake network edge';
  }

  noCommonRelay(): string | undefined {
    return undefined;
  }

  close(): Promise<void> {
    this.calls.push('close');
    this.closed = true;
    return Promise.resolve();
  }
}

export function fakeNetworkEdges() {
  const made: FakeNetworkEdge[] = [];
  return {
    made,
    create: (options: NetworkEdgeOptions): FakeNetworkEdge => {
      const edge = new FakeNetworkEdge(options);
      made.push(edge);
      return edge;
    },
  };
}
