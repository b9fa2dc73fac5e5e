/**
 * The OOM reaper: after the OOM killer has sent SIGKILL to a victim, the oom_reaper kthread unmaps
 * the victim's anonymous and private memory without waiting for it to exit, so the memory comes
 * back even if the victim is stuck. It must not block, so each VMA is invalidated with
 * mmu_notifier_invalidate_range_start_nonblock(): a subscriber that would sleep refuses (mlx5 ODP
 * always does, dmirror when its mutex is taken), and the reaper skips that VMA — no _end for it —
 * leaving it to exit_mmap(). A callback that sleeps anyway is the non_block_start() splat
 * (`nonblock-slept`).
 * Kernel: mm/oom_kill.c oom_reap_task(), oom_reap_task_mm(), __oom_reap_task_mm().
 * Simplified: the reaper runs at once (from 5.18 the kernel first gives the victim OOM_REAPER_DELAY,
 * 2 s, to exit by itself: the reaper matters for a victim that cannot); VM_LOCKED VMAs are reaped.
 */
import { delay, type Co } from '../engine/actor.js';
import type { Kernel } from './kernel.js';
import { down_read_trylock, up_read } from './locking.js';
import { tlb_finish_mmu, tlb_gather_mmu, unmap_page_range } from './memory.js';
import type { MmStruct } from './mm_types.js';
import {
  mmu_notifier_invalidate_range_end, mmu_notifier_invalidate_range_start_nonblock, mmu_notifier_range_init, MMU_NOTIFY_UNMAP,
} from './mmu_notifier.js';
import { VM_HUGETLB, VM_PFNMAP, VM_SHARED } from './types.js';

/** MAX_OOM_REAP_RETRIES: how many times the reaper tries mmap_lock before giving up. */
export const MAX_OOM_REAP_RETRIES = 10;
/** The reaper's sleep between two tries (HZ/10). */
export const OOM_REAP_RETRY_NS = 100_000_000;

/**
 * __oom_reap_task_mm() - unmap every private or anonymous VMA of @mm (not hugetlb, not VM_PFNMAP)
 * under a non-blockable invalidation; a VMA whose invalidation a subscriber refuses is skipped.
 * Context: mmap_lock held for read; each invalidation must not sleep.
 * Return: true when every VMA was reaped, false when some were skipped.
 * Kernel: mm/oom_kill.c __oom_reap_task_mm() (MMU_NOTIFY_UNMAP).
 */
export function* __oom_reap_task_mm(k: Kernel, mm: MmStruct): Co<boolean> {
  let ret = true;
  for (const vma of [...mm.vmas]) {
    // hugetlb VMAs are left to exit_mmap(): the reaper unmaps base pages only.
    if (vma.vm_flags & (VM_HUGETLB | VM_PFNMAP)) continue;
    // Only anonymous memory and private COW pages: shared file (and shmem) pages are left alone.
    if (vma.vm_flags & VM_SHARED) continue;
    const range = mmu_notifier_range_init(k, mm, MMU_NOTIFY_UNMAP, vma.vm_start, vma.vm_end, false);
    if (yield* mmu_notifier_invalidate_range_start_nonblock(k, range)) {
      ret = false;
      continue;
    }
    // unmap_page_range(): the PTEs are cleared under the page-table lock, no sleep.
    const gather = tlb_gather_mmu();
    const n = yield* unmap_page_range(k, mm, vma.vm_start, vma.vm_end, gather);
    yield* delay(n * k.timing.zapPerPage, 'oom_reaper:ptes_cleared');
    yield* mmu_notifier_invalidate_range_end(k, range);
    tlb_finish_mmu(k, gather);
  }
  return ret;
}

/**
 * oom_reap_task() - reap @mm: take mmap_lock for read without sleeping, retrying HZ/10 later up to
 * MAX_OOM_REAP_RETRIES times while a victim thread holds it for write.
 * Context: the oom_reaper kthread; sleeps between tries.
 * Return: true when reaped (fully or in part), false when mmap_lock was never free.
 * Kernel: mm/oom_kill.c oom_reap_task(), oom_reap_task_mm() (mmap_read_trylock).
 */
export function* oom_reap_task(k: Kernel, mm: MmStruct): Co<boolean> {
  for (let attempt = 0; attempt < MAX_OOM_REAP_RETRIES; attempt++) {
    if (mm.dead) return true; // exit_mmap() got there first (MMF_OOM_SKIP)
    if (down_read_trylock(mm.mmap_lock)) {
      yield* __oom_reap_task_mm(k, mm);
      up_read(mm.mmap_lock);
      return true;
    }
    // A victim thread holds mmap_lock for write: try again later.
    yield* delay(OOM_REAP_RETRY_NS, 'oom_reaper:retry');
  }
  return false;
}
