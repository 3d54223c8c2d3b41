/**
 * GramJS StringSessions whose data centre is a loopback address, for "Telegram is unreachable"
 * tests (the network rules allow no other traffic). In Node, GramJS connects to the session's
 * address on port 80 whatever port the session holds (`port: this.useWSS ? 443 : 80`,
 * node_modules/telegram/client/TelegramClient.js, connect()), so a test picks an address of
 * 127.0.0.0/8 and, for a silent server, listens on its port 80.
 */
import { randomBytes } from 'node:crypto';
import { connect, createServer, type Socket } from 'node:net';

export const GRAMJS_PORT = 80;

/**
 * StringSession v1 (node_modules/telegram/sessions/StringSession.js): "1" + base64(dc id (1),
 * address length (2, BE), address, port (2, BE), auth key (256)).
 */
export function loopbackSession(host: string): string {
  const address = Buffer.from(host);
  const length = Buffer.alloc(2);
  length.writeUInt16BE(address.length);
  const port = Buffer.alloc(2);
  port.writeUInt16BE(GRAMJS_PORT);
  // a made-up auth key: the connection never gets far enough to use it
  return `1${Buffer.concat([Buffer.from([2]), length, address, port, randomBytes(256)]).toString('base64')}`;
}

/** True when nothing accepts a TCP connection on host:80 (refused at once). */
export function isClosed(host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port: GRAMJS_PORT });
    const done = (closed: boolean): void => {
      socket.destroy();
      resolve(closed);
    };
    socket.once('connect', () => done(false));
    socket.once('error', () => done(true));
    socket.setTimeout(1_000, () => done(false));
  });
}

/**
 * A server on host:80 that accepts connections and never answers: Telegram behind a black hole.
 * Undefined when port 80 cannot be bound (not root).
 */
export async function silentServer(host: string): Promise<{ close(): Promise<void> } | undefined> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  const listening = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(GRAMJS_PORT, host, () => resolve(true));
  });
  if (!listening) return undefined;
  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
