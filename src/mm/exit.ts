/**
 * Process exit: exit_mm() → exit_mmap(): MMU-notifier release first (before any page of the mm is
 * freed), then every VMA unmapped (MMU_NOTIFY_UNMAP). Files (and with them uverbs MRs) are closed
 * after the mm, by the caller (kernel-semantics §4.1, exit row).
 * Kernel: kernel/exit.c do_exit(); mm/mmap.c exit_mmap(); mm/mmu_notifier.c __mmu_notifier_release().
 */
import type { Co } from '../engine/actor.js';
import type { Kernel } from './kernel.js';
import { down_write, up_write } from './locking.js';
import { TASK_SIZE, unmap_locked } from './mmap.js';
import type { MmStruct } from './mm_types.js';

/** exit_mmap() - release notifier subscribers, then unmap everything. Context: may sleep. */
export function* exit_mmap(k: Kernel, mm: MmStruct): Co {
  if (mm.dead) return;
  const subs = mm.notifier_subscriptions;
  if (subs) {
    for (const sub of [...subs.list]) if (sub.ops.release) yield* sub.ops.release(sub, mm);
    subs.list.length = 0;
  }
  yield* down_write(mm.mmap_lock, k.actorName(), 'exit:mmap_write_lock');
  yield* unmap_locked(k, mm, 0, TASK_SIZE);
  mm.dead = true;
  up_write(mm.mmap_lock);
}
