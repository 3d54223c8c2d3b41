/**
 * A UDP/TCP transport address, and the one way to key it in maps. A dual-stack socket reports
 * IPv4 peers as IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`); they read as their IPv4 form, so
 * one peer has one key whichever socket saw it.
 */
export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

export function normalizeAddress(address: string): string {
  const lower = address.toLowerCase();
  return lower.startsWith('::ffff:') && lower.includes('.') ? lower.slice(7) : lower;
}

export function endpointKey(endpoint: Endpoint): string {
  return `${normalizeAddress(endpoint.address)}|${endpoint.port}`;
}

export function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.port === b.port && normalizeAddress(a.address) === normalizeAddress(b.address);
}

/** `1.2.3.4:5` or `[2001:db8::1]:5`, for logs and stats. */
export function formatEndpoint(endpoint: Endpoint): string {
  const address = normalizeAddress(endpoint.address);
  return address.includes(':') ? `[${address}]:${endpoint.port}` : `${address}:${endpoint.port}`;
}
