/**
 * The addresses our host candidates name. Pure over `os.networkInterfaces()`' shape so tests can
 * feed any host. IPv4: every non-internal address. IPv6: global unicast only (no link-local, no
 * loopback, no IPv4-mapped), and only when the host has one: on an IPv4-only host no IPv6
 * socket is opened and no IPv6 relay is used (issue 12 item 3).
 */
import type { NetworkInterfaceInfo } from 'node:os';
import { classifyAddress } from './ice-candidate.js';

export type InterfaceTable = NodeJS.Dict<readonly NetworkInterfaceInfo[]>;

export interface HostAddresses {
  readonly ipv4: readonly string[];
  readonly ipv6: readonly string[];
}

export function hostAddresses(interfaces: InterfaceTable): HostAddresses {
  const ipv4: string[] = [];
  const ipv6: string[] = [];
  for (const list of Object.values(interfaces)) {
    for (const info of list ?? []) {
      if (info.internal) continue;
      const kind = classifyAddress(info.address);
      if (info.family === 'IPv4' && kind === 'ipv4' && !ipv4.includes(info.address)) ipv4.push(info.address);
      else if (info.family === 'IPv6' && kind === 'ipv6' && !ipv6.includes(info.address)) ipv6.push(info.address);
    }
  }
  return { ipv4, ipv6 };
}

/** Whether `address` is one of this host's addresses (any interface, internal ones included). */
export function isLocalAddress(interfaces: InterfaceTable, address: string): boolean {
  const wanted = address.toLowerCase();
  for (const list of Object.values(interfaces)) for (const info of list ?? []) if (info.address.toLowerCase() === wanted) return true;
  return false;
}
