/** Validation of `expect`, `expectByPolicy` and outcomes. */
import { dict } from '../../engine/dict.js';
import { isPolicyName } from '../registry.js';
import { WANT_TEXT, OpWalker } from './actors.js';
import { pathKey, pathIndex, isObject, Check } from './check.js';
import { closest } from './closest.js';
import type { Expect, OutcomeSpec, PolicyExpect } from './types.js';
// ---------------------------------------------------------------------------------------------
// Expectations

export const EXPECT_FIELDS = ['violations', 'results', 'observed', 'endsBy', 'blockedAtLeast', 'opStats', 'forbid', 'allow'];
export const RESULT_WORDS = ['ok', 'blocked', 'not-run', 'crashed', 'remote-access-error', 'device-error', 'SIGBUS', 'SIGSEGV'];
export const CONTENT_WORDS = ['zero', 'dummy', 'mixed'];

export function checkExpectByPolicy(c: Check, w: OpWalker, v: unknown): Record<string, PolicyExpect> | undefined {
  const o = c.object(v, 'expectByPolicy', 'an object of policy → expect');
  if (!o) return undefined;
  const out = dict<PolicyExpect>();
  for (const [policy, e] of Object.entries(o)) {
    const path = pathKey('expectByPolicy', policy);
    const known = c.ctx.policies.known;
    if (!isPolicyName(c.ctx.policies, policy)) {
      c.add('unknown-policy', path, `unknown policy "${policy}"`, { expected: `one of ${known.join(', ')}, or linux-X.Y`, didYouMean: closest(policy, known) });
    }
    if (isObject(e) && e['skip'] !== undefined) {
      c.keys(e, ['skip'], path, 'a skip entry');
      const skip = c.string(e['skip'], pathKey(path, 'skip'));
      if (skip !== undefined) out[policy] = { skip };
      continue;
    }
    const x = checkExpect(c, w, e, path);
    if (x) out[policy] = x;
  }
  return out;
}

export function checkExpect(c: Check, w: OpWalker, v: unknown, path: string): Expect | undefined {
  const o = c.object(v, path, 'an expect object');
  if (!o) return undefined;
  c.keys(o, EXPECT_FIELDS, path, 'expect');
  const out: Expect = {};
  const at = (f: string): string => pathKey(path, f);
  if (o['violations'] !== undefined) {
    const vs = Array.isArray(o['violations']) ? o['violations'] : c.wrongType(o['violations'], at('violations'), 'an array of violation kinds');
    const kinds = vs?.map((k, i) => kind(c, k, pathIndex(at('violations'), i)));
    if (kinds?.every((k) => k !== undefined)) out.violations = kinds;
  }
  const results = record(c, o['results'], at('results'), (k, x, p) => (opKey(c, w, k, p) ? result(c, x, p) : undefined));
  if (results) out.results = results;
  const observed = record(c, o['observed'], at('observed'), (k, x, p) => (content(c, w, k, p, 'read') === undefined ? undefined : content(c, w, x, p, 'write')));
  if (observed) out.observed = observed;
  for (const f of ['endsBy', 'blockedAtLeast'] as const) {
    const r = record(c, o[f], at(f), (k, x, p) => (opKey(c, w, k, p) ? c.time(x, p) : undefined));
    if (r) out[f] = r;
  }
  const opStats = record(c, o['opStats'], at('opStats'), (k, x, p) =>
    opKey(c, w, k, p) ? record(c, x, p, (name, n, q) => opCounter(c, name, n, q)) : undefined);
  if (opStats) out.opStats = opStats;
  for (const f of ['forbid', 'allow'] as const) {
    if (o[f] === undefined) continue;
    const list = Array.isArray(o[f]) ? o[f] : c.wrongType(o[f], at(f), 'an array of violation kinds or { read: write } outcomes');
    const items = list?.map((x, i) => outcome(c, w, x, pathIndex(at(f), i)));
    if (items?.every((x) => x !== undefined)) out[f] = items;
  }
  return out;
}

/**
 * What `opStats` may name: an op's timing (the result's `ops` section) and dmirror's counters of the
 * GPU's mirror ops. A misspelt counter would never match and fail with "got (none)"; it is refused.
 */
export const OP_COUNTERS = ['start', 'end', 'blockedNs', 'lateNs', 'cpages', 'faults'];

function opCounter(c: Check, name: string, n: unknown, path: string): number | undefined {
  if (!OP_COUNTERS.includes(name)) {
    c.add('unknown-field', path, `unknown op counter "${name}"`, { expected: `one of ${OP_COUNTERS.join(', ')}`, didYouMean: closest(name, OP_COUNTERS) });
    return undefined;
  }
  return typeof n === 'number' && Number.isFinite(n) ? n : c.wrongType(n, path, 'a number');
}

/** An object whose values are each checked by `each`; undefined when absent or when any value fails. */
export function record<T>(c: Check, v: unknown, path: string, each: (k: string, x: unknown, p: string) => T | undefined): Record<string, T> | undefined {
  if (v === undefined) return undefined;
  const o = c.object(v, path, 'an object');
  if (!o) return undefined;
  const out = dict<T>();
  let ok = true;
  for (const [k, x] of Object.entries(o)) {
    const r = each(k, x, pathKey(path, k));
    if (r === undefined) ok = false;
    else out[k] = r;
  }
  return ok ? out : undefined;
}

export function kind(c: Check, v: unknown, path: string): string | undefined {
  return c.word(v, c.ctx.invariantKinds, path, 'unknown-kind');
}

/** A key naming an op: `actor.index` of an existing op, or an `as` name. */
export function opKey(c: Check, w: OpWalker, key: string, path: string): boolean {
  if (w.names.has(key)) return true;
  const m = /^(.+)\.(0|[1-9]\d*)$/.exec(key);
  const count = m ? w.actorOps.get(m[1] ?? '') : undefined;
  if (m && count !== undefined && Number(m[2]) < count) return true;
  const refs = [...w.names.keys(), ...[...w.actorOps].flatMap(([a, n]) => Array.from({ length: n }, (_, i) => `${a}.${i}`))];
  const message = m && count !== undefined ? `actor "${m[1]}" has ${count} op(s), so no op ${key}` : `no op is named "${key}"`;
  c.add('unknown-name', path, message, { expected: 'actor.index (0-based) or the "as" of an op', didYouMean: closest(key, refs) });
  return false;
}

export function result(c: Check, v: unknown, path: string): string | undefined {
  const s = c.string(v, path);
  if (s === undefined || RESULT_WORDS.includes(s) || /^(E[A-Z0-9]+|SIG[A-Z0-9]+)$/.test(s)) return s;
  c.add('unknown-value', path, `unknown result "${s}"`, { expected: `an errno name, a signal, or one of ${RESULT_WORDS.join(', ')}`, didYouMean: closest(s, RESULT_WORDS) });
  return undefined;
}

/**
 * One side of an observation: the `as` of a read (`side` read) or of a write (`side` write; also
 * zero/dummy/mixed); either side may be `storage:<file>@<index>`, the durable content of a file page.
 */
export const SNAPSHOT_STATE = '(?:ERROR|NONE|(?:READ|WRITE|ZERO\\|READ)(?:\\|PMD|\\|PUD)?|DEV_PRIVATE_LOCAL\\|(?:READ|WRITE)|DEV_COHERENT_(?:LOCAL|REMOTE)\\|(?:READ|WRITE))';
export const SNAPSHOT_STATES = new RegExp(`^${SNAPSHOT_STATE}(?:,${SNAPSHOT_STATE})*$`);

/** What a pagemap observes: the level of the entry mapping the page, or none. */
export const PAGEMAP_LEVELS = ['pmd', 'pud', 'pte', 'none'];

export function content(c: Check, w: OpWalker, v: unknown, path: string, side: 'read' | 'write'): string | undefined {
  const s = c.string(v, path);
  if (s === undefined) return undefined;
  const storage = /^storage:(.+)@(0|[1-9]\d*)$/.exec(s);
  if (storage) {
    if (w.files.includes(storage[1] ?? '')) return s;
    c.add('unknown-name', path, `no file "${storage[1]}" is declared`, { expected: 'storage:<file>@<page index>', didYouMean: closest(storage[1] ?? '', w.files) });
    return undefined;
  }
  if (side === 'write' && CONTENT_WORDS.includes(s)) return s;
  // A SNAPSHOT's observation: one page state per page (ERROR, NONE, READ, WRITE, ZERO|READ, WRITE|PMD, …).
  if (side === 'write' && SNAPSHOT_STATES.test(s)) return s;
  // A pagemap's observation: how the page is mapped.
  if (side === 'write' && PAGEMAP_LEVELS.includes(s)) return s;
  const def = w.names.get(s);
  const expected = side === 'read' ? `${WANT_TEXT.read} or storage:<file>@<index>` : `${WANT_TEXT.write}, zero, dummy, mixed or storage:<file>@<index>`;
  if (!def) {
    const ofKind = [...w.names].filter(([, d]) => d.kinds?.includes(side)).map(([n]) => n);
    c.add('unknown-name', path, `no op produces the name "${s}"`, { expected, didYouMean: closest(s, side === 'write' ? [...ofKind, ...CONTENT_WORDS] : ofKind) });
    return undefined;
  }
  if (def.kinds && !def.kinds.includes(side)) {
    c.add('wrong-name-kind', path, `"${s}" is the result of ${def.op} (${def.path}), not ${WANT_TEXT[side]}`, { expected });
    return undefined;
  }
  return s;
}

export function outcome(c: Check, w: OpWalker, v: unknown, path: string): OutcomeSpec | undefined {
  if (typeof v === 'string') return kind(c, v, path);
  const o = c.object(v, path, 'a violation kind or a { read: write } outcome');
  if (!o) return undefined;
  if (Object.keys(o).length === 0) return c.wrongType(v, path, 'a violation kind or a { read: write } outcome');
  return record(c, o, path, (k, x, p) => (content(c, w, k, p, 'read') === undefined ? undefined : content(c, w, x, p, 'write')));
}

