/**
 * mmu_interval_notifier (5.5): a subscription to a VA interval of one mm, with a single
 * `invalidate` op and the collision-retry protocol of mm/mmu_notifier.c:
 *
 *   per mm: invalidate_seq (even = idle, odd = a writer intersects some interval),
 *           active_invalidate_ranges, deferred inserts/removes, a wait queue;
 *   per interval: invalidate_seq (always odd).
 *
 *   fault path (driver)                          invalidation (mm)
 *   seq = mmu_interval_read_begin(sub)
 *   hmm_range_fault() snapshot                   inv_start: active++, seq |= 1
 *                                                sub->invalidate(range, cur_seq):
 *                                                  lock(L); mmu_interval_set_seq(sub, cur_seq)
 *                                                  zap device entries; unlock(L)
 *   lock(L)
 *   if (mmu_interval_read_retry(sub, seq))       inv_end: active--, seq++ (even),
 *     unlock(L), goto again                      deferred applied, waiters woken
 *   install translations; unlock(L)
 *
 * Kernel: mm/mmu_notifier.c mn_itree_inv_start_range(), mn_itree_invalidate(), mn_itree_inv_end(),
 * mn_itree_release(), __mmu_interval_notifier_insert(), mmu_interval_notifier_remove(),
 * mmu_interval_read_begin(). Simplified: the interval tree is a sorted array.
 */
import type { Co, Yield } from '../engine/actor.js';
import { wait_event, wake_up_all } from '../engine/waitqueue.js';
import { EAGAIN, EINVAL, type Errno } from './errno.js';
import type { Kernel } from './kernel.js';
import type { MmStruct } from './mm_types.js';
import { WARN_ON_ONCE } from './mmdebug.js';
import { withBook } from './trace_events.js';
import {
  MMU_NOTIFIER_RANGE_BLOCKABLE, MMU_NOTIFY_RELEASE, MmuNotifierSubscriptions, type MmuNotifierRange,
} from './mmu_notifier_types.js';

/** struct mmu_interval_notifier_ops */
export interface MmuIntervalNotifierOps {
  /** Return: true when done; false only in a non-blockable range (the caller then skips it). */
  invalidate(interval_sub: MmuIntervalNotifier, range: MmuNotifierRange, cur_seq: number): Co<boolean>;
}

export class MmuIntervalNotifier {
  readonly start: number;
  /** inclusive */
  readonly last: number;
  readonly ops: MmuIntervalNotifierOps;
  readonly mm: MmStruct;
  readonly holder: string;
  invalidate_seq = 0;
  /** (pinsim-only) The subscription's id in traces, given at insert; 0 before. */
  id = 0;
  /** In the tree (not merely on the deferred list). */
  inserted = false;
  removed = false;

  constructor(mm: MmStruct, start: number, length: number, ops: MmuIntervalNotifierOps, holder: string) {
    this.mm = mm;
    this.start = start;
    this.last = start + length - 1;
    this.ops = ops;
    this.holder = holder;
  }
}

function subscriptions(mm: MmStruct): MmuNotifierSubscriptions {
  if (!mm.notifier_subscriptions) mm.notifier_subscriptions = new MmuNotifierSubscriptions();
  return mm.notifier_subscriptions;
}

function itree_insert(subs: MmuNotifierSubscriptions, sub: MmuIntervalNotifier): void {
  const i = subs.itree.findIndex((s) => s.start > sub.start);
  if (i < 0) subs.itree.push(sub);
  else subs.itree.splice(i, 0, sub);
  sub.inserted = true;
}

function itree_remove(subs: MmuNotifierSubscriptions, sub: MmuIntervalNotifier): void {
  const i = subs.itree.indexOf(sub);
  if (i >= 0) subs.itree.splice(i, 1);
  sub.inserted = false;
}

/**
 * mn_itree_is_invalidating() - is some writer intersecting an interval right now?
 * Context: any. Return: true while the mm's seq is odd.
 * Kernel: mm/mmu_notifier.c mn_itree_is_invalidating().
 */
export function mn_itree_is_invalidating(subs: MmuNotifierSubscriptions): boolean {
  return (subs.invalidate_seq & 1) === 1;
}

/**
 * mmu_interval_notifier_insert() - subscribe @sub to its interval of @sub.mm. While an
 * invalidation is active the new interval is born "invalidating" (its seq equals the mm's), so a
 * reader waits; if a writer intersects an interval right now, the insert is deferred to the final
 * inv_end. Pairs with mmu_interval_notifier_remove().
 * Context: process context, no sleep (the kernel's takes mmap_lock via mmget; pinsim needs none).
 * Return: 0, or EINVAL when the mm is gone.
 * Kernel: mm/mmu_notifier.c mmu_interval_notifier_insert(), __mmu_interval_notifier_insert().
 */
export function mmu_interval_notifier_insert(k: Kernel, sub: MmuIntervalNotifier): 0 | Errno {
  if (sub.mm.dead) return EINVAL;
  if (!sub.id) sub.id = k.nextSubscriptionId++;
  const subs = subscriptions(sub.mm);
  if (subs.active_invalidate_ranges) {
    if (mn_itree_is_invalidating(subs)) subs.deferred.push({ op: 'insert', sub });
    else {
      subs.invalidate_seq |= 1;
      itree_insert(subs, sub);
    }
    sub.invalidate_seq = subs.invalidate_seq;
  } else {
    sub.invalidate_seq = subs.invalidate_seq - 1;
    itree_insert(subs, sub);
  }
  k.emit({ type: 'interval_insert', time: k.now, actor: k.actorName(), holder: sub.holder, mm: sub.mm.owner, start: sub.start, end: sub.last + 1 });
  return 0;
}

/**
 * mmu_interval_notifier_remove() - unsubscribe @sub. Pairs with mmu_interval_notifier_insert().
 * Context: may sleep until an invalidation in progress has finished; must not be called from an
 * invalidate callback. Return: nothing (removal cannot fail).
 * Kernel: mm/mmu_notifier.c mmu_interval_notifier_remove().
 */
export function* mmu_interval_notifier_remove(k: Kernel, sub: MmuIntervalNotifier): Co {
  const subs = subscriptions(sub.mm);
  let seq = -1;
  if (mn_itree_is_invalidating(subs)) {
    if (!sub.inserted) subs.deferred = subs.deferred.filter((d) => d.sub !== sub);
    else {
      subs.deferred.push({ op: 'remove', sub });
      seq = subs.invalidate_seq;
    }
  } else itree_remove(subs, sub);
  sub.removed = true;
  k.emit({ type: 'interval_remove', time: k.now, actor: k.actorName(), holder: sub.holder, mm: sub.mm.owner, start: sub.start, end: sub.last + 1 });
  if (seq >= 0) yield* wait_event(subs.wq, () => subs.invalidate_seq !== seq, 'mmu_interval_notifier_remove:wait');
}

/**
 * mmu_interval_read_begin() - begin a read-side critical section against @sub's interval.
 * Context: may sleep (no locks held) while a writer intersecting the interval is active.
 * Return: the seq to pass to mmu_interval_read_retry(). Pairs with mmu_interval_read_retry().
 * Kernel: mm/mmu_notifier.c mmu_interval_read_begin().
 */
export function* mmu_interval_read_begin(k: Kernel, sub: MmuIntervalNotifier): Co<number> {
  const subs = subscriptions(sub.mm);
  const seq = sub.invalidate_seq;
  if (seq === subs.invalidate_seq) {
    k.emit({ type: 'read_begin_wait', time: k.now, actor: k.actorName(), holder: sub.holder, mm: sub.mm.owner, seq });
    yield* wait_event(subs.wq, () => subs.invalidate_seq !== seq, 'mmu_interval_read_begin:wait');
  }
  return seq;
}

/**
 * mmu_interval_read_retry() - did an invalidation hit @sub since read_begin returned @seq?
 * Context: meaningful only under the driver lock the invalidate callback takes.
 * Return: true when the caller must drop its lock and start again from read_begin.
 * Kernel: include/linux/mmu_notifier.h mmu_interval_read_retry().
 */
export function mmu_interval_read_retry(sub: MmuIntervalNotifier, seq: number): boolean {
  return sub.invalidate_seq !== seq;
}

/**
 * mmu_interval_check_retry() - the lockless hint of read_retry, for long walks to give up early.
 * Context: any; a false answer proves nothing without the driver lock.
 * Return: true when an invalidation has hit @sub since @seq.
 * Kernel: include/linux/mmu_notifier.h mmu_interval_check_retry().
 */
export function mmu_interval_check_retry(sub: MmuIntervalNotifier, seq: number): boolean {
  return sub.invalidate_seq !== seq;
}

/**
 * mmu_interval_set_seq() - record that an invalidation (@cur_seq) hit @sub.
 * Context: under the driver lock, inside invalidate(). Pairs with mmu_interval_read_retry().
 * Return: nothing. Kernel: include/linux/mmu_notifier.h mmu_interval_set_seq().
 */
export function mmu_interval_set_seq(sub: MmuIntervalNotifier, cur_seq: number): void {
  sub.invalidate_seq = cur_seq;
}

/**
 * call_guarded() - run a subscriber's callback; in a non-blockable range any sleep in it is the
 * non_block_start() splat the kernel would print (traced as `nonblock_slept`), and it sleeps anyway.
 * Context: the invalidation's caller. Return: the callback's own result.
 * Kernel: include/linux/sched.h non_block_start()/non_block_end() around the callbacks.
 */
export function* call_guarded<T>(k: Kernel, gen: Co<T>, blockable: boolean, holder: string, id: number): Co<T> {
  let r = gen.next(true);
  while (!r.done) {
    const y: Yield = r.value;
    if (!blockable && (y.kind === 'wait' || y.kind === 'delay')) {
      k.emit({ type: 'nonblock_slept', time: k.now, actor: k.actorName(), holder, id, site: y.site });
    }
    r = gen.next(yield y);
  }
  return r.value;
}

/**
 * mn_itree_invalidate() - the interval part of invalidate_range_start: open an invalidation, make
 * the mm's seq odd if an interval intersects, and call each intersecting subscriber.
 * Context: may sleep when the range is blockable (the subscribers' callbacks).
 * Return: 0, or EAGAIN when a subscriber refused a non-blockable range (the invalidation has then
 * been closed here; the caller must not call _end).
 * Kernel: mm/mmu_notifier.c mn_itree_invalidate(), mn_itree_inv_start_range().
 */
export function* mn_itree_invalidate(k: Kernel, range: MmuNotifierRange): Co<0 | Errno> {
  const subs = subscriptions(range.mm);
  subs.active_invalidate_ranges++;
  const hits = subs.itree.filter((s) => s.start < range.end && s.last >= range.start);
  if (hits.length) subs.invalidate_seq |= 1;
  const cur_seq = subs.invalidate_seq;
  const blockable = (range.flags & MMU_NOTIFIER_RANGE_BLOCKABLE) !== 0;
  for (const sub of hits) {
    const ok = yield* call_guarded(k, sub.ops.invalidate(sub, range, cur_seq), blockable, sub.holder, range.id);
    k.emit(withBook({
      type: 'notifier_sub_done', time: k.now, actor: k.actorName(), id: range.id, holder: sub.holder, mm: range.mm.owner,
      start: Math.max(range.start, sub.start), end: Math.min(range.end, sub.last + 1), ok, blockable, event: range.event, owner: typeof range.owner === 'string' ? range.owner : '',
    }, sub.id));
    if (!ok) {
      if (WARN_ON_ONCE(k, blockable, 'mm/mmu_notifier.c:mn_itree_invalidate', -1, `${sub.holder} refused a blockable ${range.event}`)) continue;
      mn_itree_inv_end(k, range.mm);
      return EAGAIN;
    }
  }
  return 0;
}

/**
 * mn_itree_inv_end() - close an invalidation; the last one makes the seq even, applies the deferred
 * inserts and removes, and wakes the readers waiting in read_begin.
 * Context: any; no sleep. Return: nothing. Kernel: mm/mmu_notifier.c mn_itree_inv_end().
 */
export function mn_itree_inv_end(_k: Kernel, mm: MmStruct): void {
  const subs = subscriptions(mm);
  subs.active_invalidate_ranges--;
  if (subs.active_invalidate_ranges || !mn_itree_is_invalidating(subs)) return;
  subs.invalidate_seq++;
  const deferred = subs.deferred.splice(0);
  for (const d of deferred) {
    if (d.op === 'insert') itree_insert(subs, d.sub);
    else itree_remove(subs, d.sub);
  }
  wake_up_all(subs.wq);
}

/**
 * mn_itree_release() - the mm is dying: every interval subscriber gets invalidate(MMU_NOTIFY_RELEASE)
 * over the whole address space, before any page of the mm is freed.
 * Context: exit_mmap(); may sleep (the callbacks). Return: nothing (a refusal is a WARN).
 * Kernel: mm/mmu_notifier.c __mmu_notifier_release(), mn_itree_release().
 */
export function* mn_itree_release(k: Kernel, mm: MmStruct, range: MmuNotifierRange): Co {
  const subs = mm.notifier_subscriptions;
  if (!subs || !subs.itree.length) return;
  subs.active_invalidate_ranges++;
  subs.invalidate_seq |= 1;
  for (const sub of [...subs.itree]) {
    const ok = yield* sub.ops.invalidate(sub, range, subs.invalidate_seq);
    k.emit(withBook({
      type: 'notifier_sub_done', time: k.now, actor: k.actorName(), id: range.id, holder: sub.holder, mm: mm.owner,
      start: sub.start, end: sub.last + 1, ok, blockable: true, event: MMU_NOTIFY_RELEASE, owner: '',
    }, sub.id));
    WARN_ON_ONCE(k, !ok, 'mm/mmu_notifier.c:mn_itree_release', -1, `${sub.holder} failed MMU_NOTIFY_RELEASE`);
  }
  mn_itree_inv_end(k, mm);
}

