/**
 * The network edge: every socket of a call that faces the network is tgcall's (direct UDP, TURN,
 * Telegram reflectors); libjuice runs ICE/DTLS/SCTP on loopback proxies behind it.
 */
export * from './endpoint.js';
export { parseIceCandidate, formatIceCandidate, classifyAddress, type IceCandidate, type CandidateType } from './ice-candidate.js';
export { NetworkEdge, type NetworkEdgeOptions, type NetworkEdgePort, type NetworkEdgeSink, type EdgeStats } from './network-edge.js';
export type { PathInfo, MuxEvent } from './path-mux.js';
export { planServers, type ServerPlan, type CallServerInput, type IceServerInput, type WebrtcServerInput } from './server-plan.js';
export { hostAddresses, isLocalAddress, type HostAddresses } from './host-addresses.js';
export type { PortRange } from './udp-bind.js';
