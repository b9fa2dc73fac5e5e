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
 * In a non-blockable range a refusal makes the start fail with EAGAIN: the caller skips the range
 * and calls no _end. Interval subscribers refusing close their part themselves; for classic ones,
 * before 5.13 the subscribers whose start succeeded are left without an end, and from 5.13 every
 * classic subscriber with an invalidate_range_end gets it now (a refusing one that has an end is
 * a WARN: it cannot tell its start failed). A refusal by a classic subscriber after the interval
 * ones were called leaves the interval part open, as mm/mmu_notifier.c does.
 * Kernel: mm/mmu_notifier.c __mmu_notifier_invalidate_range_start(), mn_hlist_invalidate_range_start()
 * (5.13: "mm/mmu_notifiers: ensure range_end() is paired with range_start()").
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
  const ret = yield* mn_hlist_invalidate_range_start(k, subs, range, blockable);
  if (ret) k.emit({ type: 'notifier_abort', time: k.now, actor: k.actorName(), id: range.id, mm: range.mm.owner });
  return ret;
}

/**
 * mn_hlist_invalidate_range_start() - the classic subscribers' part of invalidate_range_start.
 * Context: may sleep when @blockable. Return: 0, or the errno of a refused non-blockable start.
 * Kernel: mm/mmu_notifier.c mn_hlist_invalidate_range_start().
 */
function* mn_hlist_invalidate_range_start(k: Kernel, subs: MmuNotifierSubscriptions, range: MmuNotifierRange, blockable: boolean): Co<0 | Errno> {
  let failed: 0 | Errno = 0;
  for (const sub of [...subs.list]) {
    if (!sub.ops.invalidate_range_start) continue;
    const ret = yield* call_guarded(k, sub.ops.invalidate_range_start(sub, range), blockable, sub.holder, range.id);
    k.emit({
      type: 'notifier_sub_done', time: k.now, actor: k.actorName(), id: range.id, holder: sub.holder, mm: range.mm.owner,
      start: range.start, end: range.end, ok: ret === 0, blockable, event: range.event, owner: typeof range.owner === 'string' ? range.owner : '',
      classic: true,
    });
    if (!ret) continue;
    if (blockable) {
      WARN_ON_ONCE(k, true, 'mm/mmu_notifier.c:mn_hlist_invalidate_range_start', -1, `${sub.holder} failed a blockable ${range.event}: ${ret}`);
      continue;
    }
    failed = ret;
    // A start that may fail must not have an end: nothing would tell it its start failed.
    if (k.features.mn_nonblock_fail_ends && sub.ops.invalidate_range_end) {
      WARN_ON_ONCE(k, true, 'mm/mmu_notifier.c:mn_hlist_invalidate_range_start', -1, `${sub.holder} refused a non-blockable start and has invalidate_range_end`);
    }
  }
  if (failed && k.features.mn_nonblock_fail_ends) {
    // Those whose start succeeded expect their end: every subscriber with one gets it now.
    for (const sub of [...subs.list]) yield* mn_hlist_invalidate_range_end_one(k, sub, range);
  }
  return failed;
}

/** Call @sub's invalidate_range_end for @range, if it has one, and trace it. */
function* mn_hlist_invalidate_range_end_one(k: Kernel, sub: MmuNotifier, range: MmuNotifierRange): Co {
  if (!sub.ops.invalidate_range_end) return;
  yield* sub.ops.invalidate_range_end(sub, range);
  k.emit({ type: 'notifier_sub_end', time: k.now, actor: k.actorName(), id: range.id, holder: sub.holder, mm: range.mm.owner });
}

/**
 * mmu_notifier_invalidate_range_start_nonblock() - the OOM reaper's variant: subscribers may not
 * sleep and may refuse (EAGAIN), in which case the caller skips the range and calls no _end.
 * Kernel: include/linux/mmu_notifier.h mmu_notifier_invalidate_range_start_nonblock().
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
    for (const sub of [...subs.list]) yield* mn_hlist_invalidate_range_end_one(k, sub, range);
  }
  k.emit({ type: 'notifier_end', time: k.now, actor: k.actorName(), id: range.id, mm: range.mm.owner });
}

/**
 * mmu_notifier_range_blockable() - may a callback of @range sleep?
 * Return: true unless the range is the OOM reaper's non-blockable one.
 * Kernel: include/linux/mmu_notifier.h mmu_notifier_range_blockable().
 */
export function mmu_notifier_range_blockable(range: MmuNotifierRange): boolean {
  return (range.flags & MMU_NOTIFIER_RANGE_BLOCKABLE) !== 0;
}

/** mmu_notifier_register() - subscribe @sub to @mm. Kernel: mm/mmu_notifier.c. */
export function mmu_notifier_register(sub: MmuNotifier, mm: MmStruct): 0 | Errno {
  if (mm.dead) return 'EINVAL';
  if (!mm.notifier_subscriptions) mm.notifier_subscriptions = new MmuNotifierSubscriptions();
  mm.notifier_subscriptions.list.push(sub);
  return 0;
}
