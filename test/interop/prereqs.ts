/**
 * Can interop tests run here? They need root (network namespaces), iproute2 and the ntgcalls
 * virtualenvs made by `.ci/interop-setup.sh`. Outside CI a missing prerequisite is a loud skip;
 * with CI=true it is a failure, so a broken CI machine cannot turn the interop suite green.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const NTGCALLS_VERSIONS = ['2.2.5', '3.0.5'] as const;
export type NtgcallsVersion = (typeof NTGCALLS_VERSIONS)[number];

const CHECK_TIMEOUT_MS = 20_000;

/** test/interop/ as a directory path with a trailing slash. */
export const INTEROP_DIR = fileURLToPath(new URL('./', import.meta.url));

export function venvPython(version: NtgcallsVersion): string {
  return `${INTEROP_DIR}.venv-${version}/bin/python`;
}

export function peerScript(): string {
  return `${INTEROP_DIR}ntgcalls_peer.py`;
}

export type Prereq = { ok: true } | { ok: false; reason: string };

const cache = new Map<string, Prereq>();

/** Root, `ip`, a working `ip netns add/delete`. Synchronous so test files can gate at collection. */
export function checkNetnsPrereqs(): Prereq {
  const hit = cache.get('netns');
  if (hit) return hit;
  const result = netnsPrereqs();
  cache.set('netns', result);
  return result;
}

/** Everything `checkNetnsPrereqs` needs plus the venv of `version` importing that ntgcalls. */
export function checkNtgcallsPrereqs(version: NtgcallsVersion): Prereq {
  const base = checkNetnsPrereqs();
  if (!base.ok) return base;
  const hit = cache.get(version);
  if (hit) return hit;
  const result = venvPrereq(version);
  cache.set(version, result);
  return result;
}

/**
 * Turns a prerequisite result into "run or skip": throws with CI=true, otherwise prints a loud
 * skip notice and returns false.
 */
export function interopGate(what: string, prereq: Prereq): boolean {
  if (prereq.ok) return true;
  const message = `interop ${what}: prerequisite missing: ${prereq.reason}. Fix: bash .ci/interop-setup.sh creates the venvs; the tests must run as root on Linux`;
  if (process.env.CI === 'true') throw new Error(`${message} (CI=true: failing instead of skipping)`);
  process.stderr.write(`\n*** SKIPPING ${message} ***\n\n`);
  return false;
}

function netnsPrereqs(): Prereq {
  if (process.platform !== 'linux') return { ok: false, reason: `platform ${process.platform} is not linux` };
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    return { ok: false, reason: 'not running as root (network namespaces need CAP_NET_ADMIN/CAP_SYS_ADMIN)' };
  }
  const ipVersion = spawnSync('ip', ['-V'], { encoding: 'utf8', timeout: CHECK_TIMEOUT_MS });
  if (ipVersion.error || ipVersion.status !== 0) return { ok: false, reason: '`ip` (iproute2) not found' };
  const probe = `tgcall-probe-${process.pid}`;
  const add = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8', timeout: CHECK_TIMEOUT_MS });
  spawnSync('ip', ['netns', 'delete', probe], { encoding: 'utf8', timeout: CHECK_TIMEOUT_MS });
  if (add.status !== 0) return { ok: false, reason: `ip netns add failed: ${(add.stderr ?? '').trim()}` };
  return { ok: true };
}

function venvPrereq(version: NtgcallsVersion): Prereq {
  const python = venvPython(version);
  if (!existsSync(python)) return { ok: false, reason: `virtualenv missing: ${python}` };
  const check = spawnSync(python, ['-c', 'import ntgcalls; print(ntgcalls.__version__)'], {
    encoding: 'utf8',
    timeout: CHECK_TIMEOUT_MS,
  });
  if (check.status !== 0) {
    return { ok: false, reason: `${python} cannot import ntgcalls: ${(check.stderr ?? '').trim().slice(-300)}` };
  }
  const got = check.stdout.trim();
  if (got !== version) return { ok: false, reason: `${python} has ntgcalls ${got}, expected ${version}` };
  return { ok: true };
}
