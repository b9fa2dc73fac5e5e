import { describe, expect, it } from 'vitest';
import { TraceBus, type TraceEventBase } from '../../../src/engine/trace.js';

type Ev = TraceEventBase & { pfn?: number; file?: string; write?: boolean };

const EVENTS: Ev[] = [
  { type: 'folio_alloc', time: 0, actor: 'app', pfn: 1 },
  { type: 'dma_ref_get', time: 100, actor: 'nic0', pfn: 1, write: true },
  { type: 'filemap_remove', time: 20_000, actor: 'admin', pfn: 1, file: 'f' },
  { type: 'dma_access', time: 30_000, actor: 'nic0', pfn: 1, write: true },
];

function hashOf(evs: readonly Ev[], setup?: (b: TraceBus<Ev>) => void): string {
  const b = new TraceBus<Ev>();
  setup?.(b);
  for (const e of evs) b.emit({ ...e });
  return b.traceHash;
}

describe('TraceBus and traceHash', () => {
  it('the same events give the same 16-hex-digit hash', () => {
    expect(hashOf(EVENTS)).toMatch(/^[0-9a-f]{16}$/);
    expect(hashOf(EVENTS)).toBe(hashOf(EVENTS));
  });

  it('the hash does not depend on listeners (checkers, --trace)', () => {
    const seen: Ev[] = [];
    const withListeners = hashOf(EVENTS, (b) => {
      b.subscribe((e) => seen.push(e));
      b.subscribe(() => {});
    });
    expect(withListeners).toBe(hashOf(EVENTS));
    expect(seen.map((e) => e.type)).toEqual(EVENTS.map((e) => e.type));
  });

  it('a listener that mutates an event after seeing it cannot change the hash', () => {
    const h = hashOf(EVENTS, (b) => b.subscribe((e) => { e.pfn = 999; }));
    expect(h).toBe(hashOf(EVENTS));
  });

  it('differs when a number, a string, a boolean, the order or the count of events differs', () => {
    const base = hashOf(EVENTS);
    const variants: Ev[][] = [
      EVENTS.map((e, i) => (i === 3 ? { ...e, pfn: 2 } : e)),
      EVENTS.map((e, i) => (i === 3 ? { ...e, time: 30_001 } : e)),
      EVENTS.map((e, i) => (i === 2 ? { ...e, file: 'g' } : e)),
      EVENTS.map((e, i) => (i === 3 ? { ...e, write: false } : e)),
      EVENTS.map((e, i) => (i === 3 ? { ...e, actor: 'nic1' } : e)),
      EVENTS.map((e, i) => (i === 3 ? { ...e, type: 'dma_complete' } : e)),
      [EVENTS[1]!, EVENTS[0]!, EVENTS[2]!, EVENTS[3]!],
      EVENTS.slice(0, 3),
      [...EVENTS, EVENTS[3]!],
    ];
    const hashes = variants.map((v) => hashOf(v));
    for (const h of hashes) expect(h).not.toBe(base);
    expect(new Set(hashes).size).toBe(hashes.length);
  });

  it('large integers (pfns and addresses beyond 2^32) hash exactly', () => {
    const at = (pfn: number) => hashOf([{ type: 'pte_set', time: 0, actor: 'app', pfn }]);
    expect(at(2 ** 40)).not.toBe(at(2 ** 40 + 1));
    expect(at(2 ** 32)).not.toBe(at(0));
    expect(at(0x7f0000000000)).not.toBe(at(0x7f0000001000));
  });

  it('stepHashes records the running hash after every event', () => {
    const b = new TraceBus<Ev>();
    b.stepHashes = [];
    for (const e of EVENTS) b.emit({ ...e });
    expect(b.stepHashes).toHaveLength(EVENTS.length);
    expect(b.stepHashes[EVENTS.length - 1]).toBe(b.traceHash);
    expect(b.stepHashes).toEqual(EVENTS.map((_, i) => hashOf(EVENTS.slice(0, i + 1))));
    expect(new Set(b.stepHashes).size).toBe(EVENTS.length);
  });

  it('stepHashes stays null unless asked for, and count counts emitted events', () => {
    const b = new TraceBus<Ev>();
    for (const e of EVENTS) b.emit({ ...e });
    expect(b.stepHashes).toBeNull();
    expect(b.count).toBe(EVENTS.length);
  });

  it('subscribe() returns an unsubscribe, and listened says whether anyone listens', () => {
    const b = new TraceBus<Ev>();
    expect(b.listened).toBe(false);
    const seen: string[] = [];
    const off = b.subscribe((e) => seen.push(e.type));
    expect(b.listened).toBe(true);
    b.emit({ ...EVENTS[0]! });
    off();
    b.emit({ ...EVENTS[1]! });
    expect(seen).toEqual(['folio_alloc']);
    expect(b.listened).toBe(false);
  });

  it('a listener that names event types receives only those, after the listeners of every event', () => {
    const b = new TraceBus<Ev>();
    const seen: string[] = [];
    const off = b.subscribe((e) => seen.push(`typed:${e.type}`), ['dma_access', 'filemap_remove']);
    b.subscribe((e) => seen.push(`all:${e.type}`));
    expect(b.listens('dma_access')).toBe(true);
    for (const e of EVENTS) b.emit({ ...e });
    expect(seen).toEqual(['all:folio_alloc', 'all:dma_ref_get', 'all:filemap_remove', 'typed:filemap_remove', 'all:dma_access', 'typed:dma_access']);
    off();
    seen.length = 0;
    b.emit({ ...EVENTS[3]! });
    expect(seen).toEqual(['all:dma_access']);
  });

  it('listened and listens() count typed listeners too', () => {
    const b = new TraceBus<Ev>();
    const off = b.subscribe(() => {}, ['pte_set']);
    expect(b.listened).toBe(true);
    expect(b.listens('pte_set')).toBe(true);
    expect(b.listens('pte_clear')).toBe(false);
    off();
    expect(b.listened).toBe(false);
  });

  it('a range event hashes every element of its typed arrays, and their length', () => {
    type R = TraceEventBase & { pfns?: Int32Array };
    const at = (pfns: number[]) => {
      const b = new TraceBus<R>();
      b.emit({ type: 'pte_clear', time: 0, actor: 'app', pfns: Int32Array.from(pfns) });
      return b.traceHash;
    };
    expect(at([1, 2, 3])).toBe(at([1, 2, 3]));
    const variants = [at([1, 2, 4]), at([1, 2]), at([1, 2, 3, 0]), at([3, 2, 1]), at([])];
    for (const h of variants) expect(h).not.toBe(at([1, 2, 3]));
    expect(new Set(variants).size).toBe(variants.length);
  });

  it('string hashes are shared between buses and may be forgotten: the hash of a trace never changes', () => {
    const before = hashOf(EVENTS);
    // Enough distinct names to empty the shared table of string hashes at least once.
    const names: Ev[] = Array.from({ length: 70_000 }, (_, i) => ({ type: 'folio_alloc', time: i, actor: `a${i}` }));
    const many = hashOf(names);
    expect(hashOf(EVENTS)).toBe(before);
    expect(hashOf(names)).toBe(many);
    expect(hashOf([{ ...EVENTS[0]!, actor: 'other' }])).not.toBe(hashOf([EVENTS[0]!]));
  });
});
