/**
 * Regression (issue 16): notifier-teardown-incomplete booked translations per (device, mm, va), so
 * two MRs of one NIC over one page gave a false positive (one MR's callback answered for the other
 * MR's entry), and one MR's unmap could erase the other's entry, hiding a real leak (the synthetic
 * cases are in test/unit/invariants/notifier-teardown-incomplete.test.ts). Each subscription's
 * books are its own now.
 */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import type { MmTraceEvent } from '../../src/mm/trace_events.js';
import { runScenario } from '../../src/scenario/run/run.js';

const scenario = JSON.parse(readFileSync(new URL('./odp-two-mrs-one-page.json', import.meta.url), 'utf8')) as Record<string, unknown>;

it('mr1\'s callback returning first, with nothing to zap, is no violation while mr2 still maps the page', () => {
  const evs: MmTraceEvent[] = [];
  const r = runScenario(scenario, { trace: (e: MmTraceEvent) => evs.push(e) });
  expect(r.violations).toEqual([]);
  const subs = evs.filter((e): e is Extract<MmTraceEvent, { type: 'notifier_sub_done' }> => e.type === 'notifier_sub_done');
  expect(subs.map((e) => e.sub)).toEqual([1, 2]); // two subscriptions, mr1's called first
  const map = evs.find((e): e is Extract<MmTraceEvent, { type: 'dev_map' }> => e.type === 'dev_map');
  expect(map?.sub).toBe(2); // the page was mapped by mr2
});
