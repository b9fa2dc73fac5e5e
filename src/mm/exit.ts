/**
 * Process exit: exit_mm() → exit_mmap(): MMU-notifier release first (before any page of the mm is
 * freed), then every VMA unmapped (MMU_NOTIFY_UNMAP). Files (and with them uverbs MRs) are closed
 * after the mm, by the caller (exit_files() runs after exit_mm()).
 * Kernel: kernel/exit.c do_exit(); mm/mmap.c exit_mmap(); mm/mmu_notifier.c __mmu_notifier_release().
 */
import type { Co } from '../engine/actor.js';
import type { Kernel } from './kernel.js';
import { down_write, up_write } from './locking.js';
import { TASK_SIZE, unmap_locked } from './mmap.js';
import type { MmStruct } from './mm_types.js';
import { mn_itree_release } from './mmu_interval_notifier.js';
import { mmu_notifier_range_init, MMU_NOTIFY_RELEASE } from './mmu_notifier.js';

/** exit_mmap() - release notifier subscribers, then unmap everything. Context: may sleep. */
export function* exit_mmap(k: Kernel, mm: MmStruct): Co {
  if (mm.dead) return;
  const subs = mm.notifier_subscriptions;
  if (subs) {
    // __mmu_notifier_release(): interval subscribers first, then classic ->release.
    const range = mmu_notifier_range_init(k, mm, MMU_NOTIFY_RELEASE, 0, TASK_SIZE);
    yield* mn_itree_release(k, mm, range);
    for (const sub of [...subs.list]) {
      if (sub.ops.release) yield* sub.ops.release(sub, mm);
      k.emit({
        type: 'notifier_sub_done', time: k.now, actor: k.actorName(), id: range.id, holder: sub.holder, mm: mm.owner,
        start: 0, end: TASK_SIZE, ok: true, blockable: true, event: MMU_NOTIFY_RELEASE, owner: '',
      });
    }
    subs.list.length = 0;
  }
  yield* down_write(mm.mmap_lock, k.actorName(), 'exit:mmap_write_lock');
  yield* unmap_locked(k, mm, 0, TASK_SIZE);
  mm.dead = true;
  up_write(mm.mmap_lock);
}
