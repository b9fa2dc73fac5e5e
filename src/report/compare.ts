/**
 * The policy × scenario matrix of `pinsim compare`: each cell says in a few words what happened
 * (silent corruption, an error the application sees, a truncate that blocks or is refused, a kernel
 * BUG, clean), a legend under the matrix explains every word it shows, and the verdict per policy
 * says who is punished: the data, the filesystem user, the RDMA user, the kernel — or nobody.
 * The verdict counts only scenarios that model merged kernel code or the proposals: a scenario
 * whose device is configured as hardware no driver gives is shown but left out, and says why.
 * The matrix fits a terminal of 100 columns: when one line per scenario would not, each scenario
 * gets its name on a line and its cells on the lines below, the policies wrapped the same way.
 * Pure functions over run results.
 */
import { formatTime } from '../engine/clock.js';
import type { MmTraceEvent } from '../mm/trace_events.js';
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
/** The short word of a DMA that failed where a CPU access gets SIGBUS: the right answer, no punishment. */
const BEYOND_EOF = 'beyond-EOF';

function opsOf(s: Scenario): { key: string; op: string; as: string | undefined }[] {
  return Object.entries(s.actors).flatMap(([a, spec]) => spec.ops.map((o, i) => ({ key: `${a}.${i}`, op: o.op, as: o.as })));
}

/**
 * sigbusDmas() - a trace listener noting the DMAs (by work-request name) whose device took a page
 * fault that the kernel answered with SIGBUS, as it answers a CPU touching a page beyond EOF: such
 * a DMA failing is the correct outcome under any design, not a punishment.
 */
export function sigbusDmas(): { listener: (ev: MmTraceEvent) => void; wrs: Set<string> } {
  const wrs = new Set<string>();
  const current = new Map<string, string>();
  const listener = (ev: MmTraceEvent): void => {
    if (ev.type === 'dma_start') current.set(ev.device, ev.wr);
    else if (ev.type === 'dma_complete') current.delete(ev.device);
    else if (ev.type === 'fault' && ev.result === 'SIGBUS') {
      const wr = current.get(ev.actor);
      if (wr !== undefined) wrs.add(wr);
    }
  };
  return { listener, wrs };
}

/**
 * cellOf() - what one run means, in a few words. @beyondEof names the DMAs whose failure was the
 * kernel's SIGBUS answer (sigbusDmas()); their errors punish nobody.
 */
export function cellOf(s: Scenario, r: RunResult, met: boolean, beyondEof: ReadonlySet<string> = new Set()): Cell {
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
  const failed = ops.filter(({ key, op }) => APP_OPS.has(op) && APP_ERRORS.test(r.results[key] ?? ''));
  const eof = (o: { key: string; as: string | undefined }) => beyondEof.has(o.key) || (o.as !== undefined && beyondEof.has(o.as));
  const appErr = failed.find((o) => !eof(o));
  if (appErr) {
    const res = r.results[appErr.key] as string;
    shorts.push(res.startsWith('E') ? `${res}@${appErr.op}` : res === 'remote-access-error' ? 'access-error' : res);
    texts.push(`the application sees ${res} at ${appErr.op}`);
    punished.add('the RDMA user');
  }
  const atEof = failed.find(eof);
  if (atEof) {
    shorts.push(BEYOND_EOF);
    texts.push(`${atEof.op} of a page truncated away completes with ${r.results[atEof.key]}, as a CPU access there gets SIGBUS (the correct outcome)`);
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
  /** Why the verdicts leave this scenario out (it models hardware no driver gives), if they do. */
  leftOut?: string;
}

/** Width in terminal columns: code points, so `µ` counts once. */
function cols(s: string): number {
  return [...s].length;
}

function pad(s: string, w: number): string {
  return s + ' '.repeat(Math.max(0, w - cols(s)));
}

function cellText(c: Cell | undefined): string {
  return c ? `${c.short}${c.met ? '' : '!'}` : '';
}

/**
 * formatMatrix() - the matrix as fixed-width text within @width columns; a cell whose expectation
 * failed is marked `!`. One line per scenario when that fits; else the scenario's name on a line
 * of its own and its cells below, the policies split evenly over as few lines as fit.
 */
export function formatMatrix(policies: readonly string[], rows: readonly MatrixRow[], width = 100): string {
  const nameW = Math.max(8, ...rows.map((r) => cols(r.scenario)));
  const colW = Math.max(...policies.map((p) => cols(p)), ...rows.flatMap((r) => policies.map((p) => cols(cellText(r.cells[p])))));
  const line = (head: string, headW: number, cells: readonly string[]) => [pad(head, headW), ...cells.map((c) => pad(c, colW))].join('  ').trimEnd();
  if (nameW + policies.length * (colW + 2) <= width) {
    const out = [line('scenario', nameW, policies), line('-'.repeat(nameW), nameW, policies.map(() => '-'.repeat(colW)))];
    for (const r of rows) out.push(line(r.scenario, nameW, policies.map((p) => cellText(r.cells[p]))));
    return out.join('\n');
  }
  const indent = '  ';
  const perLineMax = Math.max(1, Math.floor((width - indent.length + 2) / (colW + 2)));
  const groups = policyLines(policies, perLineMax);
  const perLine = Math.max(...groups.map((g) => g.length));
  const wrapped = (cells: (p: string) => string) => groups.map((g) => indent + line('', 0, g.map(cells)).replace(/^ {2}/, ''));
  const out = ['each scenario, then one cell per policy, in this order:', ...wrapped((p) => p), indent + '-'.repeat(perLine * (colW + 2) - 2)];
  for (const r of rows) out.push(r.scenario, ...wrapped((p) => cellText(r.cells[p])));
  return out.join('\n');
}

/**
 * The policies over as few lines of at most @max as fit: the kernels on one line and the proposals
 * on the next when each fits, else split evenly.
 */
function policyLines(policies: readonly string[], max: number): string[][] {
  const eras = policies.filter((p) => /^linux-\d/.test(p));
  const others = policies.filter((p) => !/^linux-\d/.test(p));
  if (eras.length && others.length && eras.length <= max && others.length <= max) return [eras, others];
  const n = Math.ceil(policies.length / max);
  const per = Math.ceil(policies.length / n);
  return Array.from({ length: n }, (_, i) => policies.slice(i * per, (i + 1) * per));
}

/** What each word a cell can show means, in the order the legend lists them. */
const LEGEND: readonly { test: (word: string) => boolean; text: () => string }[] = [
  { test: (w) => w === 'reused-page', text: () => 'the device accessed a freed page that another owner had been given (dma-into-reused-page)' },
  { test: (w) => w === 'use-after-free', text: () => 'the device accessed a page after it was freed (dma-use-after-free)' },
  { test: (w) => w === 'lost-write', text: () => 'a write that completed ok landed in a page the file no longer has: the data is gone (lost-write)' },
  { test: (w) => w === 'dirty-no-buffers', text: () => "a page was dirtied behind the filesystem's back (dirty-page-without-buffers)" },
  { test: (w) => w === 'dummy-page', text: () => 'the device, redirected to the dummy page, wrote there: the transfer succeeded, the data is gone (dummy-page-dma)' },
  { test: (w) => w === 'incoherent', text: () => 'the device and the CPU no longer see the same page at one address (incoherent-mapping)' },
  { test: (w) => w === 'stale-read', text: () => 'the device read data a CPU read would not see (stale-read)' },
  { test: (w) => w === 'teardown-late', text: () => 'a device still reached a page when its invalidation returned (notifier-teardown-incomplete)' },
  { test: (w) => w === 'stale-install', text: () => 'a device installed a translation an invalidation had covered (install-during-invalidation)' },
  { test: (w) => w === 'pinned-moved', text: () => 'a page holding a DMA reference was migrated or freed (pinned-page-moved)' },
  { test: (w) => w === 'kernel BUG', text: () => 'the modelled kernel hit a BUG_ON: the machine crashes' },
  { test: (w) => /^(truncate|punch) E/.test(w), text: () => 'the truncate (punch: the hole punch) was refused with that errno' },
  { test: (w) => /^(truncate|punch) hangs$/.test(w), text: () => 'the truncate (or hole punch) never completes: still blocked when the run ends' },
  { test: (w) => w.startsWith('blocked '), text: () => 'the truncate (or hole punch) completed, but only after waiting that long for DMA references to go' },
  { test: (w) => /^E[A-Z0-9]+@/.test(w), text: () => "the application's op failed with that errno" },
  { test: (w) => w === 'access-error', text: () => 'a DMA completed with remote-access-error: an IOMMU fault, or a deregistered MR' },
  { test: (w) => w === 'device-error', text: () => 'a DMA completed with device-error: the device is dead or its MR revoked' },
  { test: (w) => w === BEYOND_EOF, text: () => 'a DMA to a page truncated away failed, as a CPU access there gets SIGBUS: the correct outcome, no punishment' },
  { test: (w) => w === 'hang', text: () => 'an operation the application waits for never completes' },
  { test: (w) => w === 'WARN', text: () => 'a kernel WARN and nothing else' },
  { test: (w) => w === 'clean', text: () => 'nothing went wrong' },
  { test: (w) => w === 'skip', text: () => 'the scenario does not apply to that policy' },
  { test: (w) => w === 'ERROR', text: () => 'pinsim itself failed' },
];

/** The word of a cell without its `+` and `!` marks. */
function word(c: Cell): string {
  return c.short.replace(/\+$/, '');
}

/** legendLines() - one line for every kind of word the matrix shows, then the `+` and `!` marks it uses. */
export function legendLines(policies: readonly string[], rows: readonly MatrixRow[]): [string, string][] {
  const cells = rows.flatMap((r) => policies.map((p) => r.cells[p]).filter((c): c is Cell => c !== undefined));
  const words = [...new Set(cells.map(word))];
  const out: [string, string][] = [];
  for (const entry of LEGEND) {
    const hits = words.filter(entry.test);
    if (!hits.length) continue;
    const first = hits[0] as string;
    const key = hits.length === 1 ? first : /^E[A-Z0-9]+@/.test(first) ? 'E…@op' : first.startsWith('blocked ') ? 'blocked T' : /^(truncate|punch) E/.test(first) ? 'truncate E…' : first;
    out.push([key, key === first ? entry.text() : `${entry.text()} (e.g. ${first})`]);
  }
  if (cells.some((c) => c.short.endsWith('+'))) out.push(['+', 'more happened than the cell shows (--json has the whole sentence)']);
  if (cells.some((c) => !c.met)) out.push(['!', "the run did not meet the scenario's expectation for that policy"]);
  return out;
}

/** verdicts() - for each policy, who is punished and in how many of the scenarios it counts. */
export function verdicts(policies: readonly string[], rows: readonly MatrixRow[]): Record<string, { punished: Record<string, number>; sentence: string; short: string }> {
  const counted = rows.filter((r) => r.leftOut === undefined);
  const out: Record<string, { punished: Record<string, number>; sentence: string; short: string }> = {};
  for (const p of policies) {
    const count: Record<string, number> = {};
    for (const r of counted) for (const v of r.cells[p]?.punished ?? []) count[v] = (count[v] ?? 0) + 1;
    const order: Victim[] = ['the data', 'the kernel', 'the filesystem', 'the RDMA user'];
    const hit = order.filter((v) => count[v]);
    out[p] = {
      punished: count,
      sentence: hit.length ? `punishes ${hit.map((v) => `${v} (${count[v]} of ${counted.length})`).join(', ')}` : 'punishes nobody',
      short: hit.length ? hit.map((v) => `${v} ${count[v]}`).join(', ') : 'nobody',
    };
  }
  return out;
}
