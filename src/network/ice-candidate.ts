/**
 * ICE candidate lines (RFC 8839 §5.1) as the network edge reads and writes them: the peer's
 * candidates from tgcalls' `Candidates` messages, ours for the peer, and the loopback proxy
 * candidates handed to libjuice. Pure; malformed input gives `undefined`, never a throw.
 */
import { isIP } from 'node:net';

export type CandidateType = 'host' | 'srflx' | 'prflx' | 'relay';

export interface IceCandidate {
  readonly foundation: string;
  readonly component: number;
  /** Lower-case: `udp`, `tcp`. */
  readonly transport: string;
  readonly priority: number;
  /** An IP literal, or a hostname (`reflector-<sid>-<id>.reflector`, mDNS names). */
  readonly address: string;
  readonly port: number;
  readonly type: CandidateType;
  readonly relatedAddress?: string;
  readonly relatedPort?: number;
}

const TYPES = new Set<string>(['host', 'srflx', 'prflx', 'relay']);
const MAX_LINE = 1024;

/** Parses `candidate:…` (with or without `a=`); undefined when malformed or of an unknown type. */
export function parseIceCandidate(line: string): IceCandidate | undefined {
  const text = line.startsWith('a=') ? line.slice(2) : line;
  // Control characters would end the SDP line inside libdatachannel.
  if (text.length > MAX_LINE || /[\x00-\x1f\x7f]/.test(text) || !text.startsWith('candidate:')) return undefined;
  const parts = text.slice('candidate:'.length).split(' ');
  if (parts.length < 8 || parts[6] !== 'typ') return undefined;
  const [foundation, componentText, transport, priorityText, address, portText, , typeText] = parts as [
    string, string, string, string, string, string, string, string,
  ];
  if (!/^[0-9]{1,3}$/.test(componentText) || !/^[0-9]{1,10}$/.test(priorityText) || !/^[0-9]{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  const priority = Number(priorityText);
  const type = typeText.toLowerCase();
  if (port > 65535 || priority > 0xffffffff || foundation === '' || address === '' || !TYPES.has(type)) return undefined;
  let relatedAddress: string | undefined;
  let relatedPort: number | undefined;
  for (let i = 8; i + 1 < parts.length; i += 2) {
    if (parts[i] === 'raddr') relatedAddress = parts[i + 1];
    else if (parts[i] === 'rport' && /^[0-9]{1,5}$/.test(parts[i + 1] ?? '')) relatedPort = Number(parts[i + 1]);
  }
  return {
    foundation,
    component: Number(componentText),
    transport: transport.toLowerCase(),
    priority,
    address,
    port,
    type: type as CandidateType,
    ...(relatedAddress !== undefined ? { relatedAddress } : {}),
    ...(relatedPort !== undefined ? { relatedPort } : {}),
  };
}

/** Writes a candidate line without `a=`, with tgcalls' trailing fields when a ufrag is given. */
export function formatIceCandidate(c: IceCandidate, ufrag?: string): string {
  let line = `candidate:${c.foundation} ${c.component} ${c.transport} ${c.priority} ${c.address} ${c.port} typ ${c.type}`;
  if (c.relatedAddress !== undefined) line += ` raddr ${c.relatedAddress} rport ${c.relatedPort ?? 0}`;
  line += ' generation 0';
  if (ufrag !== undefined) line += ` ufrag ${ufrag} network-id 1 network-cost 10`;
  return line;
}

/** RFC 8445 §5.1.2.1 type preferences, as libwebrtc uses them (relay over UDP = 2). */
export const TYPE_PREFERENCE: Readonly<Record<CandidateType, number>> = { host: 126, prflx: 110, srflx: 100, relay: 2 };

/** RFC 8445 §5.1.2.1: priority of a component-1 candidate. */
export function candidatePriority(typePreference: number, localPreference: number): number {
  const type = Math.min(126, Math.max(0, Math.trunc(typePreference)));
  return type * 0x1000000 + (localPreference & 0xffff) * 0x100 + 255;
}

/** A stable foundation for a local candidate (RFC 8445 §5.1.1.3: same type, base IP, server). */
export function candidateFoundation(type: CandidateType, baseAddress: string, server = ''): string {
  let hash = 2166136261;
  for (const ch of `${type}|${baseAddress}|${server}`) hash = Math.imul(hash ^ ch.charCodeAt(0), 16777619) >>> 0;
  return String(hash);
}

export type AddressClass = 'ipv4' | 'ipv6' | 'unspecified' | 'multicast' | 'broadcast' | 'loopback' | 'link-local' | 'hostname';

/**
 * What a remote candidate address is. Only `ipv4` / `ipv6` (and `loopback` in tests) can be
 * a peer: unspecified, multicast and broadcast addresses are never sent to (issue 12 item 5).
 */
export function classifyAddress(address: string): AddressClass {
  const family = isIP(address);
  if (family === 4) {
    const octets = address.split('.').map(Number) as [number, number, number, number];
    if (address === '0.0.0.0') return 'unspecified';
    if (address === '255.255.255.255') return 'broadcast';
    if (octets[0] >= 224 && octets[0] <= 239) return 'multicast';
    if (octets[0] >= 240) return 'broadcast'; // class E, never a unicast host
    if (octets[0] === 127) return 'loopback';
    if (octets[0] === 169 && octets[1] === 254) return 'link-local';
    return 'ipv4';
  }
  if (family === 6) {
    const lower = address.toLowerCase();
    if (lower.startsWith('::ffff:') && isIP(lower.slice(7)) === 4) return classifyAddress(lower.slice(7));
    if (/^(0*:)*:?0*$/.test(lower) || lower === '::') return 'unspecified';
    if (lower === '::1') return 'loopback';
    if (lower.startsWith('ff')) return 'multicast';
    if (/^fe[89ab]/.test(lower)) return 'link-local';
    return 'ipv6';
  }
  return 'hostname';
}
