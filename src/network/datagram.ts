/**
 * What every path core returns (EDGE.md, "Contract for every path core"): the datagrams its adapter
 * must put on the wire, in order, and the events for the mux, in order. Cores never touch sockets.
 */
import type { Endpoint } from './endpoint.js';

export interface Datagram {
  readonly to: Endpoint;
  readonly data: Uint8Array;
}

export interface CoreStep<E> {
  readonly datagrams: Datagram[];
  readonly events: E[];
}

export function emptyStep<E>(): CoreStep<E> {
  return { datagrams: [], events: [] };
}
