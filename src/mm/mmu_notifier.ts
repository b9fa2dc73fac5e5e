/**
 * The MMU-notifier dispatcher: classic whole-mm subscribers (`struct mmu_notifier` with
 * invalidate_range_start/end and release), called at the points of each path that
 * docs/kernel-model.md lists. Interval notifiers (5.5) plug into the same start/end.
 * Kernel: mm/mmu_notifier.c, include/linux/mmu_notifier.h.
 * Simplified: no SRCU; subscribers are called in registration order.
 */
import type { Co } from '../engine/actor.js';
import type { Errno } from './errno.js';
import type { Kernel } from './kernel.js';
import type { MmStruct } from './mm_types.js';
import { WARN_ON_ONCE } from './mmdebug.js';
import { call_guarded, mn_itree_inv_end, mn_itree_invalidate } from './mmu_interval_notifier.js';
import {
  MMU_NOTIFIER_RANGE_BLOCKABLE, MmuNotifierSubscriptions, type MmuNotifier, type MmuNotifierEvent, type MmuNotifierRange,
} from './mmu_notifier_types.js';

export * from './mmu_notifier_types.js';

/** mmu_notifier_range_init() - Kernel: include/linux/mmu_notifier.h. */
export function mmu_notifier_range_init(
  k: Kernel, mm: MmStruct, event: MmuNotifierEvent, start: number, end: number, blockable = true,
): MmuNotifierRange {
  return { id: k.nextRangeId++, mm, start, end, event, flags: blockable ? MMU_NOTIFIER_RANGE_BLOCKABLE : 0, owner: null };
}

/**
 * mmu_notifier_invalidate_range_start() - tell every subscriber of @range.mm that its PTEs in
 * [start, end) are about to change. Every page in the range is still mapped here.
 * Context: may sleep (blockable range). Pairs with mmu_notifier_invalidate_range_end().
 * Return: 0. A blockable subscriber that fails is WARNed about and ignored: the kernel proceeds
 * (a blockable invalidate_range_start must not fail: mm_has_blockable_invalidate_notifiers).
 * Kernel: mm/mmu_notifier.c __mmu_notifier_invalidate_range_start(), mn_hlist_invalidate_range_start().
 */
export function* mmu_notifier_invalidate_range_start(k: Kernel, range: MmuNotifierRange): Co<0 | Errno> {
  const blockable = (range.flags & MMU_NOTIFIER_RANGE_BLOCKABLE) !== 0;
  k.emit({
    type: 'notifier_start', time: k.now, actor: k.actorName(), id: range.id, mm: range.mm.owner,
    start: range.start, end: range.end, event: range.event, blockable,
  });
  const subs = range.mm.notifier_subscriptions;
  if (!subs) return 0;
  if (subs.itree.length || subs.active_invalidate_ranges || subs.deferred.length) {
    const ret = yield* mn_itree_invalidate(k, range);
    if (ret) {
      // A refused non-blockable range: closed already; the caller skips it and must not call _end.
      k.emit({ type: 'notifier_abort', time: k.now, actor: k.actorName(), id: range.id, mm: range.mm.owner });
      return ret;
    }
    range.itree_open = true;
  }
  for (const sub of [...subs.list]) {
    if (!sub.ops.invalidate_range_start) continue;
    const ret = yield* call_guarded(k, sub.ops.invalidate_range_start(sub, range), blockable, sub.holder, range.id);
    k.emit({
      type: 'notifier_sub_done', time: k.now, actor: k.actorName(), id: range.id, holder: sub.holder, mm: range.mm.owner,
      start: range.start, end: range.end, ok: ret === 0, blockable, event: range.event, owner: typeof range.owner === 'string' ? range.owner : '',
    });
    if (ret && blockable) {
      WARN_ON_ONCE(k, true, 'mm/mmu_notifier.c:mn_hlist_invalidate_range_start', -1, `${sub.holder} failed a blockable ${range.event}: ${ret}`);
    }
  }
  return 0;
}

/**
 * mmu_notifier_invalidate_range_start_nonblock() - the OOM reaper's variant: subscribers may not
 * sleep and may refuse (EAGAIN), in which case the caller skips the range and calls no _end.
 */
export function* mmu_notifier_invalidate_range_start_nonblock(k: Kernel, range: MmuNotifierRange): Co<0 | Errno> {
  range.flags &= ~MMU_NOTIFIER_RANGE_BLOCKABLE;
  return yield* mmu_notifier_invalidate_range_start(k, range);
}

/**
 * mmu_notifier_invalidate_range_end() - the PTEs of @range have changed; pages may already be
 * freed (mmu_gather may have flushed). Pairs with mmu_notifier_invalidate_range_start().
 * Kernel: mm/mmu_notifier.c __mmu_notifier_invalidate_range_end().
 */
export function* mmu_notifier_invalidate_range_end(k: Kernel, range: MmuNotifierRange): Co {
  const subs = range.mm.notifier_subscriptions;
  if (subs && range.itree_open) {
    range.itree_open = false;
    mn_itree_inv_end(k, range.mm);
  }
  if (subs) {
    for (const sub of [...subs.list]) {
      if (sub.ops.invalidate_range_end) yield* sub.ops.invalidate_range_end(sub, range);
    }
  }
  k.emit({ type: 'notifier_end', time: k.now, actor: k.actorName(), id: range.id, mm: range.mm.owner });
}

/** mmu_notifier_register() - subscribe @sub to @mm. Kernel: mm/mmu_notifier.c. */
export function mmu_notifier_register(sub: MmuNotifier, mm: MmStruct): 0 | Errno {
  if (mm.dead) return 'EINVAL';
  if (!mm.notifier_subscriptions) mm.notifier_subscriptions = new MmuNotifierSubscriptions();
  mm.notifier_subscriptions.list.push(sub);
  return 0;
}
