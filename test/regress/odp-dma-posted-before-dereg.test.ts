/**
 * Regression (issue 16): an odp-nic DMA posted just before dereg_mr faulted after the MR's interval
 * notifier was gone, so a munmap and a reuse during its fault latency went unseen and the NIC wrote
 * another process's page, completing ok. dereg now fences the faults holding the mkey first; and
 * once the mkey is destroyed, a later access through it fails.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { MmTraceEvent } from '../../src/mm/trace_events.js';
import { runScenario } from '../../src/scenario/run/run.js';

const scenario = JSON.parse(readFileSync(new URL('./odp-dma-posted-before-dereg.json', import.meta.url), 'utf8')) as Record<string, unknown>;

describe('odp-nic: a DMA posted just before dereg_mr', () => {
  it('its fault finishes under the notifier, sees the munmap and fails; the other process keeps its page', () => {
    const evs: MmTraceEvent[] = [];
    const r = runScenario(scenario, { trace: (e: MmTraceEvent) => evs.push(e) });
    expect(r.violations).toEqual([]);
    expect(r.outcome).toBe('pass');
    // dereg waited for the fault: the notifier was removed only after the munmap's invalidation.
    const unmap = evs.findIndex((e) => e.type === 'notifier_start');
    const removed = evs.findIndex((e) => e.type === 'interval_remove');
    expect(unmap).toBeGreaterThan(0);
    expect(removed).toBeGreaterThan(unmap);
    expect(evs.filter((e) => e.type === 'dma_access' && e.actor === 'nic0')).toEqual([]);
  });

  it('without the munmap the fault completes, dereg waits for it, and the access through the destroyed mkey fails', () => {
    const s = structuredClone(scenario) as { actors: Record<string, unknown>; expect?: unknown };
    delete s.actors['unmapper'];
    delete s.expect;
    const r = runScenario(s);
    expect(r.violations).toEqual([]);
    expect(r.results['w']).toBe('remote-access-error');
    expect(r.results['app.4']).toBe('ok');
    expect(r.ops['app.4']!.end).toBeGreaterThanOrEqual(100_000); // it waited for the 100 µs fault
  });
});
