/**
 * dmirror's device-private memory: MIGRATE_TO_DEV moves the anonymous system pages of a range into
 * simulated VRAM (pages the device owns, which the CPU cannot map), MIGRATE_TO_SYS moves them back,
 * and a CPU touch of a device page brings it back through the owner's migrate_to_ram. Pinned or
 * file-backed pages stay where they are (migrate_vma_setup skips them).
 * Kernel: lib/test_hmm.c dmirror_migrate_to_device(), dmirror_migrate_to_system(),
 * dmirror_devmem_alloc_page(), dmirror_devmem_fault(); mm/migrate_device.c.
 */
import { delay, type Co } from '../../engine/actor.js';
import { ENOENT, IS_ERR } from '../../mm/errno.js';
import { down_read, mutex_lock, mutex_unlock, up_read } from '../../mm/locking.js';
import { MAPPING_ANON } from '../../mm/mem_map.js';
import type { DevPagemapOps } from '../../mm/memremap.js';
import { migrate_vma_finalize, migrate_vma_setup } from '../../mm/migrate_device.js';
import { is_device_private_entry, pte_pfn, type VmAreaStruct } from '../../mm/mm_types.js';
import { PAGE_SIZE, PG_devpriv, VM_FAULT_SIGBUS, VM_WRITE } from '../../mm/types.js';
import type { MirrorOpResult } from '../device.js';
import { dmirror_vmas, type Dmirror, type DmirrorDevice } from './dmirror.js';

/**
 * dmirror_devmem_alloc_page() - a device-private page (simulated VRAM) holding @content, owned by
 * the device. Return: its pfn, or -1 when memory is exhausted.
 * Kernel: lib/test_hmm.c dmirror_devmem_alloc_page().
 */
function dmirror_devmem_alloc_page(d: Dmirror, content: number): number {
  const dev = d.dev, k = dev.ctx.k;
  const pfn = k.alloc.alloc_page();
  if (pfn < 0) return -1;
  // The page remembers its mirror (rpage->zone_device_data), whichever process faults on it later.
  dev.page_mirror.set(pfn, d);
  k.mem.flags[pfn] = PG_devpriv;
  k.mem.mapping[pfn] = MAPPING_ANON;
  k.mem.content[pfn] = content;
  k.pgmaps.owner.set(pfn, dev.ctx.name);
  k.emit({ type: 'folio_alloc', time: k.now, actor: dev.ctx.name, pfn, gen: k.mem.genOf(pfn), owner: `devpriv:${dev.ctx.name}`, file: '', index: -1 });
  return pfn;
}

/**
 * dmirror_migrate_to_device() - the anonymous system pages of [@start, @end) move into device
 * memory and the table maps them; then the whole range is read back through the table, as dmirror
 * does: a page it lacks (left in system memory) makes the ioctl fail.
 * Context: may sleep; takes mmap_lock for read, then the mirror's mutex per VMA.
 * Return: 0 with cpages = the pages the device holds; EINVAL (a hole or unreadable VMA, a hugetlb
 * VMA); ENOENT.
 * Kernel: lib/test_hmm.c dmirror_migrate_to_device(), dmirror_migrate_finalize().
 */
export function* dmirror_migrate_to_device(d: Dmirror, start: number, end: number): Co<MirrorOpResult> {
  const dev = d.dev, k = dev.ctx.k;
  const res: MirrorOpResult = { result: 0, tokens: [], cpages: 0, faults: 0 };
  const mm = d.proc.mm;
  const vmas = dmirror_vmas(d, start, end);
  if (IS_ERR(vmas)) return { ...res, result: vmas };
  yield* down_read(mm.mmap_lock, 'gpu:migrate_mmap_read_lock');
  for (const vma of vmas) {
    const mv = yield* migrate_vma_setup(k, vma, Math.max(start, vma.vm_start), Math.min(end, vma.vm_end), 'system', dev.ctx.name);
    if (IS_ERR(mv)) {
      up_read(mm.mmap_lock);
      return { ...res, result: mv };
    }
    const dst = mv.pages.map((p) => dmirror_devmem_alloc_page(d, p.src < 0 || p.zero ? 0 : k.mem.contentOf(p.src)));
    migrate_vma_finalize(k, mv, dst, true);
    yield* mutex_lock(d.mutex, dev.ctx.name, 'gpu:migrate_mutex');
    mv.pages.forEach((p, i) => {
      const pfn = dst[i] ?? -1;
      if (pfn < 0) return;
      const vpn = p.addr / PAGE_SIZE;
      d.table.erase(vpn);
      d.table.insert(vpn, pfn, p.write || (vma.vm_flags & VM_WRITE) !== 0, k.bus.count);
    });
    mutex_unlock(d.mutex);
  }
  up_read(mm.mmap_lock);
  yield* delay(dev.p.dmaLatency, 'gpu:migrate_copy');
  // Read the range back through the device table, as dmirror does.
  for (let a = start; a < end; a += PAGE_SIZE) {
    const x = d.table.lookup(a / PAGE_SIZE);
    if (!x || !k.pgmaps.owner.has(x.pfn)) return { ...res, result: ENOENT };
    res.cpages++;
  }
  return res;
}

/**
 * dmirror_migrate_back() - (pinsim-only name) the device pages of [@start, @end) in @vma owned by
 * this device go back to fresh system pages, and the table forgets them.
 * Context: mmap_lock held for read; may sleep (the migration's notifier).
 * Return: the number of pages moved back.
 * Kernel: lib/test_hmm.c dmirror_devmem_fault_alloc_and_copy(), dmirror_migrate_to_system().
 */
export function* dmirror_migrate_back(d: Dmirror, vma: VmAreaStruct, start: number, end: number): Co<number> {
  const k = d.dev.ctx.k;
  const mv = yield* migrate_vma_setup(k, vma, start, end, 'device', d.dev.ctx.name);
  if (IS_ERR(mv)) return 0; // a hugetlb VMA holds no device page
  const dst = mv.pages.map((p) => {
    const pfn = k.alloc.alloc_page();
    if (pfn < 0) return -1;
    k.mem.mapping[pfn] = MAPPING_ANON;
    k.mem.content[pfn] = k.mem.contentOf(p.src);
    k.emit({ type: 'folio_alloc', time: k.now, actor: d.dev.ctx.name, pfn, gen: k.mem.genOf(pfn), owner: `anon:${vma.vm_mm.owner}`, file: '', index: -1 });
    return pfn;
  });
  for (const p of mv.pages) d.table.erase(p.addr / PAGE_SIZE);
  migrate_vma_finalize(k, mv, dst, false);
  return dst.filter((x) => x >= 0).length;
}

/**
 * dmirror_migrate_to_system() - every device page of [@start, @end) comes back to system memory.
 * Context: may sleep; takes mmap_lock for read.
 * Return: 0 with cpages = the pages moved back; EINVAL (a hole or unreadable VMA).
 * Kernel: lib/test_hmm.c dmirror_migrate_to_system().
 */
export function* dmirror_migrate_to_system(d: Dmirror, start: number, end: number): Co<MirrorOpResult> {
  const res: MirrorOpResult = { result: 0, tokens: [], cpages: 0, faults: 0 };
  const vmas = dmirror_vmas(d, start, end);
  if (IS_ERR(vmas)) return { ...res, result: vmas };
  yield* down_read(d.proc.mm.mmap_lock, 'gpu:migrate_mmap_read_lock');
  for (const vma of vmas) res.cpages += yield* dmirror_migrate_back(d, vma, Math.max(start, vma.vm_start), Math.min(end, vma.vm_end));
  up_read(d.proc.mm.mmap_lock);
  yield* delay(d.dev.p.dmaLatency, 'gpu:migrate_copy');
  return res;
}

/**
 * dmirror_devmem_ops() - the device's dev_pagemap_ops: a CPU touch of one of its pages moves that
 * page back to system memory, through the mirror that migrated it (the page's zone_device_data),
 * whichever process touches it: after fork the child faults through its parent's mirror.
 * Context: migrate_to_ram runs in the CPU fault, mmap_lock held for read; may sleep.
 * Return: the ops; their migrate_to_ram returns 0, or VM_FAULT_SIGBUS when the page is not this
 * device's.
 * Kernel: lib/test_hmm.c dmirror_devmem_ops, dmirror_devmem_fault().
 */
export function dmirror_devmem_ops(dev: DmirrorDevice): DevPagemapOps {
  return {
    *migrate_to_ram(vma, addr) {
      const pte = vma.vm_mm.pgtable.get(Math.floor(addr / PAGE_SIZE));
      const d = is_device_private_entry(pte) ? dev.page_mirror.get(pte_pfn(pte)) : undefined;
      if (!d) return VM_FAULT_SIGBUS;
      yield* dmirror_migrate_back(d, vma, addr, addr + PAGE_SIZE);
      return 0;
    },
  };
}
