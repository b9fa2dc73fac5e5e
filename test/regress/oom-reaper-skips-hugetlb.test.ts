/**
 * Regression (soak, fuzz seed 13960, after hugetlb met oom_kill): the OOM reaper zapped a private
 * hugetlb VMA as base pages and put a reference the huge page's mapping never took (kernel BUG in
 * folio_put_testzero). The kernel's __oom_reap_task_mm() skips VM_HUGETLB and VM_PFNMAP VMAs and
 * leaves them to exit_mmap().
 */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import type { MmTraceEvent } from '../../src/mm/trace_events.js';
import { runScenario } from '../../src/scenario/run/run.js';

const scenario = JSON.parse(readFileSync(new URL('./oom-reaper-skips-hugetlb.json', import.meta.url), 'utf8')) as Record<string, unknown>;

it('the reaper\'s non-blockable invalidation covers the anonymous VMA only; exit_mmap() unmaps the huge page', () => {
  const evs: MmTraceEvent[] = [];
  const r = runScenario(scenario, { trace: (e: MmTraceEvent) => evs.push(e) });
  expect(r.violations).toEqual([]);
  expect(r.outcome).toBe('pass');
  const starts = evs.filter((e): e is Extract<MmTraceEvent, { type: 'notifier_start' }> => e.type === 'notifier_start');
  expect(starts.map((e) => [e.blockable, e.end - e.start])).toEqual([[false, 4 * 4096], [true, 4 * 4096 + 2 * 1024 * 1024]]);
  const frees = evs.filter((e): e is Extract<MmTraceEvent, { type: 'folio_free' }> => e.type === 'folio_free');
  expect(frees.map((e) => [...(e.nrs ?? [])])).toEqual([[], [512]]);
});
