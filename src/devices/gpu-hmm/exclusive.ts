/**
 * dmirror's exclusive access: EXCLUSIVE faults each page of a range in writable, replaces its CPU
 * PTE with a device-exclusive entry (the MMU_NOTIFY_EXCLUSIVE range names this device as owner,
 * which its own invalidate ignores) and maps it ATOMIC in the device table. Any CPU touch revokes
 * that (the invalidation erases the entry), so CHECK_EXCLUSIVE then finds no ATOMIC page.
 * Kernel: lib/test_hmm.c dmirror_exclusive(), dmirror_check_atomic(); mm/rmap.c
 * make_device_exclusive().
 */
import type { Co } from '../../engine/actor.js';
import { EFAULT, EPERM, IS_ERR } from '../../mm/errno.js';
import { down_read, mutex_lock, mutex_unlock, up_read } from '../../mm/locking.js';
import { handle_mm_fault, vpn } from '../../mm/memory.js';
import { find_vma, pte_present, pte_write } from '../../mm/mm_types.js';
import { make_device_exclusive } from '../../mm/rmap.js';
import { FAULT_FLAG_WRITE, PAGE_SIZE } from '../../mm/types.js';
import type { MirrorOpResult } from '../device.js';
import { dmirror_vmas, type Dmirror } from './dmirror.js';

/**
 * dmirror_exclusive() - make each page of [@start, @end) device-exclusive and map it ATOMIC; the
 * data is read back into tokens.
 * Context: may sleep; takes mmap_lock for read, the mirror's mutex per page.
 * Return: 0 with cpages = pages made exclusive; EINVAL (a hole or unreadable VMA); EFAULT (a page
 * would not fault in writable); make_device_exclusive()'s errno.
 * Kernel: lib/test_hmm.c dmirror_exclusive(), dmirror_atomic_map().
 */
export function* dmirror_exclusive(d: Dmirror, start: number, end: number): Co<MirrorOpResult> {
  const ctx = d.dev.ctx, k = ctx.k;
  const res: MirrorOpResult = { result: 0, tokens: [], cpages: 0, faults: 0 };
  const mm = d.proc.mm;
  const vmas = dmirror_vmas(d, start, end);
  if (IS_ERR(vmas)) return { ...res, result: vmas };
  yield* down_read(mm.mmap_lock, 'gpu:exclusive_mmap_read_lock');
  for (let a = start; a < end; a += PAGE_SIZE) {
    const vma = find_vma(mm, a)!;
    const pte = mm.pgtable.get(vpn(a));
    if (!pte_present(pte) || !pte_write(pte)) {
      const f = yield* handle_mm_fault(k, vma, a, FAULT_FLAG_WRITE);
      if (f) { up_read(mm.mmap_lock); return { ...res, result: EFAULT }; }
    }
    const pfn = yield* make_device_exclusive(k, vma, a, ctx.name);
    if (IS_ERR(pfn)) { up_read(mm.mmap_lock); return { ...res, result: pfn }; }
    yield* mutex_lock(d.mutex, ctx.name, 'gpu:exclusive_mutex');
    d.table.erase(a / PAGE_SIZE);
    d.table.insert(a / PAGE_SIZE, pfn, true, k.bus.count, undefined, true);
    mutex_unlock(d.mutex);
    res.tokens.push(k.mem.contentOf(pfn));
    res.cpages++;
  }
  up_read(mm.mmap_lock);
  return res;
}

/**
 * dmirror_check_atomic() - is no page of [@start, @end) mapped ATOMIC any more?
 * Context: any. Return: 0, or EPERM while some page still is.
 * Kernel: lib/test_hmm.c dmirror_check_atomic().
 */
export function dmirror_check_atomic(d: Dmirror, start: number, end: number): MirrorOpResult {
  for (let a = start; a < end; a += PAGE_SIZE) {
    if (d.table.lookup(a / PAGE_SIZE)?.atomic) return { result: EPERM, tokens: [], cpages: 0, faults: 0 };
  }
  return { result: 0, tokens: [], cpages: 0, faults: 0 };
}
