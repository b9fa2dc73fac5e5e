/**
 * Regression (issue 16): kernel.until stopping the run inside an invalidation was reported as
 * notifier-unpaired (and the op inside it as a hang, the references it had not put yet as a
 * refcount-leak). A path the user's stop cut is not the kernel's fault: the result's notes name the
 * range, the device still inside its invalidation and kernel.until; the same scenario without the
 * stop has none of it; and a range left open without kernel.until is still a violation.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { notifier_unpaired } from '../../src/invariants/notifier-unpaired.js';
import { feed } from '../unit/invariants/fixtures.js';
import { runScenario } from '../../src/scenario/run/run.js';

const scenario = JSON.parse(readFileSync(new URL('./until-cuts-odp-invalidation.json', import.meta.url), 'utf8')) as Record<string, unknown> & { kernel: Record<string, unknown> };

describe('kernel.until inside an odp-nic invalidation', () => {
  it('is a note naming the range, the device and kernel.until, not a violation', () => {
    const r = runScenario(scenario);
    expect(r.outcome).toBe('pass');
    expect(r.violations).toEqual([]);
    expect(r.results['app.3']).toBe('blocked');
    expect(r.notes).toEqual([
      'kernel.until (205000 ns) stopped the run while app.3 (munmap) was running, since 200000 ns: cut, not blocked',
      'kernel.until (205000 ns) stopped the run inside MMU_NOTIFY_UNMAP range 1 of app [0x7effffffc000, 0x7f0000000000) opened by app, ' +
        'with the invalidation of nic0 not yet returned: not a violation, the run was cut there',
    ]);
  });

  it('without the stop, the invalidation ends and there is nothing to note', () => {
    const { until: _, ...kernel } = scenario.kernel;
    const r = runScenario({ ...scenario, kernel, expect: { violations: [], results: { 'app.3': 'ok' } } });
    expect(r.outcome).toBe('pass');
    expect(r.notes).toBeUndefined();
  });

  it('a range still open at the end of a run that kernel.until did not cut is notifier-unpaired', () => {
    const reports: string[] = [];
    const notes: string[] = [];
    const base = { time: 0, actor: 'app' };
    const found = feed(notifier_unpaired, [
      { ...base, type: 'notifier_start', id: 7, mm: 'app', start: 0x1000, end: 0x2000, event: 'MMU_NOTIFY_UNMAP', blockable: true },
      { ...base, type: 'run_end', crashed: false },
    ], { policy: 'linux-6.12', note: (t) => notes.push(t), cutByUntil: () => false });
    reports.push(...found.map((v) => v.message));
    expect(reports).toEqual(['MMU_NOTIFY_UNMAP invalidate_range_start (range 7, app 0x1000-0x2000) never ended']);
    expect(notes).toEqual([]);
  });
});
