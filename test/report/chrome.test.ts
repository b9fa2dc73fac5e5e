/**
 * The Chrome / Perfetto export (DESIGN §8 `--trace chrome`): the document's shape as ui.perfetto.dev
 * and chrome://tracing read it — a named track per actor, ops and DMA windows as slices that nest,
 * notifier ranges joined to each subscriber's acknowledgement by flows, refcount/pincount counters
 * of the frames a violation is about, one global instant per violation — on three examples, then
 * on every example under every built policy.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MmTraceEvent } from '../../src/mm/trace_events.js';
import { formatChromeTrace, toChromeTrace, type ChromeEvent, type ChromeTrace } from '../../src/report/chrome.js';
import { defaultRegistry } from '../../src/scenario/registry.js';
import type { RunResult } from '../../src/scenario/run/result.js';
import { runScenario } from '../../src/scenario/run/run.js';
import { chromeShapeProblems, threadNames } from './chrome-shape.js';

const EXAMPLES = join(import.meta.dirname, '..', '..', 'examples');
const load = (f: string): unknown => JSON.parse(readFileSync(join(EXAMPLES, f), 'utf8'));

function run(file: string, policy?: string): { events: MmTraceEvent[]; r: RunResult; t: ChromeTrace } {
  const events: MmTraceEvent[] = [];
  const r = runScenario(load(file), { ...(policy ? { policy } : {}), trace: (ev) => void events.push({ ...ev }) });
  return { events, r, t: toChromeTrace(events, r) };
}

/** Every actor the trace knows: who emitted events, and each device. */
function actorsOf(events: MmTraceEvent[]): Set<string> {
  const s = new Set<string>();
  for (const ev of events) {
    s.add(ev.actor);
    if ('device' in ev && typeof ev.device === 'string') s.add(ev.device);
  }
  return s;
}

const tidNamed = (t: ChromeTrace, name: string): number => {
  for (const [tid, n] of threadNames(t)) if (n === name) return tid;
  return -1;
};
const ofPh = (t: ChromeTrace, ph: ChromeEvent['ph']) => t.traceEvents.filter((e) => e.ph === ph);

describe('toChromeTrace() on gup-nic-truncate under linux-4.20 (the lost write)', () => {
  const { events, r, t } = run('gup-nic-truncate.json', 'linux-4.20');

  it('has the shape both viewers load, with run metadata', () => {
    expect(chromeShapeProblems(t)).toEqual([]);
    expect(t.displayTimeUnit).toBe('ns');
    expect(t.metadata).toEqual({ scenario: 'gup-nic-truncate', policy: 'linux-4.20', seed: 1, traceHash: r.traceHash });
    expect(JSON.parse(formatChromeTrace(t))).toEqual(JSON.parse(JSON.stringify(t)));
  });

  it('names one track per actor: the process threads, the NIC and the kernel', () => {
    const names = new Set(threadNames(t).values());
    for (const a of actorsOf(events)) expect(names).toContain(a);
    for (const a of ['app', 'admin', 'nic0', 'kernel']) expect(names).toContain(a);
    const pn = t.traceEvents.find((e) => e.ph === 'M' && e.name === 'process_name');
    expect(pn?.args?.['name']).toContain('gup-nic-truncate');
  });

  it('draws each DMA as a slice on the NIC from dma_start to dma_complete, in µs', () => {
    const nic = tidNamed(t, 'nic0');
    const dma = ofPh(t, 'X').filter((e) => e.cat === 'dma');
    expect(dma.map((e) => e.name)).toEqual(['dma_write w1', 'dma_write w2']);
    for (const e of dma) expect(e.tid).toBe(nic);
    const w2s = events.find((e) => e.type === 'dma_start' && e.wr === 'w2') as MmTraceEvent;
    const w2c = events.find((e) => e.type === 'dma_complete' && e.wr === 'w2') as MmTraceEvent;
    const w2 = dma[1] as ChromeEvent;
    expect(w2.ts).toBe(w2s.time / 1000);
    expect(w2.dur).toBeCloseTo((w2c.time - w2s.time) / 1000, 9);
  });

  it('draws every op as a slice on its actor from op_start to op_end', () => {
    const ops = ofPh(t, 'X').filter((e) => e.cat === 'op');
    const starts = events.filter((e) => e.type === 'op_start');
    expect(ops.length).toBe(starts.length);
    const trunc = ops.find((e) => e.name === 'ftruncate');
    expect(trunc?.tid).toBe(tidNamed(t, 'admin'));
    expect(trunc?.args?.['result']).toBe('ok');
  });

  it("counts refcount and pincount of the lost write's frame, and marks the violation with a global instant", () => {
    const c = ofPh(t, 'C').filter((e) => e.name === 'pfn 0x1');
    expect(c.length).toBeGreaterThan(2);
    expect(c.some((e) => e.args?.['refcount'] === 3)).toBe(true); // the FOLL_GET reference on top of cache + PTE
    expect(c.every((e) => e.args?.['pincount'] === 0)).toBe(true); // 4.20 has no FOLL_PIN
    const inst = ofPh(t, 'i').filter((e) => e.s === 'g');
    expect(inst.map((e) => e.name)).toEqual(['lost-write']);
    expect(inst[0]?.ts).toBe(30);
    expect(String(inst[0]?.args?.['story'])).toContain('get_user_pages_longterm');
  });

  it('is the same document for the same run', () => {
    expect(JSON.stringify(run('gup-nic-truncate.json', 'linux-4.20').t)).toBe(JSON.stringify(t));
  });
});

describe('toChromeTrace() on odp-nic-truncate (an invalidation the NIC acknowledges)', () => {
  const { events, t } = run('odp-nic-truncate.json');

  it('has the shape both viewers load', () => {
    expect(chromeShapeProblems(t)).toEqual([]);
    const names = new Set(threadNames(t).values());
    for (const a of actorsOf(events)) expect(names).toContain(a);
  });

  it('draws each notifier range on the truncating actor and each acknowledgement on the NIC, joined by a flow', () => {
    const starts = events.filter((e) => e.type === 'notifier_start');
    const acks = events.filter((e) => e.type === 'notifier_sub_done');
    expect(starts.length).toBeGreaterThan(0);
    const ranges = ofPh(t, 'X').filter((e) => e.name.startsWith('mmu_notifier '));
    expect(ranges.length).toBe(starts.length);
    for (const e of ranges) expect(e.tid).toBe(tidNamed(t, 'admin'));
    const invs = ofPh(t, 'X').filter((e) => e.name.startsWith('invalidate '));
    expect(invs.length).toBe(acks.length);
    for (const e of invs) expect(e.tid).toBe(tidNamed(t, 'nic0'));
    const s = ofPh(t, 's'), f = ofPh(t, 'f');
    expect(s.length).toBe(acks.length);
    expect(f.map((e) => e.id).sort()).toEqual(s.map((e) => e.id).sort());
    for (const e of [...s, ...f]) expect(e.cat).toBe('notifier');
    for (const e of s) expect(e.tid).toBe(tidNamed(t, 'admin'));
    for (const e of f) {
      expect(e.tid).toBe(tidNamed(t, 'nic0'));
      expect(e.bp).toBe('e');
    }
    // The first range: from its start (200.1 µs) to the NIC's acknowledgement after its zap (210.1 µs).
    const first = acks[0] as MmTraceEvent;
    const ff = f.find((e) => e.id === 1) as ChromeEvent;
    expect(ff.ts).toBeLessThanOrEqual(first.time / 1000);
    expect(ff.ts).toBeGreaterThan((starts[0] as MmTraceEvent).time / 1000);
  });
});

describe('toChromeTrace() on odp-nic-umr-failure (use-after-free into a reused page)', () => {
  const { r, t } = run('odp-nic-umr-failure.json');

  it('has the shape both viewers load, with flows and an instant per violation', () => {
    expect(chromeShapeProblems(t)).toEqual([]);
    expect(ofPh(t, 's').length).toBeGreaterThan(0);
    const inst = ofPh(t, 'i').filter((e) => e.s === 'g' && e.cat === 'violation');
    expect(inst.map((e) => e.name)).toEqual(r.violations.map((v) => v.kind));
    expect(ofPh(t, 'i').some((e) => e.s === 't' && e.name === 'kernel_warn')).toBe(true);
  });

  it("follows the reused frame's refcount through the free and the victim's allocation", () => {
    const c = ofPh(t, 'C').filter((e) => e.name === 'pfn 0x1').map((e) => e.args?.['refcount']);
    expect(c).toContain(0);
    expect(c.indexOf(0)).toBeLessThan(c.length - 1);
  });
});

describe('toChromeTrace() on every example under every built policy', () => {
  const files = (readdirSync(EXAMPLES, { recursive: true }) as string[]).filter((f) => f.endsWith('.json')).map((f) => f.split('\\').join('/')).sort();
  const policies = [...defaultRegistry().policies.keys()];

  it.each(files)('%s loads in both viewers under every policy', (file) => {
    for (const policy of policies) {
      const { events, t } = run(file, policy);
      const problems = chromeShapeProblems(t);
      expect(problems, `${file} under ${policy}`).toEqual([]);
      const names = new Set(threadNames(t).values());
      for (const a of actorsOf(events)) expect(names, `${file} under ${policy}: ${a}`).toContain(a);
      for (const ev of events) {
        if (ev.type !== 'dma_complete') continue;
        const slice = t.traceEvents.some((e) => e.ph === 'X' && e.cat === 'dma' && e.name.endsWith(` ${ev.wr}`));
        expect(slice, `${file} under ${policy}: a slice for ${ev.wr}`).toBe(true);
      }
    }
  });
});

describe('toChromeTrace() on a huge page (hugetlb/gup-nic-hugetlbfs-truncate: the lost write into a 2 MiB page)', () => {
  const { t } = run('hugetlb/gup-nic-hugetlbfs-truncate.json');

  it('loads in both viewers', () => {
    expect(chromeShapeProblems(t)).toEqual([]);
  });

  it('says the folio size on the DMA slices that touched the huge page', () => {
    const dma = t.traceEvents.filter((e) => e.ph === 'X' && e.cat === 'dma');
    expect(dma.map((e) => e.args?.['folio'])).toEqual(['2M', '2M']);
  });

  it("counts the huge page's refcount and pincount on its head, named with the folio's size", () => {
    const counters = ofPh(t, 'C');
    expect(new Set(counters.map((e) => e.name))).toEqual(new Set(['pfn 0x200 (2M folio)']));
    expect(counters.map((e) => e.args?.['pincount'])).toContain(512);
  });
});

describe('toChromeTrace() of an order-0 run names no folio size', () => {
  it('gup-nic-truncate has no folio argument and plain pfn counters', () => {
    const { t } = run('gup-nic-truncate.json', 'linux-4.20');
    expect(t.traceEvents.some((e) => e.args?.['folio'] !== undefined)).toBe(false);
    expect(ofPh(t, 'C').every((e) => /^pfn 0x[0-9a-f]+$/.test(e.name))).toBe(true);
  });
});
