/**
 * The determinism self-check behind `pinsim run --check-determinism` (issue 6, deliverable 4): every
 * example under every built policy runs twice with the same trace hash after every event; and the
 * check names the first divergent event of a run that is deliberately not deterministic.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TraceBus } from '../src/engine/trace.js';
import type { MmTraceEvent } from '../src/mm/trace_events.js';
import { checkDeterminism, formatDeterminism, type RunWithSteps } from '../src/report/determinism.js';
import { formatTraceLine } from '../src/report/text.js';
import { defaultRegistry } from '../src/scenario/registry.js';
import type { RunResult } from '../src/scenario/run/result.js';
import { runScenario } from '../src/scenario/run/run.js';

const DIR = join(import.meta.dirname, '..', 'examples');
const FILES = (readdirSync(DIR, { recursive: true }) as string[]).filter((f) => f.endsWith('.json')).map((f) => f.split('\\').join('/')).sort();
const POLICIES = [...defaultRegistry().policies.keys()];
const load = (f: string): unknown => JSON.parse(readFileSync(join(DIR, f), 'utf8'));

describe('--check-determinism over every example under every policy', () => {
  it('finds the examples, the thread-2018 ones included', () => {
    expect(FILES).toContain('gup-nic-truncate.json');
    expect(FILES.some((f) => f.startsWith('thread-2018/'))).toBe(true);
    expect(POLICIES).toContain('linux-4.20');
  });

  describe.each(FILES)('%s', (file) => {
    it.each(POLICIES)('runs twice under %s without divergence', (policy) => {
      const s = load(file);
      const verdict = checkDeterminism((stepHashes, trace) => runScenario(s, { policy, stepHashes, trace }));
      if (!verdict.deterministic) expect.fail(formatDeterminism(verdict));
      expect(verdict.result.error).toBeUndefined();
      expect(verdict.events).toBe(verdict.result.stats.events);
      if (verdict.result.outcome !== 'skip') {
        expect(verdict.events).toBeGreaterThan(0);
        expect(formatDeterminism(verdict)).toMatch(new RegExp(`^deterministic: ${verdict.events} events, traceHash ${verdict.traceHash}\\n`));
      }
    });
  });
});

/** A fake run: emits @events through a real TraceBus (so the step hashes are the engine's). */
function fakeRun(events: MmTraceEvent[]): (stepHashes: string[], trace: (ev: MmTraceEvent) => void) => RunResult {
  return (stepHashes, trace) => {
    const bus = new TraceBus<MmTraceEvent>();
    bus.stepHashes = stepHashes;
    bus.subscribe(trace);
    for (const ev of events) bus.emit(ev);
    return {
      scenario: 'fake', policy: 'linux-6.12', seed: 1, outcome: 'pass', violations: [], results: {}, observed: {}, ops: {},
      expectations: { met: true, failures: [] },
      stats: { events: bus.count, simTimeNs: 0, faults: 0, invalidations: 0, pins: 0, choicePoints: 0 },
      traceHash: bus.traceHash, choices: [],
    };
  };
}

const op = (time: number, name: string): MmTraceEvent => ({ type: 'op_start', time, actor: 'app', op: 'store', name });

describe('checkDeterminism() on runs that are not deterministic', () => {
  it('names the first event whose hash differs, and prints it from both runs', () => {
    const base = [op(0, 'app.0'), op(100, 'app.1'), op(200, 'app.2'), op(300, 'app.3'), op(400, 'app.4')];
    let calls = 0;
    const run: RunWithSteps = (h, t) => {
      // The second run changes one field of event 2 (and so every hash after it).
      const evs = calls++ === 0 ? base : base.map((e, i) => (i === 2 ? { ...e, time: 250 } : e));
      return fakeRun(evs)(h, t);
    };
    const v = checkDeterminism(run);
    expect(v.deterministic).toBe(false);
    if (v.deterministic) return;
    expect(v.divergence.index).toBe(2);
    expect(v.divergence.first).toEqual(base[2]);
    expect(v.divergence.second).toEqual({ ...base[2], time: 250 });
    const text = formatDeterminism(v);
    expect(text).toContain('diverge at event 2');
    expect(text).toContain(`first run:  ${formatTraceLine(base[2] as MmTraceEvent)}`);
    expect(text).toContain('second run: 0.250µs app op_start: op=store name=app.2');
  });

  it('names the first missing event when one run is shorter', () => {
    const base = [op(0, 'app.0'), op(100, 'app.1'), op(200, 'app.2')];
    let calls = 0;
    const v = checkDeterminism((h, t) => fakeRun(calls++ === 0 ? base : base.slice(0, 2))(h, t));
    expect(v.deterministic).toBe(false);
    if (v.deterministic) return;
    expect(v.divergence.index).toBe(2);
    expect(v.divergence.second).toBeNull();
    expect(formatDeterminism(v)).toContain('second run: (none: the run ended after 2 events)');
  });

  it('catches a real scenario whose second run takes another schedule, at the first event that differs', () => {
    const s = load('explore/gpu-fault-vs-munmap.json');
    const first = runScenario(s, {});
    expect(first.stats.choicePoints).toBeGreaterThan(0);
    let calls = 0;
    const v = checkDeterminism((stepHashes, trace) => runScenario(s, {
      stepHashes, trace,
      // The second run explores: within a 1 µs window it picks the last candidate, not the earliest.
      ...(calls++ === 0 ? {} : { window: 1000, chooser: (p) => p.candidates.length - 1 }),
    }));
    expect(v.deterministic).toBe(false);
    if (v.deterministic) return;
    // Recompute the first differing index independently.
    const a: string[] = [], b: string[] = [];
    runScenario(s, { stepHashes: a });
    runScenario(s, { stepHashes: b, window: 1000, chooser: (p) => p.candidates.length - 1 });
    const expected = a.findIndex((h, i) => h !== b[i]);
    expect(expected).toBeGreaterThan(0);
    expect(v.divergence.index).toBe(expected);
    expect(v.divergence.first).not.toBeNull();
    expect(v.divergence.second).not.toBeNull();
    expect(formatTraceLine(v.divergence.first as MmTraceEvent)).not.toBe(formatTraceLine(v.divergence.second as MmTraceEvent));
  });

  it('reports results that differ even when the traces agree', () => {
    const evs = [op(0, 'app.0')];
    let calls = 0;
    const v = checkDeterminism((h, t) => {
      const r = fakeRun(evs)(h, t);
      return calls++ === 0 ? r : { ...r, results: { 'app.0': 'EINVAL' } };
    });
    expect(v.deterministic).toBe(false);
    if (v.deterministic) return;
    expect(v.divergence.index).toBe(-1);
    expect(formatDeterminism(v)).toContain('results');
  });
});
