/**
 * The device translation table every model keeps its translations in: insert/lookup/erase by page
 * index with DMA mapping and `dev_map`/`dev_unmap` traces, a walk over [first, end) that visits
 * only the present entries of the range (across leaves, and sparsely over huge ranges), the reverse
 * map by pfn, and the fingerprint.
 */
import { describe, expect, it } from 'vitest';
import { PinsimInternalError } from '../../../src/engine/bug.js';
import { Hasher } from '../../../src/engine/hash.js';
import { TranslationTable } from '../../../src/devices/device.js';
import { IommuDomain } from '../../../src/mm/iommu.js';
import type { MmEventOf } from '../../../src/mm/trace_events.js';
import { makeKernel, type TestKernel } from '../../helpers/kernel.js';
import { pagesOfType } from '../../helpers/pages.js';

/** A table of device nic0 for mm "app", over a kernel with @frames allocated frames. */
function table(opts: { traced?: boolean; rmap?: boolean; iommu?: boolean } = {}, frames = 8): { t: TestKernel; tab: TranslationTable; pfns: number[]; iommu: IommuDomain | null } {
  const t = makeKernel('6.12');
  const pfns = Array.from({ length: frames }, () => t.k.alloc.alloc_page());
  const iommu = opts.iommu ? new IommuDomain('nic0') : null;
  const tab = new TranslationTable({ k: t.k, name: 'nic0', iommu }, 'app', opts);
  return { t, tab, pfns, iommu };
}

function walked(tab: TranslationTable, first: number, end: number): number[] {
  const out: number[] = [];
  tab.walk(first, end, (vpn) => out.push(vpn));
  return out;
}

describe('TranslationTable', () => {
  it('insert, lookup and erase by page index, traced as dev_map and dev_unmap with the walk position', () => {
    const { t, tab, pfns } = table();
    const pfn = pfns[0]!;
    tab.insert(0x7f000, pfn, true, 42);
    expect(tab.count).toBe(1);
    expect(tab.lookup(0x7f000)).toMatchObject({ pfn, iova: -1, mm: 'app', va: 0x7f000 * 4096, write: true, atomic: false, file: '', index: -1 });
    expect(tab.lookup(0x7f001)).toBeNull();
    const map = pagesOfType(t.events, 'dev_map');
    expect(map).toEqual([expect.objectContaining({ device: 'nic0', mm: 'app', pfn, write: true, snapSeq: 42, holdsRef: false })]);
    tab.setWrite(0x7f000, false);
    expect(tab.lookup(0x7f000)?.write).toBe(false);
    expect(tab.erase(0x7f000)).toBe(true);
    expect(tab.erase(0x7f000)).toBe(false);
    expect(tab.count).toBe(0);
    expect(t.events.filter((e) => e.type === 'dev_unmap')).toHaveLength(1);
  });

  it('a leaf an erase emptied serves the next table clean: no entry, IOVA or tag of the table before shows', () => {
    const a = table({ iommu: true });
    const leavesOf = (t: TranslationTable) => (t as unknown as { leaves: Map<number, object> }).leaves;
    for (let v = 0; v < 4; v++) a.tab.insert(v, a.pfns[v]!, true, 0, undefined, true);
    const leaf = leavesOf(a.tab).get(0);
    for (let v = 0; v < 4; v++) expect(a.tab.erase(v)).toBe(true);
    // Another table (no IOMMU) takes the spare leaf for a page of another leaf key.
    const b = table();
    b.tab.insert(5 * 512 + 1, b.pfns[0]!, false, 0);
    expect(leavesOf(b.tab).get(5)).toBe(leaf);
    expect(b.tab.lookup(5 * 512 + 1)).toMatchObject({ pfn: b.pfns[0], iova: -1, write: false, atomic: false, file: '', index: -1 });
    for (const v of [5 * 512, 5 * 512 + 2, 5 * 512 + 3]) expect(b.tab.lookup(v)).toBeNull();
    expect(walked(b.tab, 0, Infinity)).toEqual([5 * 512 + 1]);
    const kept = new Hasher(), scratch = new Hasher();
    b.tab.fingerprint(kept);
    b.tab.fingerprint(scratch, true);
    expect(kept.value).toBe(scratch.value);
  });

  it('keeps the generation it is given (a walk older than the install) and the ATOMIC tag', () => {
    const { t, tab, pfns } = table();
    tab.insert(3, pfns[1]!, true, 0, 77, true);
    expect(tab.lookup(3)).toMatchObject({ gen: 77, atomic: true });
    tab.insert(4, pfns[2]!, false, 0);
    expect(tab.lookup(4)?.gen).toBe(t.k.mem.genOf(pfns[2]!));
  });

  it('an untraced table (a classic MR\'s MTT) maps and unmaps through the IOMMU without dev_map/dev_unmap', () => {
    const { t, tab, pfns, iommu } = table({ traced: false, iommu: true });
    tab.insert(1, pfns[0]!, true, 0);
    const iova = tab.lookup(1)!.iova;
    expect(iova).toBeGreaterThanOrEqual(0);
    expect(iommu!.translate(iova)).toBe(pfns[0]);
    tab.erase(1);
    expect(iommu!.translate(iova)).toBe(-1);
    expect(t.events.some((e) => e.type === 'dev_map' || e.type === 'dev_unmap')).toBe(false);
  });

  it('refuses an insert over a present entry as a pinsim bug', () => {
    const { tab, pfns } = table();
    tab.insert(9, pfns[0]!, true, 0);
    expect(() => tab.insert(9, pfns[1]!, true, 0)).toThrow(PinsimInternalError);
  });

  it('walks only the present entries of [first, end), in order, across leaves and bitmap words, counting each visit', () => {
    const { tab, pfns } = table({ traced: false });
    const present = [0, 1, 31, 32, 63, 511, 512, 700, 1023, 1024, 5000];
    present.forEach((v, i) => tab.insert(v, pfns[i % pfns.length]!, false, 0));
    expect(walked(tab, 0, Infinity)).toEqual(present);
    expect(tab.visited).toBe(present.length);
    expect(walked(tab, 1, 512)).toEqual([1, 31, 32, 63, 511]);
    expect(walked(tab, 31, 33)).toEqual([31, 32]);
    expect(walked(tab, 512, 1025)).toEqual([512, 700, 1023, 1024]);
    expect(walked(tab, 2, 31)).toEqual([]);
    expect(walked(tab, 5001, 5002)).toEqual([]);
    expect(tab.visited).toBe(present.length + 5 + 2 + 4);
  });

  it('a walk over the whole address space costs the entries present, and the walker may erase what it is given', () => {
    const { tab, pfns } = table({ traced: false });
    const far = [3, 2 ** 35, 2 ** 35 + 1];
    far.forEach((v, i) => tab.insert(v, pfns[i]!, false, 0));
    const seen: number[] = [];
    tab.walk(0, Infinity, (vpn) => { seen.push(vpn); tab.erase(vpn); });
    expect(seen).toEqual(far);
    expect(tab.visited).toBe(3);
    expect(tab.count).toBe(0);
    expect(walked(tab, 0, Infinity)).toEqual([]);
  });

  it('finds the entries translating a pfn through its reverse map, kept in step by insert and erase', () => {
    const { tab, pfns } = table({ traced: false, rmap: true });
    const [p0, p1] = [pfns[0]!, pfns[1]!];
    for (const v of [40, 10, 30]) tab.insert(v, p0, true, 0);
    tab.insert(20, p1, true, 0);
    const of = (pfn: number) => { const out: number[] = []; tab.walkPfn(pfn, (v) => out.push(v)); return out; };
    expect(of(p0)).toEqual([10, 30, 40]);
    tab.erase(30);
    expect(of(p0)).toEqual([10, 40]);
    expect(of(p1)).toEqual([20]);
    expect(tab.visited).toBe(3 + 2 + 1);
    expect(() => table().tab.walkPfn(p0, () => {})).toThrow(PinsimInternalError);
  });

  it('eraseRange() removes the entries of a range in one walk, traced as one dev_unmap per leaf, handing each out first', () => {
    const { t, tab, pfns } = table({}, 8);
    const vpns = [100, 101, 103, 511, 512, 515, 2000];
    vpns.forEach((v, i) => tab.insert(v, pfns[i]!, true, 0));
    const from = t.events.length, before: number[] = [];
    expect(tab.eraseRange(101, 1000, (vpn, pfn) => before.push(tab.lookup(vpn)!.pfn === pfn ? pfn : -1))).toBe(5);
    expect(before).toEqual([pfns[1], pfns[2], pfns[3], pfns[4], pfns[5]]);
    const evs = t.events.slice(from);
    expect(evs.map((e) => e.type)).toEqual(['dev_unmap', 'dev_unmap']);
    const [a, b] = evs as MmEventOf<'dev_unmap'>[];
    expect([a!.start / 4096, a!.end / 4096, [...a!.pfns]]).toEqual([101, 512, [pfns[1], -1, pfns[2], ...Array(407).fill(-1), pfns[3]]]);
    expect([b!.start / 4096, b!.end / 4096, [...b!.pfns]]).toEqual([512, 516, [pfns[4], -1, -1, pfns[5]]]);
    expect(walked(tab, 0, Infinity)).toEqual([100, 2000]);
    expect(tab.anyIn(101, 2000)).toBe(false);
    expect(tab.anyIn(101, 2001)).toBe(true);
  });

  it('a map batch installs as it goes and traces one dev_map per run of one leaf and one file', () => {
    const { t, tab, pfns } = table({}, 8);
    const from = t.events.length;
    const b = tab.beginMap(7);
    b.insert(510, pfns[0]!, true);
    b.insert(511, pfns[1]!, false, 33);
    expect(tab.count).toBe(2);
    b.insert(513, pfns[2]!, true);
    b.end();
    const evs = t.events.slice(from) as MmEventOf<'dev_map'>[];
    expect(evs.map((e) => [e.start / 4096, e.end / 4096, [...e.pfns], [...e.write], e.snapSeq])).toEqual([
      [510, 512, [pfns[0], pfns[1]], [1, 0], 7],
      [513, 514, [pfns[2]], [1], 7],
    ]);
    expect(evs[0]!.gens[1]).toBe(33);
    expect(pagesOfType(evs, 'dev_map').map((e) => e.va / 4096)).toEqual([510, 511, 513]);
  });

  it('fingerprints its entries: equal tables hash alike, a changed frame or WRITE tag does not', () => {
    const fp = (edit?: (tab: TranslationTable, pfns: number[]) => void) => {
      const { tab, pfns } = table({ traced: false });
      tab.insert(5, pfns[0]!, true, 0);
      tab.insert(600, pfns[1]!, false, 0);
      edit?.(tab, pfns);
      const h = new Hasher();
      tab.fingerprint(h);
      return h.value;
    };
    expect(fp()).toBe(fp());
    expect(fp((tab) => tab.setWrite(600, true))).not.toBe(fp());
    expect(fp((tab, pfns) => { tab.erase(5); tab.insert(5, pfns[2]!, true, 0); })).not.toBe(fp());
  });

  it('keeps its fingerprint at every write: equal to the one computed from every entry, and order-free', () => {
    const both = (tab: TranslationTable) => {
      const kept = new Hasher(), fresh = new Hasher();
      tab.fingerprint(kept);
      tab.fingerprint(fresh, true);
      expect(kept.value).toBe(fresh.value);
      return kept.value;
    };
    const { tab, pfns } = table({ traced: false, rmap: true });
    const empty = both(tab);
    for (let i = 0; i < 6; i++) tab.insert(510 + i, pfns[i]!, i % 2 === 0, 0);
    const six = both(tab);
    tab.setWrite(511, true);
    expect(both(tab)).not.toBe(six);
    tab.setWrite(511, false);
    expect(both(tab)).toBe(six);
    tab.erase(512);
    both(tab);
    tab.eraseRange(511, 515);
    both(tab);
    tab.eraseRange(0, Infinity);
    expect(both(tab)).toBe(empty);
    // The same entries installed in another order: the same fingerprint.
    const other = table({ traced: false, rmap: true });
    for (let i = 5; i >= 0; i--) other.tab.insert(510 + i, other.pfns[i]!, i % 2 === 0, 0);
    const mine = table({ traced: false, rmap: true });
    for (let i = 0; i < 6; i++) mine.tab.insert(510 + i, mine.pfns[i]!, i % 2 === 0, 0);
    expect(both(other.tab)).toBe(both(mine.tab));
  });
});
