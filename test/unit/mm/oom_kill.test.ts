/**
 * oom_kill: the OOM reaper's non-blockable invalidations (__oom_reap_task_mm), which subscribers may
 * refuse (the VMA is then skipped, no _end), before the victim's exit_mmap.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { MmTraceEvent } from '../../../src/mm/trace_events.js';
import { runScenario } from '../../../src/scenario/run/run.js';
import { pagesOfType } from '../../helpers/pages.js';

const example = (name: string) => JSON.parse(readFileSync(new URL(`../../../examples/${name}.json`, import.meta.url), 'utf8'));
function run(s: unknown, policy?: string) {
  const evs: MmTraceEvent[] = [];
  const r = runScenario(s, { ...(policy ? { policy } : {}), trace: (e) => evs.push(e) });
  return { r, evs };
}
const starts = (evs: MmTraceEvent[], actor: string) =>
  evs.filter((e) => e.type === 'notifier_start' && e.actor === actor) as Extract<MmTraceEvent, { type: 'notifier_start' }>[];

describe('oom_kill and the OOM reaper', () => {
  it('odp-nic refuses the reaper\'s non-blockable range: that VMA is skipped (no _end), the other is reaped; exit_mmap releases the MR', () => {
    for (const policy of ['linux-4.20', 'linux-6.12']) {
      const { r, evs } = run(example('oom-kill-odp-refuses'), policy);
      expect(r.expectations.met).toBe(true);
      const reaper = starts(evs, 'oom').filter((e) => !e.blockable);
      expect(reaper).toHaveLength(2);
      const aborted = new Set(evs.filter((e) => e.type === 'notifier_abort').map((e) => (e as { id: number }).id));
      const ended = new Set(evs.filter((e) => e.type === 'notifier_end').map((e) => (e as { id: number }).id));
      expect(reaper.map((e) => [aborted.has(e.id), ended.has(e.id)])).toEqual([[false, true], [true, false]]);
      expect(evs.some((e) => e.type === 'notifier_sub_done' && e.holder === 'nic0' && !e.ok && !e.blockable)).toBe(true);
      // The MR's pages were unmapped by the exit, after the RELEASE invalidation.
      expect(evs.some((e) => e.type === 'notifier_sub_done' && e.holder === 'nic0' && e.event === 'MMU_NOTIFY_RELEASE')).toBe(true);
    }
  });

  it('dmirror takes its mutex by trylock in the reaper\'s range and erases its entries: reaped, nothing slept', () => {
    const s = example('oom-kill-gpu-nonblock-slept');
    s.devices.gpu0.ignoreBlockable = false;
    const { r, evs } = run(s);
    expect(r.violations).toEqual([]);
    expect(evs.some((e) => e.type === 'notifier_abort')).toBe(false);
    expect(pagesOfType(evs, 'dev_unmap').filter((e) => e.actor === 'gpu0')).toHaveLength(4);
  });

  it('a driver that sleeps in the reaper\'s non-blockable range is nonblock-slept', () => {
    const { r } = run(example('oom-kill-gpu-nonblock-slept'));
    expect(r.expectations.met).toBe(true);
    expect(r.violations.map((v) => v.kind)).toEqual(['nonblock-slept']);
  });

  const victim = (extra: unknown[] = []) => ({
    name: 'oom-unit', kernel: { memory: '64M' },
    actors: {
      app: [
        { op: 'mmap', length: '8K', prot: 'rw', flags: ['private'], as: 'buf' },
        { op: 'store', addr: 'buf', length: '8K', as: 's' },
        ...extra,
      ],
    },
  });

  it('waits for the fork that creates the process, kills it, and a second kill is ESRCH', () => {
    const s = victim([{ op: 'fork', at: '50us', as: 'kid' }]) as { actors: Record<string, unknown> };
    s.actors['killer'] = [{ op: 'oom_kill', process: 'kid', as: 'k1' }, { op: 'oom_kill', process: 'kid', as: 'k2' }];
    s.actors['child'] = { process: 'kid', ops: [{ op: 'sleep', duration: '1ms', as: 'zz' }] };
    const { r } = run(s);
    expect(r.results).toMatchObject({ k1: 'ok', k2: 'ESRCH', zz: 'not-run' });
    expect(r.ops['k1']!.start).toBe(0);
    expect(r.ops['k1']!.end).toBeGreaterThanOrEqual(50_000);
  });

  it('killing its own process: the op completes ok and the thread\'s later ops never run', () => {
    const s = victim([{ op: 'oom_kill', process: 'app', as: 'self' }, { op: 'load', addr: 'buf', length: '4K', as: 'after' }]);
    const { r } = run(s);
    expect(r.results).toMatchObject({ self: 'ok', after: 'not-run' });
  });
});
