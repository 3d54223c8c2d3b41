/**
 * A real TURN server on loopback for relay-only tests: Debian's coturn (`apt-get install coturn`),
 * started about as in transport-v2.md §6, on a free UDP port, killed by `stop()`.
 *
 * Outside CI a missing `turnserver` is a loud skip; with CI=true it is a failure (`turnGate`), so a
 * broken CI machine cannot turn the relay suites green by skipping them.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';

export interface TurnServer {
  readonly ip: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  /** Kills coturn and waits (bounded) for it to exit. Idempotent. */
  stop(): Promise<void>;
}

export interface TurnServerOptions {
  /** Address coturn listens on. */
  readonly listeningIp: string;
  /**
   * Address of the relayed sockets. Use another loopback IP than the peers' ICE sockets: TURN
   * permissions are per IP, so only then does the TURN server refuse a direct host → relay path,
   * as it does for real (libdatachannel's relay policy only stops advertising non-relay
   * candidates; libjuice still checks from its host socket).
   */
  readonly relayIp: string;
  readonly username?: string;
  readonly password?: string;
  readonly startTimeoutMs?: number;
  /**
   * More coturn options, appended after the defaults (e.g. `--max-allocate-lifetime=4`,
   * `--denied-peer-ip=…`, `--user-quota=1`, `--stale-nonce=…`). Default: none.
   */
  readonly extraArgs?: readonly string[];
}

export function hasTurnserver(): boolean {
  return spawnSync('sh', ['-c', 'command -v turnserver'], { encoding: 'utf8' }).status === 0;
}

/**
 * Run or skip: true when `turnserver` is on the PATH. Without it: throws with CI=true (the suite
 * fails), otherwise prints a loud skip notice and returns false.
 */
export function turnGate(what: string): boolean {
  if (hasTurnserver()) return true;
  const message = `${what}: no \`turnserver\` on the PATH (apt-get install coturn; .ci/run installs it)`;
  if (process.env.CI === 'true') throw new Error(`${message} — CI=true: failing instead of skipping`);
  console.warn(`\n*** SKIPPING ${message} ***\n`);
  return false;
}

export async function freeUdpPort(address: string): Promise<number> {
  const socket = createSocket(address.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, address, resolve);
  });
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

export async function startTurnServer(options: TurnServerOptions): Promise<TurnServer> {
  const username = options.username ?? 'tg';
  const password = options.password ?? 'secret:with:colons';
  const port = await freeUdpPort(options.listeningIp);
  const relayBase = 40000 + (port % 20000);
  const child: ChildProcess = spawn(
    'turnserver',
    [
      '-n',
      `--listening-ip=${options.listeningIp}`,
      `--relay-ip=${options.relayIp}`,
      `--listening-port=${port}`,
      `--min-port=${relayBase}`,
      `--max-port=${relayBase + 200}`,
      `--user=${username}:${password}`,
      '--realm=tgcall',
      '--lt-cred-mech',
      '--allow-loopback-peers',
      '--no-cli',
      '--no-tls',
      '--no-dtls',
      '--no-tcp',
      '--log-file=stdout',
      ...(options.extraArgs ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  let exited = child.exitCode !== null;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const stop = async (): Promise<void> => {
    if (exited) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    await exit;
    clearTimeout(killer);
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`turnserver did not start:\n${log}`)), options.startTimeoutMs ?? 10_000);
      const onData = (d: Buffer): void => {
        log += d.toString();
        if (log.includes('Total General servers')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`turnserver exited with ${code}:\n${log}`));
      });
    });
  } catch (err) {
    await stop();
    throw err;
  }
  // Keep draining its output so coturn never blocks on a full pipe.
  child.stdout!.removeAllListeners('data');
  child.stderr!.removeAllListeners('data');
  child.stdout!.resume();
  child.stderr!.resume();
  return { ip: options.listeningIp, port, username, password, stop };
}
