import { describe, expect, it } from 'vitest';
import {
  ChainHistory, FrameBooks, i32Column, Interner, PAGE_SHIFT, SlotTable, VaTable, vpnOf,
} from '../../../src/invariants/books.js';
import { PAGE_SIZE } from '../../../src/mm/types.js';
import { filemapRemoveOf, folioFreeOf, pteClearOf } from './fixtures.js';

describe('the checkers\' books', () => {
  it('count pages in the kernel model\'s page size', () => {
    expect(2 ** PAGE_SHIFT).toBe(PAGE_SIZE);
    expect(vpnOf(3 * PAGE_SIZE + 5)).toBe(3);
  });

  it('a pfn column grows to the highest pfn set and reads its fill value beyond', () => {
    const c = i32Column(-1);
    expect(c.get(10)).toBe(-1);
    c.set(100, 7);
    expect(c.get(100)).toBe(7);
    expect(c.get(99)).toBe(-1);
    expect(c.a.length).toBeGreaterThan(100);
    expect(c.a.length).toBeLessThan(1000);
  });

  it('an interner gives small ids from 1, the same for the same name', () => {
    const n = new Interner();
    expect(n.id('app')).toBe(1);
    expect(n.id('gpu0')).toBe(2);
    expect(n.id('app')).toBe(1);
    expect(n.name(2)).toBe('gpu0');
    expect(n.name(0)).toBe('');
  });

  it('the frame books say whether a frame was freed since a generation', () => {
    const f = new FrameBooks();
    f.onAlloc({ type: 'folio_alloc', time: 0, actor: 'app', pfn: 4, gen: 1, owner: 'anon:app', file: '', index: -1 });
    expect(f.freedSince(4, 1)).toBe(false);
    f.onFree(folioFreeOf(5, 'app', 4));
    expect(f.freedSince(4, 1)).toBe(true);
    f.onAlloc({ type: 'folio_alloc', time: 6, actor: 'app', pfn: 4, gen: 2, owner: 'anon:app', file: '', index: -1 });
    expect([f.freedSince(4, 1), f.freedSince(4, 2)]).toEqual([true, false]);
  });

  it('a VaTable keeps an entry per page, walks the present ones of a range, and makes its float column only when needed', () => {
    const t = new VaTable(-1);
    t.set(10, 5, 1, -1, 2, 3);
    t.set(600, 6, 1, 42.5, 2, 0);
    t.set(100_000, 7, 0, -1, 0, 0);
    expect(t.get(10)).toEqual({ pfn: 5, a: 1, b: -1, c: 2, flags: 3 });
    expect(t.get(600)?.b).toBe(42.5);
    const walked = (a: number, b: number) => { const out: number[] = []; t.walk(a, b, (v) => out.push(v)); return out; };
    expect(walked(0, Infinity)).toEqual([10, 600, 100_000]);
    expect(walked(11, 100_000)).toEqual([600]);
    expect(t.clear(600)).toBe(1);
    expect(t.clear(600)).toBeNull();
    expect(t.count).toBe(2);
    // A run clears the pages its array names (not -1), across leaves, handing out each one that was there.
    for (let v = 500; v < 530; v++) t.set(v, v, v * 10, -1, 0, 0);
    const gone: number[] = [];
    const pfns = Int32Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? -1 : 1));
    t.clearRun(495, pfns, (a) => gone.push(a));
    expect(gone).toEqual([500, 502, 503, 505, 506, 508, 509, 511, 512, 514, 515, 517, 518, 520, 521, 523, 524, 526, 527, 529].map((v) => v * 10));
    expect(walked(495, 535)).toEqual([501, 504, 507, 510, 513, 516, 519, 522, 525, 528]);
  });

  it('a VaTable leaf emptied by clear() or clearRun() serves the next table clean, with that table\'s default', () => {
    // Entries everywhere in a leaf, float values included, then cleared page by page and by a run.
    const a = new VaTable(-1);
    const leavesOf = (t: VaTable) => (t as unknown as { leaves: Map<number, object> }).leaves;
    for (let v = 0; v < 512; v++) a.set(v, v + 1, 7, 3.5, 9, 2);
    const leaf = leavesOf(a).get(0);
    for (let v = 0; v < 256; v++) a.clear(v);
    a.clearRun(256, new Int32Array(256).fill(1));
    expect(a.count).toBe(0);
    expect(leavesOf(a).size).toBe(0);
    // New tables take the spare leaves: nothing of the first table shows, and the float column
    // reads each table's own default.
    for (const bDefault of [0, -1]) {
      const t = new VaTable(bDefault);
      t.set(1030, 4, 1, bDefault, 1, 0);
      // The emptied leaf is the one taken (not a new one).
      expect(leavesOf(t).get(2)).toBe(leaf);
      expect(t.get(1030)).toEqual({ pfn: 4, a: 1, b: bDefault, c: 1, flags: 0 });
      const seen: number[] = [];
      t.walk(1024, 1536, (v) => seen.push(v));
      expect(seen).toEqual([1030]);
      for (const v of [1024, 1031, 1535]) expect(t.get(v)).toBeNull();
      t.clear(1030);
    }
  });

  it('a slot table lets an item go when the last entry pointing to it does, and reuses the slot', () => {
    const s = new SlotTable<string>();
    const a = s.add('a');
    s.hold(a);
    s.hold(a);
    s.put(a);
    expect(s.get(a)).toBe('a');
    s.put(a);
    expect(s.get(a)).toBeNull();
    expect(s.add('b')).toBe(a);
    s.drop(a);
    expect(s.get(a)).toBeNull();
  });

  it('the chain history keeps, per frame, the last page of each range event and lets an event go once no frame points into it', () => {
    const f = new FrameBooks();
    const h = new ChainHistory(f);
    f.onAlloc({ type: 'folio_alloc', time: 0, actor: 'app', pfn: 3, gen: 1, owner: 'file', file: 'f', index: 0 });
    h.on(pteClearOf(10, 'app', 'app', 0x5000, 3, true));
    h.on(filemapRemoveOf(20, 'admin', 'f', 0, 3, 1, 'truncate'));
    h.on(folioFreeOf(30, 'admin', 3, 8));
    expect(h.get(3, 'pte_clear')).toMatchObject({ type: 'pte_clear', time: 10, mm: 'app', va: 0x5000, pfn: 3, dirty: true });
    expect(h.get(3, 'filemap_remove')).toMatchObject({ type: 'filemap_remove', index: 0, pfn: 3, gen: 1, refcount: 1, reason: 'truncate' });
    expect(h.get(8, 'folio_free')).toMatchObject({ pfn: 8, gen: 0 });
    const tail = { type: 'cpu_access', time: 25, actor: 'x', mm: 'app', va: 0, pfn: 3, gen: 1, file: '', index: -1, write: true, token: 1, shared: false } as const;
    expect(h.chain(3, ['filemap_remove', 'pte_clear', 'folio_free'], tail).map((e) => e.time)).toEqual([10, 20, 25]);
    // A later zap of the same frame replaces the first: only the last one is told.
    h.on(pteClearOf(40, 'app', 'app', 0x9000, 3));
    expect(h.get(3, 'pte_clear')).toMatchObject({ time: 40, va: 0x9000, dirty: false });
  });
});
