/**
 * Evaluating `expect` against a run: a key left out is not checked; `violations` is the exact set of
 * kinds; `forbid` fails a single run when a forbidden outcome occurs in it.
 */
import { formatTime } from '../../engine/clock.js';
import type { Expect, PolicyExpect, Scenario } from '../format/types.js';
import type { RunResult } from './result.js';

function matchesOutcome(r: RunResult, o: string | Record<string, string>): boolean {
  if (typeof o === 'string') return r.violations.some((v) => v.kind === o);
  return Object.entries(o).every(([read, write]) => r.observed[read] === write);
}

/** What a scenario with neither `expect` nor an `expectByPolicy` entry for the policy expects: no violation. */
export const NO_VIOLATION_EXPECTED: Expect = Object.freeze({ violations: [] as string[] });

/**
 * expectationFor() - the one expectation rule that runScenario, the matchers, `check`, `compare`
 * and `explore` share: `expectByPolicy[policy]` (which may be a skip), else `expect`, else no
 * violation (NO_VIOLATION_EXPECTED).
 */
export function expectationFor(s: Pick<Scenario, 'expect' | 'expectByPolicy'>, policy: string): PolicyExpect {
  return s.expectByPolicy?.[policy] ?? s.expect ?? NO_VIOLATION_EXPECTED;
}

/**
 * checkExpectations() - Return: the failures, each one line in plain words. (The explorer checks
 * every execution: a key left out costs nothing, and a run that has no violation when none is
 * expected builds no list.)
 */
export function checkExpectations(e: Expect, r: RunResult): string[] {
  const f: string[] = [];
  if (e.violations && (e.violations.length || r.violations.length)) {
    const got = [...new Set(r.violations.map((v) => v.kind))].sort();
    const want = [...new Set(e.violations)].sort();
    if (e === NO_VIOLATION_EXPECTED && got.length) {
      f.push(`violations: no expect or expectByPolicy entry for ${r.policy}, so none is expected; got [${got.join(', ')}]`);
    } else if (got.join(',') !== want.join(',')) f.push(`violations: expected [${want.join(', ')}], got [${got.join(', ')}]`);
  }
  if (e.results) {
    for (const k in e.results) {
      const want = e.results[k], got = r.results[k];
      if (got !== want) f.push(`results.${k}: expected ${want}, got ${got ?? '(none)'}`);
    }
  }
  if (e.observed) {
    for (const k in e.observed) {
      const want = e.observed[k], got = r.observed[k];
      if (got !== want) f.push(`observed.${k}: expected ${want}, got ${got ?? '(nothing observed)'}`);
    }
  }
  if (e.endsBy) {
    for (const k in e.endsBy) {
      const by = e.endsBy[k] as number, t = r.ops[k];
      if (!t || r.results[k] === 'blocked' || r.results[k] === 'not-run' || t.end > by) {
        f.push(`endsBy.${k}: expected completion by ${formatTime(by)}, ${t && r.results[k] !== 'blocked' && r.results[k] !== 'not-run' ? `ended at ${formatTime(t.end)}` : `result ${r.results[k] ?? '(none)'}`}`);
      }
    }
  }
  if (e.blockedAtLeast) {
    for (const k in e.blockedAtLeast) {
      const least = e.blockedAtLeast[k] as number, t = r.ops[k];
      if (!t || t.blockedNs < least) f.push(`blockedAtLeast.${k}: expected ≥ ${formatTime(least)} blocked, got ${t ? formatTime(t.blockedNs) : '(op did not run)'}`);
    }
  }
  if (e.opStats) {
    for (const [k, counters] of Object.entries(e.opStats)) {
      for (const [c, want] of Object.entries(counters)) {
        const got = r.ops[k]?.[c];
        if (got !== want) f.push(`opStats.${k}.${c}: expected ${want}, got ${got ?? '(none)'}`);
      }
    }
  }
  if (e.forbid) for (const o of e.forbid) if (matchesOutcome(r, o)) f.push(`forbid: ${typeof o === 'string' ? o : JSON.stringify(o)} occurred`);
  return f;
}

/** storageKeys() - the `storage:f@index` names @e observes (the durable content of file pages). */
export function storageKeys(e: Expect | undefined): string[] {
  if (!e) return [];
  const keys = new Set<string>();
  const add = (k: string) => { if (k.startsWith('storage:')) keys.add(k); };
  for (const k of Object.keys(e.observed ?? {})) add(k);
  for (const o of [...(e.forbid ?? []), ...(e.allow ?? [])]) if (typeof o !== 'string') for (const k of Object.keys(o)) add(k);
  return [...keys];
}
