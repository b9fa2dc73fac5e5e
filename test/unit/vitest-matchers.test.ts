/**
 * The `pinsim/vitest` matchers (src/vitest.ts): toHaveNoViolations, toHaveViolation and
 * toMeetExpectations pass and fail as they should, with `.not`, as asymmetric matchers and on an
 * explore() result; a failure message tells each violation's story in the era's kernel words
 * (report/story.ts), the unmet expectations, and why pinsim itself failed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { explore, exploreValidated } from '../../src/explore/explore.js';
import { tellChain } from '../../src/report/story.js';
import { INVARIANT_KINDS } from '../../src/scenario/registry.js';
import type { RunResult } from '../../src/scenario/run/result.js';
import { runScenario } from '../../src/scenario/run/run.js';
import { validateOrThrow } from '../../src/scenario/format/validate.js';
import { describeViolation, pinsimMatchers, setupPinsimMatchers } from '../../src/vitest.js';

const EXAMPLES = join(import.meta.dirname, '..', '..', 'examples');
const load = (f: string): Record<string, unknown> => JSON.parse(readFileSync(join(EXAMPLES, f), 'utf8')) as Record<string, unknown>;

/** gup-nic-truncate: a lost write under linux-4.20, the MR refused (EFAULT) under linux-6.12. */
const truncate = load('gup-nic-truncate.json');
const lost = runScenario(truncate, { policy: 'linux-4.20' });
const refused = runScenario(truncate, { policy: 'linux-6.12' });

/** The message of the assertion @f fails with ('' if it passes). */
function failure(f: () => void): string {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  return '';
}

describe('the runs the matchers are tested on', () => {
  it('are what the example says: a lost-write under linux-4.20, none under linux-6.12', () => {
    expect(lost.violations.map((v) => v.kind)).toEqual(['lost-write']);
    expect(refused.violations).toEqual([]);
    expect(refused.results['mr']).toBe('EFAULT');
  });
});

describe('toHaveNoViolations()', () => {
  it('passes on a run without violations, and .not passes on one with them', () => {
    expect(refused).toHaveNoViolations();
    expect(lost).not.toHaveNoViolations();
  });

  it('fails on a lost write with the violation, its checker message and its story in 4.20 words', () => {
    const m = failure(() => expect(lost).toHaveNoViolations());
    const v = lost.violations[0]!;
    expect(m).toContain('expected gup-nic-truncate under linux-4.20 (seed 1) to find no violation, but it found 1:');
    expect(m).toContain('lost-write at t=30µs by nic0, pfn 0x1 (f@0)');
    expect(m).toContain(v.message);
    expect(m).toContain(`story: ${tellChain(v, 'linux-4.20')}`);
    // The story itself: a FOLL_GET reference via get_user_pages_longterm, the truncate, the DMA.
    expect(m).toMatch(/nic0 took a FOLL_GET reference on pfn 0x1 \(f@0\) via get_user_pages_longterm.* → .*admin truncate removed pfn 0x1 from f's page cache.* → .*nic0 dma_write 4K into pfn 0x1: the write never reaches f/);
    expect(m).toContain('outcome: violations');
  });

  it('tells the story in the era of the run: FOLL_PIN|FOLL_LONGTERM under linux-5.7', () => {
    const r = runScenario({ ...truncate, expect: undefined, expectByPolicy: undefined }, { policy: 'linux-5.7' });
    expect(r).toHaveViolation('lost-write');
    expect(failure(() => expect(r).toHaveNoViolations())).toMatch(/story: t=\S+ nic0 pinned pfn 0x1 \(f@0\) FOLL_PIN\|FOLL_LONGTERM, refcount 1026 → /);
  });

  it('fails with .not on a clean run, saying so', () => {
    expect(failure(() => expect(refused).not.toHaveNoViolations())).toBe(
      'expected gup-nic-truncate under linux-6.12 (seed 1) to find a violation, but it found none\noutcome: pass',
    );
  });

  it('refuses a run that pinsim itself failed, with .not too, and says why', () => {
    const broken: RunResult = { ...refused, outcome: 'error', error: '[pinsim internal bug] the model fell over' };
    const why = /^toHaveNoViolations\(\): gup-nic-truncate under linux-6\.12 \(seed 1\) did not run to the end: pinsim failed\noutcome: error\npinsim error: \[pinsim internal bug\] the model fell over$/;
    expect(failure(() => expect(broken).toHaveNoViolations())).toMatch(why);
    expect(failure(() => expect(broken).not.toHaveNoViolations())).toMatch(why);
    expect(failure(() => expect(broken).not.toHaveViolation('lost-write'))).toMatch(/did not run to the end/);
  });

  it('refuses what is not a result, with .not too', () => {
    expect(failure(() => expect(42).toHaveNoViolations())).toBe('toHaveNoViolations() expects the result of runScenario() or explore() from pinsim, got number');
    expect(failure(() => expect(null).not.toHaveViolation('lost-write'))).toMatch(/^toHaveViolation\(\) expects .* got null$/);
    expect(failure(() => expect({}).not.toMeetExpectations())).toMatch(/got object$/);
  });
});

describe('toHaveViolation(kind)', () => {
  it('passes when the run found the kind (and the actor, pfn and file asked for)', () => {
    expect(lost).toHaveViolation('lost-write');
    expect(lost).toHaveViolation('lost-write', { actor: 'nic0', file: 'f', pfn: 1 });
    expect(lost).not.toHaveViolation('stale-read');
    expect(lost).not.toHaveViolation('lost-write', { actor: 'admin' });
    expect(refused).not.toHaveViolation('lost-write');
  });

  it('fails on a kind the run did not find, listing what it found with the stories', () => {
    const m = failure(() => expect(lost).toHaveViolation('dma-use-after-free'));
    expect(m).toMatch(/^expected gup-nic-truncate under linux-4\.20 \(seed 1\) to find dma-use-after-free, but it found only:\n {2}lost-write at t=30µs/);
    expect(m).toContain(`story: ${tellChain(lost.violations[0]!, 'linux-4.20')}`);
  });

  it('fails on a run without violations, saying it found none', () => {
    expect(failure(() => expect(refused).toHaveViolation('lost-write', { actor: 'nic0' }))).toBe(
      'expected gup-nic-truncate under linux-6.12 (seed 1) to find lost-write (actor nic0), but it found no violation\noutcome: pass',
    );
  });

  it('fails with .not by telling the story of the violation it was told not to find', () => {
    const m = failure(() => expect(lost).not.toHaveViolation('lost-write'));
    expect(m).toMatch(/^expected gup-nic-truncate under linux-4\.20 \(seed 1\) not to find lost-write, but it did:\n/);
    expect(m).toContain('the write never reaches f');
    expect(m).toContain(' → ');
  });

  it('takes only a kind name, with .not too', () => {
    expect(failure(() => expect(lost).toHaveViolation(7 as unknown as string))).toMatch(/takes an invariant kind such as 'lost-write', got number/);
    expect(failure(() => expect(lost).not.toHaveViolation(7 as unknown as string))).toMatch(/takes an invariant kind/);
  });

  it('works as an asymmetric matcher', () => {
    expect({ before: lost, after: refused }).toEqual({ before: expect.toHaveViolation('lost-write'), after: expect.toHaveNoViolations() });
    expect({ r: refused }).not.toEqual({ r: expect.toHaveViolation('lost-write') });
  });
});

describe('toMeetExpectations()', () => {
  it('passes when the scenario\'s expect / expectByPolicy holds for the run\'s policy', () => {
    expect(lost).toMeetExpectations();
    expect(refused).toMeetExpectations();
  });

  it('fails with each unmet expectation, then the violations and their stories', () => {
    const wrong = runScenario({ ...truncate, expectByPolicy: undefined, expect: { violations: [], results: { 'admin.0': 'EBUSY' } } }, { policy: 'linux-4.20' });
    expect(wrong.outcome).toBe('expectation-failed');
    const m = failure(() => expect(wrong).toMeetExpectations());
    expect(m).toMatch(/^expected gup-nic-truncate under linux-4\.20 \(seed 1\) to meet its expectations, but:\n {2}violations: expected \[\], got \[lost-write\]\n {2}results\.admin\.0: expected EBUSY, got ok\nviolations found:\n {2}lost-write/);
    expect(m).toContain('story: t=');
    expect(m).toMatch(/outcome: expectation-failed$/);
    expect(wrong).not.toMeetExpectations();
  });

  it('refuses a run that pinsim itself failed', () => {
    const broken: RunResult = { ...refused, outcome: 'error', error: '[pinsim internal bug] boom' };
    expect(failure(() => expect(broken).toMeetExpectations())).toMatch(/^toMeetExpectations\(\): .* pinsim failed\n[\s\S]*pinsim error: \[pinsim internal bug\] boom$/);
    expect(failure(() => expect(broken).not.toMeetExpectations())).toMatch(/pinsim failed/);
  });
});

describe('on an explore() result', () => {
  const buggy = validateOrThrow(load('explore/gpu-fault-vs-munmap-skip-read-retry.json'));
  const fixed = validateOrThrow(load('explore/gpu-fault-vs-munmap.json'));
  const kinds = INVARIANT_KINDS;

  it('a forbidden outcome some execution showed is a violation, told through its counterexample', () => {
    const e = exploreValidated(buggy, { policy: 'linux-6.12' }, kinds);
    const found = e.verdicts.filter((v) => v.kind === 'forbid' && v.verdict === 'Sometimes');
    expect(found.length).toBeGreaterThan(0);
    const kind = found[0]!.outcome;
    expect(e).toHaveViolation(kind);
    const m = failure(() => expect(e).toHaveNoViolations());
    expect(m).toMatch(new RegExp(`to find no violation, but in ${e.executions} executions, exhaustive it found:\\n {2}${kind}: Sometimes`));
    expect(m).toContain('story: t=');
    expect(failure(() => expect(e).toMeetExpectations())).toMatch(/checks one run/);
    expect(failure(() => expect(e).not.toMeetExpectations())).toMatch(/checks one run/);
  });

  it('an exploration where every forbidden outcome is Never has no violations', () => {
    const e = exploreValidated(fixed, { policy: 'linux-6.12' }, kinds);
    expect(e).toHaveNoViolations();
    expect(failure(() => expect(e).toHaveViolation('dma-into-reused-page'))).toMatch(/but it was Never \(\d+ executions, exhaustive\)/);
  });

  it('the builder\'s output explores as runScenario runs it, with the scenario\'s forbid as the default kinds', () => {
    const e = explore(load('explore/gpu-fault-vs-munmap.json'));
    expect(e.verdicts.map((v) => v.outcome).sort()).toEqual(['dma-into-reused-page', 'dma-use-after-free']);
    expect(e).toMatchObject({ policy: 'linux-6.12', exhaustive: true, bound: null });
  });

  it('a bounded exploration that saw nothing passes toHaveNoViolations() and says what bounded it', () => {
    const e = exploreValidated(fixed, { strategy: 'random', runs: 5 });
    expect(e.verdicts.every((v) => v.verdict === 'NotObserved')).toBe(true);
    expect(e).toHaveNoViolations();
    expect(failure(() => expect(e).not.toHaveNoViolations())).toMatch(/no forbidden outcome was observed \(5 executions, bounded by runs, not exhaustive\)/);
  });

  it('refuses an exploration that ran no execution, .not too', () => {
    for (const e of [exploreValidated(buggy, { runs: 0 }), explore(load('explore/gpu-fault-vs-munmap.json'), { strategy: 'random', runs: 0 })]) {
      expect(e.executions).toBe(0);
      expect(failure(() => expect(e).toHaveNoViolations())).toMatch(/^toHaveNoViolations\(\): the exploration of .* ran no execution \(bounded by runs\)/);
      expect(failure(() => expect(e).not.toHaveNoViolations())).toMatch(/ran no execution/);
      expect(failure(() => expect(e).toHaveViolation('dma-use-after-free'))).toMatch(/^toHaveViolation\(\): .* ran no execution/);
      expect(failure(() => expect(e).not.toHaveViolation('dma-use-after-free'))).toMatch(/ran no execution/);
    }
  });
});

describe('registration', () => {
  it('setupPinsimMatchers() hands the three matchers to the expect it is given', () => {
    const got: string[] = [];
    setupPinsimMatchers({ extend: (m) => got.push(...Object.keys(m)) });
    expect(got.sort()).toEqual(['toHaveNoViolations', 'toHaveViolation', 'toMeetExpectations']);
    expect(Object.keys(pinsimMatchers).sort()).toEqual(got);
  });

  it('describeViolation() is the block each failure message lists', () => {
    const v = lost.violations[0]!;
    expect(failure(() => expect(lost).toHaveNoViolations())).toContain(describeViolation(v, 'linux-4.20'));
    expect(describeViolation({ ...v, chain: [] }, 'linux-4.20')).not.toContain('story:');
  });
});
