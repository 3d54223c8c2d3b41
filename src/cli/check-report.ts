/**
 * What `tgcall check` found, and how it is printed (pure: a report in, lines out). A step passes,
 * fails, or is skipped because an earlier one failed; each carries its own duration and a detail
 * line (times, path, version, tone shares). Nothing here may hold key material or a session
 * string: the emoji are the only thing derived from the key, and they are made to be shown.
 */
import type { PathInfo } from '../network/index.js';

export type StepStatus = 'pass' | 'fail' | 'skip';

export interface CheckStep {
  readonly name: string;
  readonly status: StepStatus;
  /** How long the step took, ms (none when skipped). */
  readonly ms?: number;
  /** Times, path, version, shares; on failure the error (with its code). */
  readonly detail?: string;
  /** The typed error code of a failure, when there was one. */
  readonly code?: string;
}

/** `p2p`: what the server allows (direct when possible); `relay-only`: both phones set `relayOnly`. */
export type CheckVariant = 'p2p' | 'relay-only';

export interface CheckVariantReport {
  readonly variant: CheckVariant;
  readonly steps: readonly CheckStep[];
  /** The negotiated library version (`call.version`). */
  readonly version?: string;
  /** `call.getStats().connection.path` on each side once connected. */
  readonly paths?: { readonly caller?: PathInfo; readonly callee?: PathInfo };
}

export interface CheckReport {
  /** 'fake' (in this process) or 'telegram'. */
  readonly against: 'fake' | 'telegram';
  /** Logging in both accounts (and finding B from A). */
  readonly login: CheckStep;
  readonly variants: readonly CheckVariantReport[];
  readonly ok: boolean;
  readonly totalMs: number;
}

/** One step as a line: `  PASS  A calls B            312 ms  detail`. */
export function formatStep(step: CheckStep): string {
  const status = step.status === 'pass' ? 'PASS' : step.status === 'fail' ? 'FAIL' : 'skip';
  const ms = step.ms === undefined ? '' : `${Math.round(step.ms)} ms`;
  const line = `  ${status}  ${step.name.padEnd(26)} ${ms.padStart(8)}${step.detail ? `  ${step.detail}` : ''}`;
  return line.trimEnd();
}

export function variantTitle(variant: CheckVariant): string {
  return variant === 'p2p' ? 'call 1: as the server allows (p2p when possible)' : 'call 2: relay only (relayOnly: true on both phones)';
}

/** `reflector 91.108.13.2:599 (relay0 -> reflector port 3)`, `host 192.0.2.1:5000`. */
export function describePath(path: PathInfo | undefined): string {
  if (!path) return 'unknown';
  const via = path.server ? ` via ${path.server}` : '';
  return `${path.kind}${via} (${path.local} -> ${path.remote})`;
}

/** The closing lines: the verdict, the version and paths per call, and what failed. */
export function formatSummary(report: CheckReport): string[] {
  const lines = [''];
  for (const v of report.variants) {
    const paths = v.paths ? `caller ${describePath(v.paths.caller)}, callee ${describePath(v.paths.callee)}` : 'not connected';
    lines.push(`${v.variant.padEnd(10)} version ${v.version ?? '-'}; path ${paths}`);
  }
  const failed = [report.login, ...report.variants.flatMap((v) => v.steps.map((s) => ({ ...s, name: `${v.variant}: ${s.name}` })))].filter(
    (s) => s.status === 'fail',
  );
  const seconds = (report.totalMs / 1000).toFixed(1);
  if (report.ok) lines.push(`check passed in ${seconds} s`);
  else lines.push(`check FAILED in ${seconds} s: ${failed.map((s) => s.name + (s.code ? ` [${s.code}]` : '')).join('; ') || 'not run'}`);
  return lines;
}

/** The whole report as text (what `tgcall check` prints step by step, then the summary). */
export function formatCheckReport(report: CheckReport): string[] {
  const lines = [checkHeader(report.against), formatStep(report.login)];
  for (const v of report.variants) lines.push(variantTitle(v.variant), ...v.steps.map(formatStep));
  return [...lines, ...formatSummary(report)];
}

export function checkHeader(against: CheckReport['against']): string {
  return against === 'fake'
    ? 'tgcall check against the built-in fake Telegram (in this process, on loopback)'
    : 'tgcall check against Telegram: account A calls account B';
}
