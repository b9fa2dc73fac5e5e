/**
 * `pinsim/vitest`: custom matchers for a run's result, so a test reads like the finding it checks
 * and a failure tells the violation's story in kernel words (report/story.ts's tellChain):
 *
 *   import { expect, test } from 'vitest';
 *   import { runScenario } from 'pinsim';
 *   import 'pinsim/vitest';
 *
 *   test('a classic MR loses its write to truncate under linux-4.20', () => {
 *     expect(runScenario(s, { policy: 'linux-4.20' })).toHaveViolation('lost-write');
 *     expect(runScenario(s, { policy: 'linux-6.12' })).toHaveNoViolations();
 *     expect(runScenario(s)).toMeetExpectations();
 *   });
 *
 * vitest is an optional peer dependency: only this entry imports it. Importing the entry registers
 * the matchers with vitest's `expect` (as `@testing-library/jest-dom/vitest` does: the test-runner
 * entry is the one place where pinsim registers anything on import); `setupPinsimMatchers()` does
 * the same explicitly, for another `expect` instance. The matchers also accept an `explore()`
 * result: a violation counts when some execution showed it, and its counterexample tells the story.
 */
import { expect } from 'vitest';
import { formatTime } from './engine/clock.js';
import type { ExploreResult } from './explore/explore.js';
import { tellChain } from './report/story.js';
import type { RunResult, Violation } from './scenario/run/result.js';

/** What a matcher returns to vitest. */
interface MatcherResult {
  pass: boolean;
  message: () => string;
}

/** Narrows which violation `toHaveViolation()` looks for, beside its kind. */
export interface ViolationFilter {
  actor?: string;
  pfn?: number;
  file?: string;
}

/** The matchers, as `expect(result)` sees them. */
export interface PinsimMatchers<R = unknown> {
  /** The run found no violation (and pinsim itself did not fail). */
  toHaveNoViolations(): R;
  /** The run found a violation of @kind (and, if given, of @filter's actor, pfn or file). */
  toHaveViolation(kind: string, filter?: ViolationFilter): R;
  /** The run met its scenario's `expect` / `expectByPolicy` (else: no violation). */
  toMeetExpectations(): R;
}

declare module 'vitest' {
  // The type parameter must be declared as vitest declares it for the interfaces to merge.
  interface Assertion<T = any> extends PinsimMatchers<T> {}
  interface AsymmetricMatchersContaining extends PinsimMatchers {}
}

function isRunResult(x: unknown): x is RunResult {
  const r = x as RunResult | null;
  return typeof r === 'object' && r !== null && Array.isArray(r.violations) && typeof r.outcome === 'string' && typeof r.policy === 'string';
}

function isExploreResult(x: unknown): x is ExploreResult {
  const r = x as ExploreResult | null;
  return typeof r === 'object' && r !== null && Array.isArray(r.verdicts) && typeof r.executions === 'number';
}

function hex(n: number): string {
  return n < 0 ? String(n) : `0x${n.toString(16)}`;
}

/** A run's name for messages: `gup-nic-truncate under linux-4.20 (seed 1)`. */
function runName(r: RunResult): string {
  return `${r.scenario} under ${r.policy} (seed ${r.seed})`;
}

/**
 * describeViolation() - one violation for a failure message: its kind, when, who and where, the
 * checker's message, and the story of its causal chain in @policy's era.
 */
export function describeViolation(v: Violation, policy: string): string {
  const where = v.file !== undefined && v.index !== undefined && v.index >= 0 ? ` (${v.file}@${v.index})` : '';
  const lines = [`  ${v.kind} at t=${formatTime(v.time)} by ${v.actor}, pfn ${hex(v.pfn)}${where}`, `    ${v.message}`];
  if (v.chain.length) lines.push(`    story: ${tellChain(v, policy)}`);
  return lines.join('\n');
}

function describeViolations(vs: readonly Violation[], policy: string): string {
  return vs.length ? vs.map((v) => describeViolation(v, policy)).join('\n') : '  (none)';
}

/** The end of every message about a run: its outcome and, if pinsim failed, why. */
function runTail(r: RunResult): string {
  const lines = [`outcome: ${r.outcome}`];
  if (r.error) lines.push(`pinsim error: ${r.error}`);
  if (r.skipped) lines.push(`skipped: ${r.skipped}`);
  return lines.join('\n');
}

/**
 * A matcher given something it cannot judge throws (as jest's matcher errors do), so that `.not`
 * cannot turn the misuse into a pass.
 */
function misuse(message: string): never {
  throw new TypeError(message);
}

function notAResult(name: string, received: unknown): never {
  return misuse(`${name}() expects the result of runScenario() or explore() from pinsim, got ${received === null ? 'null' : typeof received}`);
}

/** A run that pinsim itself failed proves nothing either way: every matcher fails on it, `.not` too. */
function refuseError(name: string, r: RunResult): void {
  if (r.outcome === 'error') misuse(`${name}(): ${runName(r)} did not run to the end: pinsim failed\n${runTail(r)}`);
}

function matches(v: Violation, kind: string, f: ViolationFilter | undefined): boolean {
  if (v.kind !== kind) return false;
  if (!f) return true;
  return (f.actor === undefined || v.actor === f.actor) && (f.pfn === undefined || v.pfn === f.pfn) && (f.file === undefined || v.file === f.file);
}

function filterText(kind: string, f: ViolationFilter | undefined): string {
  const parts = Object.entries(f ?? {}).filter(([, x]) => x !== undefined).map(([k, x]) => `${k} ${k === 'pfn' ? hex(x as number) : String(x)}`);
  return parts.length ? `${kind} (${parts.join(', ')})` : kind;
}

/** The forbid outcomes an exploration observed, each with its counterexample's violations. */
function exploreFindings(e: ExploreResult): string {
  const found = e.verdicts.filter((v) => v.kind === 'forbid' && v.count > 0);
  if (!found.length) return '  (none)';
  return found.map((v) => {
    const ex = v.example;
    const head = `  ${v.outcome}: ${v.verdict} (${v.count} of ${e.executions} executions)`;
    if (!ex) return head;
    const vs = ex.result.violations.filter((x) => x.kind === v.outcome);
    return `${head}, first in execution ${ex.execution} (choices ${ex.choices.join(',') || 'none'})\n${describeViolations(vs.length ? vs : ex.result.violations, e.policy)}`;
  }).join('\n');
}

/** How far an exploration went: `262 executions, exhaustive` or `50 executions, bounded by runs`. */
function searchText(e: ExploreResult): string {
  return `${e.executions} executions, ${e.exhaustive ? 'exhaustive' : `bounded by ${e.bound ?? 'runs'}, not exhaustive`}`;
}

/** An exploration that ran no execution proves nothing either way: every matcher refuses it, `.not` too. */
function refuseEmpty(name: string, e: ExploreResult): void {
  if (e.executions === 0) {
    misuse(`${name}(): the exploration of ${e.scenario} under ${e.policy} ran no execution (bounded by ${e.bound ?? 'runs'}), so it shows nothing either way`);
  }
}

/**
 * toHaveNoViolations() - the run found no violation. On failure the message tells each violation's
 * story. A run that pinsim itself failed (outcome `error`) is refused by every matcher, `.not` too.
 */
function toHaveNoViolations(received: unknown): MatcherResult {
  if (isExploreResult(received)) {
    const e = received;
    refuseEmpty('toHaveNoViolations', e);
    const pass = e.verdicts.every((v) => v.kind !== 'forbid' || v.count === 0);
    return {
      pass,
      message: () => pass
        ? `expected the exploration of ${e.scenario} under ${e.policy} to find a violation, but no forbidden outcome was observed (${searchText(e)})`
        : `expected the exploration of ${e.scenario} under ${e.policy} to find no violation, but in ${searchText(e)} it found:\n${exploreFindings(e)}`,
    };
  }
  if (!isRunResult(received)) return notAResult('toHaveNoViolations', received);
  const r = received;
  refuseError('toHaveNoViolations', r);
  const pass = r.violations.length === 0;
  return {
    pass,
    message: () => pass
      ? `expected ${runName(r)} to find a violation, but it found none\n${runTail(r)}`
      : `expected ${runName(r)} to find no violation, but it found ${r.violations.length}:\n${describeViolations(r.violations, r.policy)}\n${runTail(r)}`,
  };
}

/**
 * toHaveViolation() - the run found a violation of @kind (optionally by @filter's actor, on its pfn
 * or file). A failure lists the violations the run did find, each with its story; a failing
 * `.not` tells the story of the one it was told not to find.
 */
function toHaveViolation(received: unknown, kind: unknown, filter?: ViolationFilter): MatcherResult {
  if (typeof kind !== 'string') misuse(`toHaveViolation() takes an invariant kind such as 'lost-write', got ${typeof kind}`);
  const want = filterText(kind, filter);
  if (isExploreResult(received)) {
    const e = received;
    refuseEmpty('toHaveViolation', e);
    const v = e.verdicts.find((x) => x.outcome === kind);
    const runs = (v?.example ? [v.example.result] : []).filter((r) => r.violations.some((x) => matches(x, kind, filter)));
    const pass = v !== undefined && v.count > 0 && runs.length > 0;
    return {
      pass,
      message: () => pass
        ? `expected the exploration of ${e.scenario} under ${e.policy} not to find ${want}, but it did:\n${exploreFindings({ ...e, verdicts: e.verdicts.filter((x) => x.outcome === kind) })}`
        : `expected the exploration of ${e.scenario} under ${e.policy} to find ${want}, but ${v ? `it was ${v.verdict} (${searchText(e)})` : `${kind} was not among the outcomes it judged (${e.verdicts.map((x) => x.outcome).join(', ') || 'none'})`}; it found:\n${exploreFindings(e)}`,
    };
  }
  if (!isRunResult(received)) return notAResult('toHaveViolation', received);
  const r = received;
  refuseError('toHaveViolation', r);
  const hits = r.violations.filter((v) => matches(v, kind, filter));
  const pass = hits.length > 0;
  return {
    pass,
    message: () => pass
      ? `expected ${runName(r)} not to find ${want}, but it did:\n${describeViolations(hits, r.policy)}\n${runTail(r)}`
      : `expected ${runName(r)} to find ${want}, but it found ${r.violations.length ? `only:\n${describeViolations(r.violations, r.policy)}` : 'no violation'}\n${runTail(r)}`,
  };
}

/**
 * toMeetExpectations() - the run met its scenario's `expect` (or `expectByPolicy` entry for its
 * policy). A failure lists each unmet expectation, then the violations found with their stories.
 * Only a run can meet expectations; an explore() result is refused.
 */
function toMeetExpectations(received: unknown): MatcherResult {
  if (!isRunResult(received)) {
    if (isExploreResult(received)) misuse('toMeetExpectations() checks one run (runScenario()); for explore() use toHaveNoViolations() or toHaveViolation()');
    return notAResult('toMeetExpectations', received);
  }
  const r = received;
  refuseError('toMeetExpectations', r);
  const pass = r.expectations.met && r.outcome !== 'expectation-failed';
  const failures = r.expectations.failures.length ? r.expectations.failures.map((f) => `  ${f}`).join('\n') : '  (none recorded)';
  return {
    pass,
    message: () => pass
      ? `expected ${runName(r)} not to meet its expectations, but it met them\n${runTail(r)}`
      : `expected ${runName(r)} to meet its expectations, but:\n${failures}\nviolations found:\n${describeViolations(r.violations, r.policy)}\n${runTail(r)}`,
  };
}

/** The matchers as an object for `expect.extend()`. */
export const pinsimMatchers = { toHaveNoViolations, toHaveViolation, toMeetExpectations };

/** The `expect` that setupPinsimMatchers() extends: anything with vitest's `extend`. */
export interface ExtendableExpect {
  extend(matchers: typeof pinsimMatchers): void;
}

/**
 * setupPinsimMatchers() - register the matchers with @target (vitest's `expect` by default).
 * Importing `pinsim/vitest` already did this for vitest's own `expect`; calling it again is harmless.
 */
export function setupPinsimMatchers(target: ExtendableExpect = expect): void {
  target.extend(pinsimMatchers);
}

setupPinsimMatchers();
