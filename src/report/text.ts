/**
 * The text report of one run, for people: violations first, each told as its causal chain in kernel
 * words (story.ts: the DMA reference, the page-cache removal, the free, the access), then a summary
 * block; with `--trace text` the CLI appends the trace. Also the ftrace-style trace line
 * (`<t>µs <actor> <event>: key=val …`), so that kernel developers read a pinsim trace the way they
 * read `trace-cmd report`.
 */
import { formatTime } from '../engine/clock.js';
import type { ChainEvent } from '../invariants/checker.js';
import type { MmTraceEvent } from '../mm/trace_events.js';
import type { RunResult, Violation } from '../scenario/run/result.js';
import type { Scenario } from '../scenario/format/types.js';
import { tellChain } from './story.js';

type Fields = Record<string, string | number | boolean>;

export interface TextOptions {
  /** Print the ops' timings (start, end, blocked, late) in the summary. */
  ops?: boolean;
  /** Also print each violation's chain as raw steps (event and fields), one per line, under its story. */
  rawChains?: boolean;
  /**
   * The `as` name of each op that has one, by its `actor.index` key (opNamesOf()): the results list
   * each such op once, as `app.1 (mr)`, instead of under both keys.
   */
  names?: ReadonlyMap<string, string>;
}

/** opNamesOf() - the `as` name of every top-level op of @s that has one, by its `actor.index` key. */
export function opNamesOf(s: Pick<Scenario, 'actors'>): Map<string, string> {
  const names = new Map<string, string>();
  for (const [actor, spec] of Object.entries(s.actors)) {
    spec.ops.forEach((op, i) => {
      if (op.as !== undefined) names.set(`${actor}.${i}`, op.as);
    });
  }
  return names;
}

/** hex() - a frame or address as the kernel prints it: `0x1f3`. */
export function hex(n: number): string {
  return n < 0 ? String(n) : `0x${n.toString(16)}`;
}

/** Fields that hold an address (printed in hex). */
const ADDRESS_FIELDS: ReadonlySet<string> = new Set(['pfn', 'va', 'start', 'end', 'head']);

/**
 * formatTraceLine() - one event as an ftrace-style line: time in µs with three decimals and its unit, the actor,
 * the event, then every field as key=val (pfn and addresses in hex; `file=''`/`index=-1`, which
 * mean "none", left out).
 */
export function formatTraceLine(ev: MmTraceEvent): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(ev)) {
    if (k === 'type' || k === 'time' || k === 'actor') continue;
    if ((k === 'file' && v === '') || (k === 'index' && v === -1)) continue;
    parts.push(`${k}=${fieldValue(k, v)}`);
  }
  return `${micros(ev.time)}µs ${ev.actor} ${ev.type}:${parts.length ? ' ' + parts.join(' ') : ''}`;
}

/** µs with exactly three decimals, from integer ns without floating-point rounding. */
function micros(ns: number): string {
  const whole = Math.floor(ns / 1000);
  return `${whole}.${String(ns - whole * 1000).padStart(3, '0')}`;
}

function fieldValue(k: string, v: unknown): string {
  if (typeof v === 'number' && ADDRESS_FIELDS.has(k)) return hex(v);
  if (typeof v === 'string') return v === '' ? '""' : v;
  if (isPageValues(v)) return pageValues(k, v);
  return String(v);
}

/** Is @v a range event's per-page values (one of the typed arrays the trace uses)? */
function isPageValues(v: unknown): v is Int32Array | Uint32Array | Uint8Array | Float64Array {
  return v instanceof Int32Array || v instanceof Uint32Array || v instanceof Uint8Array || v instanceof Float64Array;
}

/** Array fields holding frames (printed in hex). */
const FRAME_ARRAYS: ReadonlySet<string> = new Set(['pfns']);

/**
 * pageValues() - a range event's per-page values, as runs: `[0x10-0x1f,-×3,0x25]` for pfns 0x10
 * to 0x1f, three pages without one, then 0x25 (a run counts up by one; -1 is `-`).
 */
function pageValues(k: string, a: ArrayLike<number>): string {
  const show = (x: number) => (x === -1 ? '-' : FRAME_ARRAYS.has(k) ? hex(x) : String(x));
  const parts: string[] = [];
  for (let i = 0; i < a.length;) {
    const x = a[i] as number;
    let j = i + 1;
    if (x === -1) {
      while (j < a.length && a[j] === -1) j++;
    } else {
      while (j < a.length && a[j] === x + (j - i)) j++;
      // A run of equal values (flags, counts) reads better as value×count.
      if (j === i + 1) while (j < a.length && a[j] === x) j++;
    }
    const n = j - i;
    if (n === 1) parts.push(show(x));
    else if (x === -1 || a[i + 1] === x) parts.push(`${show(x)}×${n}`);
    else parts.push(`${show(x)}-${show(a[j - 1] as number)}`);
    i = j;
  }
  return `[${parts.join(',')}]`;
}

/** `pfn 0x1 f@0`: where a violation or chain step happened. */
function where(pfn: number | undefined, file: unknown, index: unknown): string {
  const w: string[] = [];
  if (pfn !== undefined && pfn >= 0) w.push(`pfn ${hex(pfn)}`);
  if (typeof file === 'string' && file !== '' && typeof index === 'number' && index >= 0) w.push(`${file}@${index}`);
  return w.join(' ');
}

function kv(f: Fields, keys: readonly string[]): string[] {
  return keys.filter((k) => f[k] !== undefined).map((k) => `${k}=${fieldValue(k, f[k])}`);
}

/** The most telling fields of a chain step, per event type; any other event shows all its fields. */
function tellingFields(event: string, f: Fields): string[] {
  switch (event) {
    case 'dma_ref_get':
      return kv(f, ['api', 'fnames', 'refcount', 'pincount']);
    case 'dma_ref_put':
      return [...(f['dirty'] ? ['dirty'] : []), ...kv(f, ['refcount', 'pincount', 'holder'])];
    case 'filemap_remove':
      return [...kv(f, ['refcount']), ...(f['pincount'] ? kv(f, ['pincount']) : []), ...kv(f, ['reason'])];
    case 'filemap_add':
      return kv(f, ['refcount']);
    case 'dma_access':
      return [f['write'] ? 'write' : 'read', ...kv(f, ['wr']), ...(f['ok'] === false ? ['FAILED'] : []), ...kv(f, ['mm', 'va'])];
    case 'cpu_access':
      return [f['write'] ? 'store' : 'load', ...kv(f, ['mm', 'va']), ...(f['shared'] ? ['shared'] : [])];
    case 'folio_alloc':
      return kv(f, ['gen', 'owner']);
    case 'folio_free':
      return kv(f, ['gen']);
    case 'pte_set':
      return [...kv(f, ['mm', 'va']), f['write'] ? 'write' : 'read-only', ...kv(f, ['refcount'])];
    case 'pte_clear':
      return [...kv(f, ['mm', 'va']), ...(f['dirty'] ? ['dirty'] : [])];
    case 'dma_complete':
      return kv(f, ['wr', 'status']);
    case 'kernel_warn':
    case 'kernel_bug':
      return kv(f, ['site', 'dump']);
    case 'folio_dirty':
      return kv(f, ['via', 'buffers']);
    case 'frame_final':
      return kv(f, ['refcount', 'pincount', 'mapcount']);
    default:
      return Object.keys(f).filter((k) => k !== 'pfn' && k !== 'file' && k !== 'index').map((k) => `${k}=${fieldValue(k, f[k])}`);
  }
}

/** formatChainStep() - `t=20.3µs admin filemap_remove pfn 0x1 f@0 refcount=1 reason=truncate`. */
export function formatChainStep(c: ChainEvent): string {
  // The raw view prints fields by name, whatever the event: every event's fields are primitives.
  const f: Readonly<Fields> = c.fields;
  const w = where(c.pfn ?? (typeof f['pfn'] === 'number' ? f['pfn'] : undefined), f['file'], f['index']);
  return [`t=${formatTime(c.time)}`, c.actor, c.event, w, ...tellingFields(c.event, f)].filter((s) => s !== '').join(' ');
}

/**
 * formatViolation() - the headline, the checker's message, then the chain told as a story in
 * @policy's words (tellChain()); with @rawChains also the raw steps, one per line.
 */
export function formatViolation(v: Violation, policy: string, rawChains = false): string {
  const head = `${v.kind} at ${formatTime(v.time)} by ${v.actor}: ${where(v.pfn, v.file, v.index)}`.trimEnd().replace(/:$/, '');
  const lines = [head, `    ${v.message}`];
  if (v.chain.length) lines.push(`    ${tellChain(v, policy)}`);
  if (rawChains) for (const c of v.chain) lines.push(`      ${formatChainStep(c)}`);
  return lines.join('\n');
}

function outcomeLine(r: RunResult): string {
  switch (r.outcome) {
    case 'pass':
      return 'pass (no violations)';
    case 'violations':
      return `violations (${kinds(r).join(', ')})`;
    case 'expectation-failed':
      return `expectation-failed${r.violations.length ? ` (violations: ${kinds(r).join(', ')})` : ''}`;
    case 'skip':
      return `skip: ${r.skipped ?? 'the scenario does not apply to this policy'}`;
    case 'error':
      return 'error (pinsim internal bug)';
  }
}

/** kinds() - the violation kinds of a run, each once, in report order. */
export function kinds(r: RunResult): string[] {
  return [...new Set(r.violations.map((v) => v.kind))];
}

function table(title: string, rows: Record<string, string>, extra?: (k: string) => string, label: (k: string) => string = (k) => k): string[] {
  const keys = Object.keys(rows);
  if (!keys.length) return [];
  return [`${title}:`, ...keys.map((k) => `  ${label(k)} = ${rows[k]}${extra ? extra(k) : ''}`)];
}

/** The results with each named op once (`app.1 (mr)`), when @names says which keys name the same op. */
function resultRows(r: RunResult, names: ReadonlyMap<string, string> | undefined): { rows: Record<string, string>; label: (k: string) => string } {
  if (!names?.size) return { rows: r.results, label: (k) => k };
  const aliases = new Set(names.values());
  const rows: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.results)) if (names.has(k) || !aliases.has(k)) rows[k] = v;
  return { rows, label: (k) => (names.has(k) ? `${k} (${names.get(k) as string})` : k) };
}

/**
 * formatRunText() - the whole report: violations first (the finding is what a reader came for),
 * then scenario, policy, seed, outcome, results, observed, expectation failures, stats, traceHash.
 */
export function formatRunText(r: RunResult, opts: TextOptions = {}): string {
  const out: string[] = [];
  if (r.violations.length) {
    out.push(`${r.violations.length} violation${r.violations.length === 1 ? '' : 's'}:`, '');
    for (const v of r.violations) out.push(formatViolation(v, r.policy, opts.rawChains === true), '');
  }
  out.push(`scenario  ${r.scenario}`, `policy    ${r.policy}`, `seed      ${r.seed}`, `outcome   ${outcomeLine(r)}`);
  if (r.error) out.push('', r.error.split('\n')[0] ?? r.error);
  if (r.outcome !== 'skip') {
    const timing = (k: string): string => {
      const t = r.ops[k];
      if (!t) return '';
      const notes = [t.blockedNs > 0 ? `blocked ${formatTime(t.blockedNs)}` : '', t.lateNs > 0 ? `late ${formatTime(t.lateNs)}` : ''];
      if (opts.ops) notes.unshift(`${formatTime(t.start)}..${formatTime(t.end)}`);
      const n = notes.filter((s) => s !== '');
      return n.length ? `  (${n.join(', ')})` : '';
    };
    const { rows, label } = resultRows(r, opts.names);
    // Appended in loops: a spread into push() passes every line as an argument, and a run of
    // 400 k ops has more results than the stack has room for arguments.
    for (const l of table('results', rows, timing, label)) out.push(l);
    for (const l of table('observed', r.observed)) out.push(l);
    if (r.notes?.length) out.push('notes:');
    for (const n of r.notes ?? []) out.push(`  - ${n}`);
    if (r.expectations.failures.length) out.push('expectation failures:');
    for (const f of r.expectations.failures) out.push(`  - ${f}`);
    const s = r.stats;
    out.push(
      `stats     events=${s.events} simTime=${formatTime(s.simTimeNs)} faults=${s.faults} invalidations=${s.invalidations} pins=${s.pins} choicePoints=${s.choicePoints}`,
      `traceHash ${r.traceHash}`,
    );
    if (r.choices.some((c) => c !== 0)) out.push(`choices   ${r.choices.join(':')}`);
  }
  return out.join('\n') + '\n';
}
