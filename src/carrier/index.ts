export * from './crc32c.js';
export * from './sctp-packet.js';
export * from './sctp-policy.js';
export * from './sctp-carrier.js';
export * from './signaling-carrier.js';
export * from './signaling-link.js';
