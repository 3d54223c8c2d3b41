/**
 * Binding the edge's sockets. Every failure is a typed `TransportError` in JavaScript: binding
 * them here instead of inside libjuice is what keeps a taken port range or a wrong bind address
 * from aborting the process (libjuice throws on its own thread, issue 15 defect 1).
 */
import { createSocket, type Socket, type SocketType } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { lookup, type LookupOneOptions } from 'node:dns';
import { isIP } from 'node:net';
import { TransportError, toError } from '../errors.js';

export interface PortRange {
  readonly begin: number;
  readonly end: number;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;

/**
 * node:dgram passes the address of every send (and bind, connect) through its `lookup`, by default
 * dns.lookup, which answers even an IP literal on the next tick: a closure, a nextTick and an
 * async-hooks scope per datagram, two datagrams per media packet on the edge. The edge only sends
 * to IP literals (server names are resolved once, edge-sockets.ts resolveHost), so a literal is
 * answered at once, with the same address and family dns.lookup would give; a name still goes to
 * dns.lookup.
 */
export function literalLookup(hostname: string, options: LookupOneOptions | number, callback: LookupCallback): void {
  const family = isIP(hostname);
  if (family !== 0) callback(null, hostname, family);
  else lookup(hostname, typeof options === 'number' ? { family: options } : options, callback);
}

function bindOnce(type: SocketType, address: string, port: number, ipv6Only: boolean): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket({ type, ipv6Only, reuseAddr: false, lookup: literalLookup });
    const onError = (err: Error): void => {
      socket.removeListener('listening', onListening);
      try {
        socket.close();
      } catch {
        // never bound
      }
      reject(err);
    };
    const onListening = (): void => {
      socket.removeListener('error', onError);
      resolve(socket);
    };
    socket.once('error', onError);
    socket.once('listening', onListening);
    try {
      socket.bind(port, address);
    } catch (err) {
      onError(toError(err));
    }
  });
}

/**
 * Binds a UDP socket on `address`, on any port or on a free one of `range` (tried from a random
 * start, each once). Rejects with `BIND_FAILED` or `PORT_RANGE_EXHAUSTED`.
 */
export async function bindUdp(family: 4 | 6, address: string, range?: PortRange): Promise<Socket> {
  const type: SocketType = family === 4 ? 'udp4' : 'udp6';
  if (!range) {
    try {
      return await bindOnce(type, address, 0, family === 6);
    } catch (err) {
      throw new TransportError('BIND_FAILED', `cannot bind a UDP socket on ${address}: ${toError(err).message}`, { cause: err });
    }
  }
  const size = range.end - range.begin + 1;
  const start = randomInt(0, size);
  let last: unknown;
  for (let i = 0; i < size; i++) {
    const port = range.begin + ((start + i) % size);
    try {
      return await bindOnce(type, address, port, family === 6);
    } catch (err) {
      last = err;
      const code = (err as NodeJS.ErrnoException).code;
      // Only a taken port moves on to the next one; any other failure is the address's.
      if (code !== 'EADDRINUSE' && code !== 'EACCES') {
        throw new TransportError('BIND_FAILED', `cannot bind a UDP socket on ${address}: ${toError(err).message}`, { cause: err });
      }
    }
  }
  throw new TransportError('PORT_RANGE_EXHAUSTED', `no free UDP port in ${range.begin}-${range.end} on ${address}`, { cause: last });
}

/** Resolves once the socket's handle is released. */
export function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}
