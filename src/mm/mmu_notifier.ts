/**
 * The MMU-notifier dispatcher: classic whole-mm subscribers (`struct mmu_notifier` with
 * invalidate_range_start/end and release), called at the points of each path that
 * kernel-semantics §4 lists. Interval notifiers (5.5) plug into the same start/end.
 * Kernel: mm/mmu_notifier.c, include/linux/mmu_notifier.h.
 * Simplified: no SRCU; subscribers are called in registration order.
 */
import type { Co } from '../engine/actor.js';
import type { Errno } from './errno.js';
import type { Kernel } from './kernel.js';
import type { MmStruct } from './mm_types.js';
import { WARN_ON_ONCE } from './mmdebug.js';

export const MMU_NOTIFY_UNMAP = 'MMU_NOTIFY_UNMAP';
export const MMU_NOTIFY_CLEAR = 'MMU_NOTIFY_CLEAR';
export const MMU_NOTIFY_PROTECTION_VMA = 'MMU_NOTIFY_PROTECTION_VMA';
export const MMU_NOTIFY_PROTECTION_PAGE = 'MMU_NOTIFY_PROTECTION_PAGE';
export const MMU_NOTIFY_SOFT_DIRTY = 'MMU_NOTIFY_SOFT_DIRTY';
export const MMU_NOTIFY_RELEASE = 'MMU_NOTIFY_RELEASE';
export const MMU_NOTIFY_MIGRATE = 'MMU_NOTIFY_MIGRATE';
export const MMU_NOTIFY_EXCLUSIVE = 'MMU_NOTIFY_EXCLUSIVE';
export type MmuNotifierEvent =
  | typeof MMU_NOTIFY_UNMAP | typeof MMU_NOTIFY_CLEAR | typeof MMU_NOTIFY_PROTECTION_VMA
  | typeof MMU_NOTIFY_PROTECTION_PAGE | typeof MMU_NOTIFY_SOFT_DIRTY | typeof MMU_NOTIFY_RELEASE
  | typeof MMU_NOTIFY_MIGRATE | typeof MMU_NOTIFY_EXCLUSIVE;

export const MMU_NOTIFIER_RANGE_BLOCKABLE = 1;

export interface MmuNotifierRange {
  /** pinsim-only: pairs the start and end trace events. */
  id: number;
  mm: MmStruct;
  start: number;
  /** exclusive */
  end: number;
  event: MmuNotifierEvent;
  flags: number;
  owner: unknown;
}

/** struct mmu_notifier_ops (classic). Callbacks are optional, as in the kernel. */
export interface MmuNotifierOps {
  release?(sub: MmuNotifier, mm: MmStruct): Co;
  /** Return: 0, or -EAGAIN-style errno (only legal in a non-blockable range). */
  invalidate_range_start?(sub: MmuNotifier, range: MmuNotifierRange): Co<0 | Errno>;
  invalidate_range_end?(sub: MmuNotifier, range: MmuNotifierRange): Co;
}

export interface MmuNotifier {
  readonly ops: MmuNotifierOps;
  /** The device or driver that subscribed (for traces). */
  readonly holder: string;
}

export class MmuNotifierSubscriptions {
  readonly list: MmuNotifier[] = [];
}

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
 * (kernel-semantics §3.4.4: notifiers must never fail).
 * Kernel: mm/mmu_notifier.c __mmu_notifier_invalidate_range_start(), mn_hlist_invalidate_range_start().
 */
export function* mmu_notifier_invalidate_range_start(k: Kernel, range: MmuNotifierRange): Co<0 | Errno> {
  k.emit({
    type: 'notifier_start', time: k.now, actor: k.actorName(), id: range.id, mm: range.mm.owner,
    start: range.start, end: range.end, event: range.event, blockable: (range.flags & MMU_NOTIFIER_RANGE_BLOCKABLE) !== 0,
  });
  const subs = range.mm.notifier_subscriptions;
  if (!subs) return 0;
  for (const sub of [...subs.list]) {
    if (!sub.ops.invalidate_range_start) continue;
    const ret = yield* sub.ops.invalidate_range_start(sub, range);
    if (ret && range.flags & MMU_NOTIFIER_RANGE_BLOCKABLE) {
      WARN_ON_ONCE(k, true, 'mm/mmu_notifier.c:mn_hlist_invalidate_range_start', -1, `${sub.holder} failed a blockable ${range.event}: ${ret}`);
    }
  }
  return 0;
}

/**
 * mmu_notifier_invalidate_range_end() - the PTEs of @range have changed; pages may already be
 * freed (mmu_gather may have flushed). Pairs with mmu_notifier_invalidate_range_start().
 * Kernel: mm/mmu_notifier.c __mmu_notifier_invalidate_range_end().
 */
export function* mmu_notifier_invalidate_range_end(k: Kernel, range: MmuNotifierRange): Co {
  const subs = range.mm.notifier_subscriptions;
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
