export * from './messages.js';
export * from './negotiation.js';
export * from './sdp.js';
export * from './ice-servers.js';
export * from './rtp-demux.js';
export { liveNativeHandles, liveNativeHandlesByKind, type NativeHandleKind } from './native-handles.js';
export { preloadPeerConnections, type CandidateInfo, type CandidatePair } from './peer-connection.js';
export type { NetworkOptions, PortRange } from './network-options.js';
export * from './call-transport.js';
