/**
 * A throwaway network namespace for interop calls. WebRTC ignores loopback interfaces
 * (ntgcalls-peer.md §2.4), so the phones need a real interface: the namespace holds a veth pair
 * with 10.77.<subnet>.1 and .2. Everything a test sends stays inside the namespace it made.
 *
 * With `hostSide: true` the .1 end stays in the test process's own namespace instead, so an
 * in-process stack (node-datachannel bound to `hostAddress`) can reach a phone spawned inside.
 * `createNetnsPair` makes two namespaces joined by one veth, a phone process in each.
 */
import { execFile, execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomInt } from 'node:crypto';

const IP_TIMEOUT_MS = 10_000;
const NAME_PREFIX = 'tgcall-it';

export interface NetnsOptions {
  /** Third octet of 10.77.x.0/24; random in 1..254 when omitted. */
  subnet?: number;
  /** Keep the .1 end of the veth pair in the caller's namespace (see file comment). */
  hostSide?: boolean;
}

export interface Netns {
  readonly name: string;
  /** 10.77.x.1: inside the namespace, or in the test's own namespace with `hostSide`. */
  readonly hostAddress: string;
  /** 10.77.x.2: always inside the namespace. */
  readonly peerAddress: string;
  readonly hostSide: boolean;
  /** Wall time `createNetns` took, in ms. */
  readonly createMs: number;
  /** Runs `command args` inside the namespace (`ip netns exec`). The child's pid is the command's. */
  spawn(command: string, args: readonly string[], options?: SpawnOptions): ChildProcess;
  /** Runs a short command inside the namespace and returns its stdout. Bounded by `timeoutMs`. */
  exec(command: string, args: readonly string[], timeoutMs?: number): Promise<string>;
  /** Deletes the namespace (and with it both veth ends). Idempotent. */
  remove(): Promise<void>;
}

const live = new Set<string>();
let exitHookInstalled = false;
let sequence = 0;

/** Creates a uniquely named namespace with a veth pair, both ends and `lo` up. */
export async function createNetns(options: NetnsOptions = {}): Promise<Netns> {
  const started = performance.now();
  installExitHook();
  await removeStaleNetns();
  const hostSide = options.hostSide ?? false;
  const subnet = options.subnet ?? (hostSide ? await freeHostSubnet() : randomInt(1, 255));
  if (!Number.isInteger(subnet) || subnet < 0 || subnet > 255) throw new RangeError(`bad subnet ${subnet}`);
  sequence += 1;
  const name = `${NAME_PREFIX}-${process.pid}-${sequence}`;
  // Interface names are per namespace, except the host end, which must not clash in ours.
  const hostIf = hostSide ? `tgit${process.pid % 100000}x${sequence % 100}` : 'veth0';
  const hostAddress = `10.77.${subnet}.1`;
  const peerAddress = `10.77.${subnet}.2`;

  await ip(['netns', 'add', name]);
  live.add(name);
  try {
    if (hostSide) {
      await ip(['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'veth1', 'netns', name]);
      await ip(['addr', 'add', `${hostAddress}/24`, 'dev', hostIf]);
      await ip(['link', 'set', hostIf, 'up']);
      await ip(['-n', name, '-batch', '-'], [
        `addr add ${peerAddress}/24 dev veth1`,
        'link set lo up',
        'link set veth1 up',
      ]);
    } else {
      await ip(['-n', name, '-batch', '-'], [
        'link add veth0 type veth peer name veth1',
        `addr add ${hostAddress}/24 dev veth0`,
        `addr add ${peerAddress}/24 dev veth1`,
        'link set lo up',
        'link set veth0 up',
        'link set veth1 up',
      ]);
    }
  } catch (err) {
    await deleteNetns(name);
    throw err;
  }
  const createMs = performance.now() - started;

  return { ...handle(name), hostAddress, peerAddress, hostSide, createMs };
}

/** A namespace with only `lo` (up): the caller brings its own interface (impairment-relay.ts). */
export type BareNetns = Pick<Netns, 'name' | 'spawn' | 'exec' | 'remove'>;

export async function createBareNetns(): Promise<BareNetns> {
  installExitHook();
  await removeStaleNetns();
  sequence += 1;
  const name = `${NAME_PREFIX}-${process.pid}-${sequence}`;
  await ip(['netns', 'add', name]);
  live.add(name);
  try {
    await ip(['-n', name, 'link', 'set', 'lo', 'up']);
  } catch (err) {
    await deleteNetns(name);
    throw err;
  }
  return handle(name);
}

function handle(name: string): BareNetns {
  return {
    name,
    spawn(command, args, spawnOptions = {}) {
      return spawn('ip', ['netns', 'exec', name, command, ...args], spawnOptions);
    },
    exec(command, args, timeoutMs = IP_TIMEOUT_MS) {
      return run('ip', ['netns', 'exec', name, command, ...args], timeoutMs);
    },
    remove: () => deleteNetns(name),
  };
}

/** One end of a `NetnsPair`: a namespace holding one end of the veth that joins the two. */
export interface NetnsEnd {
  readonly name: string;
  /** The veth end inside this namespace (`veth0` in a, `veth1` in b). */
  readonly iface: string;
  /** Its first address: 10.77.x.1 in a, 10.77.x.2 in b. */
  readonly address: string;
  spawn(command: string, args: readonly string[], options?: SpawnOptions): ChildProcess;
  exec(command: string, args: readonly string[], timeoutMs?: number): Promise<string>;
  /** `ip <args>` inside this namespace (`ip -n <name> …`). */
  ip(args: readonly string[]): Promise<string>;
}

export interface NetnsPair {
  readonly a: NetnsEnd;
  readonly b: NetnsEnd;
  /** Third octet of the pair's 10.77.x.0/24. */
  readonly subnet: number;
  /** Deletes both namespaces (and the veth). Idempotent. */
  remove(): Promise<void>;
}

/**
 * Two namespaces joined by one veth, so packets between the two ends really cross a link that a
 * test can re-address or take down (network-change.md rule 8: ends in one namespace talk via
 * `lo`). Neither namespace has a route beyond 10.77.x.0/24: nothing sent inside can leave the
 * pair, also while a test has the link down. `promote_secondaries` is on, so deleting the first
 * address keeps a second one of the same /24 (network-change.md "Test-setup pitfall").
 */
export async function createNetnsPair(options: { subnet?: number } = {}): Promise<NetnsPair> {
  installExitHook();
  await removeStaleNetns();
  const subnet = options.subnet ?? randomInt(1, 255);
  if (!Number.isInteger(subnet) || subnet < 0 || subnet > 255) throw new RangeError(`bad subnet ${subnet}`);
  const names: string[] = [];
  const end = (iface: string, host: number): NetnsEnd => {
    sequence += 1;
    const name = `${NAME_PREFIX}-${process.pid}-${sequence}`;
    names.push(name);
    return {
      name,
      iface,
      address: `10.77.${subnet}.${host}`,
      spawn: (command, args, spawnOptions = {}) => spawn('ip', ['netns', 'exec', name, command, ...args], spawnOptions),
      exec: (command, args, timeoutMs = IP_TIMEOUT_MS) => run('ip', ['netns', 'exec', name, command, ...args], timeoutMs),
      ip: (args) => ip(['-n', name, ...args]),
    };
  };
  const a = end('veth0', 1);
  const b = end('veth1', 2);
  const remove = async (): Promise<void> => {
    for (const name of names) await deleteNetns(name);
  };
  try {
    for (const side of [a, b]) {
      await ip(['netns', 'add', side.name]);
      live.add(side.name);
    }
    await ip(['-n', a.name, 'link', 'add', a.iface, 'type', 'veth', 'peer', 'name', b.iface, 'netns', b.name]);
    for (const side of [a, b]) {
      await side.exec('sysctl', ['-qw', 'net.ipv4.conf.all.promote_secondaries=1', `net.ipv4.conf.${side.iface}.promote_secondaries=1`]);
      await ip(['-n', side.name, '-batch', '-'], [`addr add ${side.address}/24 dev ${side.iface}`, 'link set lo up', `link set ${side.iface} up`]);
    }
  } catch (err) {
    await remove();
    throw err;
  }
  return { a, b, subnet, remove };
}

/** Names of all namespaces on the machine (`ip netns list`). */
export async function listNetns(): Promise<string[]> {
  const out = await run('ip', ['netns', 'list'], IP_TIMEOUT_MS);
  return out
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n.length > 0);
}

/**
 * Deletes namespaces left behind by test processes that died without cleaning up (their pid is
 * part of the name). Returns the names removed.
 */
export async function removeStaleNetns(): Promise<string[]> {
  const removed: string[] = [];
  const pattern = new RegExp(`^${NAME_PREFIX}-(\\d+)-\\d+$`);
  for (const name of await listNetns()) {
    const m = pattern.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || isAlive(pid)) continue;
    await deleteNetns(name);
    removed.push(name);
  }
  return removed;
}

async function deleteNetns(name: string): Promise<void> {
  live.delete(name);
  try {
    await run('ip', ['netns', 'delete', name], IP_TIMEOUT_MS);
  } catch (err) {
    // Already gone is success: removal is idempotent.
    if (!/No such file|not found|Cannot remove/i.test(String((err as Error).message))) throw err;
  }
}

/** A 10.77.x.0/24 not yet used in our own namespace (only matters with `hostSide`). */
export async function freeHostSubnet(): Promise<number> {
  const used = await run('ip', ['-4', '-o', 'addr', 'show'], IP_TIMEOUT_MS);
  for (let attempt = 0; attempt < 64; attempt += 1) {
    const x = randomInt(1, 255);
    if (!used.includes(`10.77.${x}.`)) return x;
  }
  throw new Error('no free 10.77.x.0/24 subnet found in 64 tries');
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Last resort for a test that throws past its cleanup: delete what is still ours at exit. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const name of live) {
      try {
        execFileSync('ip', ['netns', 'delete', name], { stdio: 'ignore', timeout: IP_TIMEOUT_MS });
      } catch {
        // nothing more can be done while exiting
      }
    }
    live.clear();
  });
}

/** Runs `ip args` (bounded by a timeout); `stdinLines` for `-batch -`. */
export function ip(args: readonly string[], stdinLines?: readonly string[]): Promise<string> {
  return run('ip', args, IP_TIMEOUT_MS, stdinLines ? stdinLines.join('\n') + '\n' : undefined);
}

function run(command: string, args: readonly string[], timeoutMs: number, input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, [...args], { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`${command} ${args.join(' ')} failed: ${stderr.trim() || err.message}`));
        return;
      }
      resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}
