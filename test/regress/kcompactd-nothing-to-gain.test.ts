/**
 * Regression (issue 16): a kernel.compaction period shorter than an ODP fault re-migrated the same
 * pages every pass; each MMU_NOTIFY_MIGRATE made the fault's read_retry fail, so the fault never
 * completed before the HMM timeout (1 s simulated, 9.4 M events). kcompactd now stops when there is
 * nothing to gain. Bounded by counts, not time: each page migrates once, the whole run is a few
 * dozen events, and a page that arrives later is still compacted.
 */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import type { MmTraceEvent } from '../../src/mm/trace_events.js';
import { runScenario } from '../../src/scenario/run/run.js';

const scenario = JSON.parse(readFileSync(new URL('./kcompactd-faster-than-odp-fault.json', import.meta.url), 'utf8')) as Record<string, unknown>;

function traced(s: unknown): { r: ReturnType<typeof runScenario>; evs: MmTraceEvent[] } {
  const evs: MmTraceEvent[] = [];
  const r = runScenario(s, { trace: (e: MmTraceEvent) => evs.push(e) });
  return { r, evs };
}

it('kcompactd every 2 µs against a 100 µs ODP fault: each page migrates once and the fault completes', () => {
  const { r, evs } = traced(scenario);
  expect(r.outcome).toBe('pass');
  expect(r.results['mr']).toBe('ok');
  expect(r.results['w']).toBe('ok');
  const migrated = evs.filter((e) => e.type === 'folio_migrate');
  expect(migrated).toHaveLength(4); // the four pages of buf, once each
  expect(evs.filter((e) => e.type === 'notifier_start' && e.actor === 'kcompactd0')).toHaveLength(4);
  expect(r.stats.events).toBeLessThan(200);
  expect(r.stats.simTimeNs).toBeLessThan(1_000_000);
});

it('a page that arrives after a pass is still compacted, once', () => {
  const s = structuredClone(scenario) as { actors: { app: unknown[] } };
  s.actors.app.push({ op: 'mmap', length: '4K', prot: 'rw', flags: ['private', 'populate'], at: '300us', as: 'late' }, { op: 'sleep', duration: '50us' });
  const { evs } = traced(s);
  const moves = evs.filter((e): e is Extract<MmTraceEvent, { type: 'folio_migrate' }> => e.type === 'folio_migrate');
  expect(moves).toHaveLength(5);
  expect(moves[4]!.time).toBeGreaterThanOrEqual(300_000);
});
