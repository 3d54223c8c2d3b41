export * from './messages.js';
export * from './negotiation.js';
export * from './sdp.js';
export * from './ice-servers.js';
export * from './rtp-demux.js';
export { liveNativeHandles, liveNativeHandlesByKind, type NativeHandleKind } from './native-handles.js';
export { preloadPeerConnections } from './peer-connection.js';
export type {
  CandidateInfo,
  CandidatePair,
  CreatePeerConnection,
  PeerConnectionOptions,
  PeerConnectionPort,
  PeerConnectionSink,
} from './peer-connection-port.js';
export type { NetworkOptions, PortRange } from './network-options.js';
export { TransportSequencer } from './transport-sequencer.js';
export type { SequencerStats, TransportOutput, TransportSequencerOptions } from './transport-types.js';
export * from './call-transport.js';
