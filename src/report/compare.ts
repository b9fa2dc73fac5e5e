/**
 * The policy × scenario matrix of `pinsim compare`: each cell says in a few words what happened
 * (silent corruption, an error the application sees, a truncate that blocks or is refused, a kernel
 * BUG, clean), and the verdict per policy says who is punished: the data, the filesystem user, the
 * RDMA user, the kernel — or nobody. Pure functions over run results.
 */
import { formatTime } from '../engine/clock.js';
import type { RunResult } from '../scenario/run/result.js';
import type { Scenario } from '../scenario/format/types.js';

export type Victim = 'the data' | 'the filesystem' | 'the RDMA user' | 'the kernel';

export interface Cell {
  /** A few words for the matrix. */
  short: string;
  /** One sentence for details and JSON. */
  text: string;
  punished: Victim[];
  /** The run met the scenario's expectation for this policy (skips count as met). */
  met: boolean;
}

/** Violation kinds that mean data silently went wrong, most severe first, with their short names. */
const CORRUPTION: Record<string, string> = {
  'dma-into-reused-page': 'reused-page', 'dma-use-after-free': 'use-after-free', 'lost-write': 'lost-write',
  'dirty-page-without-buffers': 'dirty-no-buffers', 'dummy-page-dma': 'dummy-page', 'incoherent-mapping': 'incoherent',
  'stale-read': 'stale-read', 'notifier-teardown-incomplete': 'teardown-late', 'install-during-invalidation': 'stale-install',
  'pinned-page-moved': 'pinned-moved',
};
const SEVERITY = Object.keys(CORRUPTION);
const TRUNCATES = new Set(['ftruncate', 'truncate', 'fallocate']);
const APP_OPS = new Set(['reg_mr', 'dma_read', 'dma_write', 'poll', 'advise_mr', 'gpu_read', 'gpu_write', 'mirror']);
const APP_ERRORS = /^(E[A-Z0-9]+|device-error|remote-access-error)$/;

function opsOf(s: Scenario): { key: string; op: string }[] {
  return Object.entries(s.actors).flatMap(([a, spec]) => spec.ops.map((o, i) => ({ key: `${a}.${i}`, op: o.op })));
}

/** cellOf() - what one run means, in a few words. */
export function cellOf(s: Scenario, r: RunResult, met: boolean): Cell {
  if (r.outcome === 'skip') return { short: 'skip', text: `does not apply: ${r.skipped ?? ''}`, punished: [], met: true };
  if (r.outcome === 'error') return { short: 'ERROR', text: r.error ?? 'pinsim internal bug', punished: [], met: false };
  const kinds = [...new Set(r.violations.map((v) => v.kind))];
  const shorts: string[] = [];
  const texts: string[] = [];
  const punished = new Set<Victim>();
  if (kinds.includes('kernel-bug')) {
    shorts.push('kernel BUG');
    texts.push('the kernel crashes (BUG)');
    punished.add('the kernel');
  }
  const bad = SEVERITY.filter((k) => kinds.includes(k));
  if (bad.length) {
    shorts.push(CORRUPTION[bad[0] as string] as string);
    texts.push(`silent corruption: ${bad.join(', ')}`);
    punished.add('the data');
  }
  const ops = opsOf(s);
  for (const { key, op } of ops) {
    if (!TRUNCATES.has(op)) continue;
    const res = r.results[key], t = r.ops[key];
    if (res && APP_ERRORS.test(res) && res.startsWith('E')) {
      shorts.push(`${op === 'fallocate' ? 'punch' : 'truncate'} ${res}`);
      texts.push(`${op} refused with ${res}`);
      punished.add('the filesystem');
    } else if (res === 'blocked') {
      shorts.push(`${op === 'fallocate' ? 'punch' : 'truncate'} hangs`);
      texts.push(`${op} never completes`);
      punished.add('the filesystem');
    } else if (t && t.blockedNs >= 1000) {
      shorts.push(`blocked ${formatTime(t.blockedNs)}`);
      texts.push(`${op} blocked ${formatTime(t.blockedNs)}`);
      punished.add('the filesystem');
    }
  }
  const appErr = ops.find(({ key, op }) => APP_OPS.has(op) && APP_ERRORS.test(r.results[key] ?? ''));
  if (appErr) {
    const res = r.results[appErr.key] as string;
    shorts.push(res.startsWith('E') ? `${res}@${appErr.op}` : res === 'remote-access-error' ? 'access-error' : res);
    texts.push(`the application sees ${res} at ${appErr.op}`);
    punished.add('the RDMA user');
  }
  if (kinds.includes('hang') && !texts.some((t) => t.includes('never completes'))) {
    shorts.push('hang');
    texts.push('an operation hangs');
    punished.add('the RDMA user');
  }
  if (!shorts.length && kinds.includes('kernel-warn')) {
    shorts.push('WARN');
    texts.push('a kernel WARN, nothing else');
  }
  if (!shorts.length) {
    shorts.push('clean');
    texts.push('clean');
  }
  // The matrix shows the worst outcome; `+` says there is more (in `text`).
  return { short: `${shorts[0]}${shorts.length > 1 ? '+' : ''}`, text: texts.join('; '), punished: [...punished], met };
}

export interface MatrixRow {
  scenario: string;
  cells: Record<string, Cell>;
}

/** formatMatrix() - the matrix as fixed-width text; a cell whose expectation failed is marked `!`. */
export function formatMatrix(policies: readonly string[], rows: readonly MatrixRow[]): string {
  const nameW = Math.max(8, ...rows.map((r) => r.scenario.length));
  const colW = policies.map((p) => Math.max(p.length, ...rows.map((r) => (r.cells[p]?.short.length ?? 0) + 1)));
  const line = (name: string, cols: string[]) => [name.padEnd(nameW), ...cols.map((c, i) => c.padEnd(colW[i] as number))].join('  ').trimEnd();
  const out = [line('scenario', [...policies]), line('-'.repeat(nameW), colW.map((w) => '-'.repeat(w)))];
  for (const r of rows) out.push(line(r.scenario, policies.map((p) => {
    const c = r.cells[p];
    return c ? `${c.short}${c.met ? '' : '!'}` : '';
  })));
  return out.join('\n');
}

/** verdicts() - for each policy, who is punished and in how many scenarios. */
export function verdicts(policies: readonly string[], rows: readonly MatrixRow[]): Record<string, { punished: Record<string, number>; sentence: string }> {
  const out: Record<string, { punished: Record<string, number>; sentence: string }> = {};
  for (const p of policies) {
    const count: Record<string, number> = {};
    for (const r of rows) for (const v of r.cells[p]?.punished ?? []) count[v] = (count[v] ?? 0) + 1;
    const order: Victim[] = ['the data', 'the kernel', 'the filesystem', 'the RDMA user'];
    const named = order.filter((v) => count[v]).map((v) => `${v} (${count[v]} of ${rows.length})`);
    out[p] = { punished: count, sentence: named.length ? `punishes ${named.join(', ')}` : 'punishes nobody' };
  }
  return out;
}
