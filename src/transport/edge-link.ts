/**
 * The call transport's side of the network edge (src/network): making it, what waits while its sockets
 * bind, its events, the route in use, its diagnosis and closing. Apart from call-transport.ts, which
 * drives the sequencer and the peer connection.
 */
import { networkInterfaces } from 'node:os';
import type { Logger } from '../logger.js';
import {
  classifyAddress,
  hostAddresses,
  NetworkEdge,
  parseIceCandidate,
  planServers,
  type CallServerInput,
  type MuxEvent,
  type NetworkEdgeOptions,
  type NetworkEdgePort,
  type PathInfo,
} from '../network/index.js';
import type { NetworkOptions } from './network-options.js';
import type { CandidatePair } from './peer-connection-port.js';

/** What the network edge can say about a call that did not connect. */
export interface TransportDiagnosis {
  /** One line on what was tried (routes, relays and their state, drops). */
  readonly tried: string;
  /** Set when the peer's candidates are out of reach of every path we have: why. */
  readonly noCommonRelay: string | undefined;
}

/** The call transport's options the edge is made from (documented on `CallTransportOptions`). */
export interface EdgeLinkOptions {
  readonly isOutgoing: boolean;
  readonly network?: NetworkOptions;
  readonly relayOnly?: boolean;
  readonly connections?: readonly CallServerInput[];
  readonly standaloneReflectors?: boolean;
  readonly createNetworkEdge?: (options: NetworkEdgeOptions) => NetworkEdgePort | Promise<NetworkEdgePort>;
  /** The transport's logger; the edge logs under its `network` child. */
  readonly logger: Logger;
  /** One of our candidates, made by the edge: to signal. */
  readonly localCandidate: (line: string) => void;
  /** A candidate of the edge's loopback proxies: for libjuice. */
  readonly engineCandidate: (line: string) => void;
  /** libjuice's candidate pair in use (its remote side is one of the edge's proxies). */
  readonly selectedCandidatePair: () => CandidatePair | null;
  /** The edge heard nothing from the peer for a while / hears it again. */
  readonly peerSilent: () => void;
  readonly peerBack: () => void;
  /** The edge could not be made: the transport ends with `error`. */
  readonly fail: (err: unknown) => void;
}

export class EdgeLink {
  private readonly o: EdgeLinkOptions;
  private readonly log: Logger;
  /** The sockets facing the network; libjuice talks only to their loopback proxies. */
  private bound: NetworkEdgePort | undefined;
  /** What was for the edge before its sockets were bound, in order; undefined once released. */
  private queue: ((edge: NetworkEdgePort) => void)[] | undefined = [];
  private opening: Promise<NetworkEdgePort | undefined> | undefined;
  private finalDiagnosis: TransportDiagnosis | undefined;
  private lastPath: PathInfo | undefined;
  private released = false;

  constructor(options: EdgeLinkOptions) {
    this.o = options;
    this.log = options.logger;
  }

  /** The edge, once its sockets are bound (undefined before, and if it was bound after release). */
  get edge(): NetworkEdgePort | undefined {
    return this.bound;
  }

  /** Binds the edge's sockets (asynchronous); what is meant for it meanwhile waits in `queue`. */
  open(): void {
    const o = this.o;
    const network = o.network ?? {};
    const bindAddress = network.bindAddress;
    const allowDirect = !(o.relayOnly ?? false);
    const interfaces = networkInterfaces();
    const options: NetworkEdgeOptions = {
      isOutgoing: o.isOutgoing,
      allowDirect,
      servers: planServers({
        connections: o.connections ?? [],
        ...(network.iceServers ? { iceServers: network.iceServers } : {}),
        allowDirect,
        ipv6: hostAddresses(interfaces).ipv6.length > 0,
      }),
      ...(bindAddress !== undefined ? { bindAddress } : {}),
      ...(network.portRange ? { portRange: network.portRange } : {}),
      standaloneReflectors: o.standaloneReflectors ?? false,
      // Calls on one machine (tests, demos) bind loopback: their peers are loopback addresses too.
      allowLoopbackPeers: bindAddress !== undefined && classifyAddress(bindAddress) === 'loopback',
      interfaces,
      logger: o.logger.child('network'),
      sink: {
        localCandidate: o.localCandidate,
        engineCandidate: o.engineCandidate,
        event: (event) => this.onEvent(event),
      },
    };
    const attach = (edge: NetworkEdgePort): void => {
      const queue = this.queue;
      if (!queue) return;
      this.bound = edge;
      this.queue = undefined;
      edge.start();
      for (const fn of queue) fn(edge);
    };
    try {
      const made = (o.createNetworkEdge ?? ((opts: NetworkEdgeOptions) => NetworkEdge.open(opts)))(options);
      if (made instanceof Promise) {
        this.opening = made.then(
          (edge) => {
            attach(edge);
            return edge;
          },
          (err: unknown) => {
            o.fail(err);
            return undefined;
          },
        );
      } else {
        attach(made);
      }
    } catch (err) {
      o.fail(err);
    }
  }

  /** Runs `fn` on the edge now, or once its sockets are bound (never after release). */
  with(fn: (edge: NetworkEdgePort) => void): void {
    if (this.bound) fn(this.bound);
    else this.queue?.push(fn);
  }

  /** libjuice's own candidate: its loopback address, where the proxies deliver. Never signalled. */
  engineCandidate(line: string): void {
    const c = parseIceCandidate(line);
    if (!c || c.type !== 'host' || classifyAddress(c.address) !== 'loopback') return;
    const endpoint = { address: c.address, port: c.port };
    this.with((edge) => edge.setEngineEndpoint(endpoint));
  }

  /** The route carrying the call: which kind of path, which peer address, which relay server. */
  path(): PathInfo | undefined {
    // After close, or once the peer's close_notify took the pair away: the route the call last
    // had (looked up at least at 'connected'), so a call the peer ended still reports how it went.
    if (this.released) return this.lastPath;
    const pair = this.o.selectedCandidatePair();
    const edge = this.bound;
    const path = pair && edge ? edge.pathInfo(pair.remote.port) : undefined;
    if (path) this.lastPath = path;
    return path;
  }

  /**
   * The transport is closing: nothing more waits for the edge. What it tried and the route are
   * kept before its routes are forgotten (the `closed` listener reads them).
   */
  release(): void {
    this.queue = undefined;
    this.finalDiagnosis = diagnose(this.bound);
    this.lastPath = this.path() ?? this.lastPath;
    this.released = true;
  }

  /** What the network edge tried (routes, relays, drops) and whether no path could reach the peer. */
  diagnosis(): TransportDiagnosis | undefined {
    return this.finalDiagnosis ?? diagnose(this.bound);
  }

  /** Closes the edge, or the one still being opened once it exists. */
  close(reportError: (err: unknown) => void): Promise<void> {
    if (this.bound) return this.bound.close().catch((err: unknown) => reportError(err));
    return this.opening?.then((edge) => edge?.close()).catch(() => undefined) ?? Promise.resolve();
  }

  private onEvent(event: MuxEvent): void {
    switch (event.type) {
      case 'peer-moved':
        this.log.info('the peer moved', { path: event.path, from: event.from, to: event.to });
        break;
      case 'relay-ready':
        this.log.debug('relay ready', { path: event.path });
        break;
      case 'relay-failed':
        this.log.warn('relay unusable', { path: event.path, reason: event.reason });
        break;
      case 'candidate-dropped':
        this.log.debug('peer candidate dropped', { reason: event.reason, candidate: event.candidate });
        break;
      case 'peer-silent':
        // libjuice says nothing until its consent expires (~30 s): the edge's silence watch starts
        // the reconnect deadline instead, like a 'disconnected' peer connection.
        this.log.warn('nothing from the peer', { ms: event.silentForMs, path: this.path() });
        this.o.peerSilent();
        break;
      case 'peer-back':
        this.log.info('the peer is heard again');
        this.o.peerBack();
        break;
    }
  }
}

function diagnose(edge: NetworkEdgePort | undefined): TransportDiagnosis | undefined {
  return edge ? { tried: edge.describe(), noCommonRelay: edge.noCommonRelay() } : undefined;
}
