/**
 * One expectation rule: `expectByPolicy[policy]`, else `expect`, else no violation. runScenario's
 * `expectations` and `outcome`, the `toMeetExpectations()` matcher and `pinsim check` must judge
 * the README's own scenario (expectations for linux-4.20 and linux-6.12 only) alike under every
 * policy, where before the library passed linux-5.7's lost-write that `check` failed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vitest from 'vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as pinsim from '../src/index.js';
import { defaultRegistry } from '../src/scenario/registry.js';
import * as pinsimVitest from '../src/vitest.js';
import { MAIN, ROOT, ensureBuilt } from './helpers/dist.js';
import { README, blocks, evalBlock, section } from './helpers/readme.js';

const POLICIES = [...defaultRegistry().policies.keys()];
const { s } = evalBlock(blocks(section(README, 'Library use'), 'ts')[0] as string,
  { vitest: { ...vitest, test: () => {} }, pinsim, 'pinsim/vitest': pinsimVitest }, 'module.exports.s = s;');
let tmp = '';

beforeAll(() => {
  ensureBuilt();
  tmp = mkdtempSync(join(tmpdir(), 'pinsim-rule-'));
}, 180_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** Does `toMeetExpectations()` pass on @r? */
function matcherPasses(r: pinsim.RunResult): boolean {
  try {
    expect(r).toMeetExpectations();
    return true;
  } catch {
    return false;
  }
}

describe('the one expectation rule', () => {
  it('runScenario, toMeetExpectations() and pinsim check agree on the README scenario under every policy', () => {
    const file = join(tmp, 'readme.json');
    writeFileSync(file, JSON.stringify(s));
    const r = spawnSync(process.execPath, [MAIN, 'check', file, '--policy', 'all'], { cwd: ROOT, encoding: 'utf8' });
    const checked = new Map([...r.stdout.matchAll(/^(PASS|FAIL|SKIP) \S+ under (\S+):/gm)].map((m) => [m[2], m[1] === 'PASS']));
    expect([...checked.keys()].sort()).toEqual([...POLICIES].sort());
    const verdicts = POLICIES.map((policy) => {
      const run = pinsim.runScenario(s, { policy });
      const library = run.expectations.met && (run.outcome === 'pass' || run.outcome === 'violations');
      return { policy, library, matcher: matcherPasses(run), check: checked.get(policy), outcome: run.outcome };
    });
    for (const v of verdicts) expect({ policy: v.policy, matcher: v.matcher, check: v.check }).toEqual({ policy: v.policy, matcher: v.library, check: v.library });
    // The case that used to disagree: no expectation for linux-5.7, and its lost-write fails everywhere.
    expect(verdicts.find((v) => v.policy === 'linux-5.7')).toMatchObject({ library: false, outcome: 'expectation-failed' });
    expect(verdicts.find((v) => v.policy === 'linux-4.20')).toMatchObject({ library: true, outcome: 'violations' });
    expect(r.status).toBe(1);
  });

  it('says why a run with no expectation for its policy fails', () => {
    const run = pinsim.runScenario(s, { policy: 'linux-5.7' });
    expect(run.expectations.failures).toEqual(['violations: no expect or expectByPolicy entry for linux-5.7, so none is expected; got [lost-write]']);
  });

  it('passes a run with no expectation for its policy that shows no violation, and one whose violations its expect names', () => {
    const clean = pinsim.runScenario(s, { policy: 'linux-6.12' });
    expect(clean).toMatchObject({ outcome: 'pass', expectations: { met: true } });
    const named = pinsim.runScenario({ ...(s as object), expect: { violations: ['lost-write'] } }, { policy: 'linux-5.7' });
    expect(named).toMatchObject({ outcome: 'violations', expectations: { met: true } });
  });

  it('keeps run exiting 1 on a violation that the scenario expects', () => {
    const file = join(tmp, 'readme.json');
    writeFileSync(file, JSON.stringify(s));
    const r = spawnSync(process.execPath, [MAIN, 'run', file, '--policy', 'linux-4.20'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.stdout).toContain('outcome   violations (lost-write)');
    expect(r.status).toBe(1);
  });
});
