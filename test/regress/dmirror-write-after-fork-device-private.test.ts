/**
 * Regression (soak, fuzz seed 32908, after device-private fork met GPU writes): after fork, the
 * parent's device-private entry is read-only; a dmirror write fault got it back read-only from
 * hmm_range_fault() (the caller's own device-private page is reported, not faulted) and the model
 * retried for ever. lib/test_hmm.c dmirror_do_fault() WARNs and returns -EFAULT.
 */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { runScenario } from '../../src/scenario/run/run.js';

const scenario = JSON.parse(readFileSync(new URL('./dmirror-write-after-fork-device-private.json', import.meta.url), 'utf8')) as Record<string, unknown>;

it('the write fails with EFAULT and a WARNING at dmirror_do_fault, in every era', () => {
  for (const policy of ['linux-4.20', 'linux-5.9', 'linux-6.12']) {
    const r = runScenario(scenario, { policy });
    expect(r.results['app.4']).toBe('EFAULT');
    expect(r.violations.map((v) => [v.kind, v.message.includes('dmirror_do_fault')])).toEqual([['kernel-warn', true]]);
    expect(r.expectations.met).toBe(true);
  }
});

it('a write to a page the fork did not touch still succeeds (the WARN is about the read-only device-private entry only)', () => {
  const s = structuredClone(scenario) as { actors: { app: Record<string, unknown>[] } };
  s.actors.app[4] = { op: 'gpu_write', mirror: 'm', length: '1p', offset: '3p' };
  const r = runScenario(s as unknown as Record<string, unknown>, { policy: 'linux-6.12' });
  expect(r.results['app.4']).toBe('ok');
  expect(r.violations).toEqual([]);
});
