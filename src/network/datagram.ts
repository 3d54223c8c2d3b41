/**
 * What every path core returns (EDGE.md, "Contract for every path core"): what its adapter must
 * put on the wire, in order, and the events for the mux, in order. Cores never touch sockets.
 * The same shape as reflector-client.ts's `ReflectorClientOutput` (`send` of `{ to, data }`), so
 * the mux drives every path core the same way.
 */
import type { Endpoint } from './endpoint.js';

export interface Datagram {
  readonly to: Endpoint;
  readonly data: Uint8Array;
}

export interface CoreStep<E> {
  readonly send: Datagram[];
  readonly events: E[];
}

export function emptyStep<E>(): CoreStep<E> {
  return { send: [], events: [] };
}
