/**
 * (pinsim-only) A fingerprint of the kernel model's state: frames, page tables, VMAs, page caches,
 * storage, DMA references, leases and notifier sequence numbers. With the actors' positions and the
 * devices' tables it identifies a state for the explorer's state cache.
 */
import type { Hasher } from '../engine/hash.js';
import type { Kernel } from './kernel.js';

export function kernel_fingerprint(k: Kernel, h: Hasher): void {
  const m = k.mem;
  h.add(m.highWater);
  for (let pfn = 1; pfn < m.highWater; pfn++) {
    if (m.free[pfn]) { h.add(-pfn); continue; }
    h.add(m.refcount(pfn)).add(m.pincount(pfn)).add(m.mapcount(pfn))
      .add(m.flagsOf(pfn)).add(m.mappingOf(pfn)).add(m.indexOf(pfn))
      .add(m.genOf(pfn)).add(m.contentOf(pfn));
  }
  for (const [head, n] of [...m.entire_mapcount].sort((a, b) => a[0] - b[0])) h.add(head).add(n);
  for (const hs of k.hugetlb.hstates.values()) {
    if (hs.nr_huge_pages === 0) continue;
    h.add(hs.order).add(hs.nr_huge_pages).add(hs.free_huge_pages).add(hs.resv_huge_pages);
    for (const head of hs.freelist) h.add(head);
  }
  for (const p of k.processes.values()) {
    h.addString(p.name).add(p.alive ? 1 : 0).add(p.mm.pinned_vm).add(p.mm.dead ? 1 : 0);
    for (const v of p.mm.vmas) h.add(v.vm_start).add(v.vm_end).add(v.vm_flags).add(v.vm_pgoff).add(v.vm_file?.id ?? 0);
    p.mm.pgtable.forEachIn(0, Infinity, (i, pte) => { h.add(i).add(pte); });
    const s = p.mm.notifier_subscriptions;
    if (s) h.add(s.invalidate_seq).add(s.active_invalidate_ranges).add(s.itree.length).add(s.deferred.length);
  }
  for (const ino of k.inodes.values()) {
    h.add(ino.id).add(ino.i_size);
    ino.i_mapping.i_pages.forEachIn(0, Infinity, (i, v) => { h.add(i).add(v); });
    for (const [i, t] of [...ino.storage].sort((a, b) => a[0] - b[0])) h.add(i).add(t);
  }
  for (const r of [...k.pins.live.values()].sort((a, b) => a.id - b.id)) {
    h.add(r.id);
    for (const pfn of r.pfns) h.add(pfn);
  }
  for (const l of k.leases.leases) h.add(l.inode.id).add(l.broken ? 1 : 0);
  // kcompactd's books decide what its next pass migrates.
  for (const [pfn, gen] of [...k.compacted].sort((a, b) => a[0] - b[0])) h.add(pfn).add(gen);
}
