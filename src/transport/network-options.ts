/**
 * The network settings of a call's transport, declared once and passed down as one `network`
 * field (call → connection → transport → peer connection); only the node-datachannel boundary
 * (peer-connection.ts) spreads them into its own configuration.
 */
import type { IceServer } from 'node-datachannel';

/** A local UDP port range, both ends included. */
export interface PortRange {
  readonly begin: number;
  readonly end: number;
}

export interface NetworkOptions {
  /** From `iceServersFromConnections(call.connections)`. */
  readonly iceServers?: readonly (string | IceServer)[];
  /** Local address to bind ICE sockets to (tests bind 127.0.0.1: libjuice then gathers the loopback candidate). */
  readonly bindAddress?: string;
  /** Local UDP port range for ICE. */
  readonly portRange?: PortRange;
  /** From `start()` to connected, and the longest tolerated loss of connectivity. Default 20000 (tgcalls). */
  readonly connectTimeoutMs?: number;
}
