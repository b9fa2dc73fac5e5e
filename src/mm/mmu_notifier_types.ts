/**
 * The MMU-notifier vocabulary shared by the classic and interval dispatchers: events, the range,
 * the classic ops table, and the per-mm subscriptions (hlist, interval tree, invalidate_seq).
 * Kernel: include/linux/mmu_notifier.h, struct mmu_notifier_subscriptions in mm/mmu_notifier.c.
 */
import type { Co } from '../engine/actor.js';
import { WaitQueueHead } from '../engine/waitqueue.js';
import type { Errno } from './errno.js';
import type { MmStruct } from './mm_types.js';
import type { MmuIntervalNotifier } from './mmu_interval_notifier.js';

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
  /** pinsim-only: the interval part is open (its inv_end is owed at _end). */
  itree_open?: boolean;
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
  /** Classic subscribers (the SRCU hlist). */
  readonly list: MmuNotifier[] = [];
  /** Interval subscribers, sorted by start (the interval tree). */
  readonly itree: MmuIntervalNotifier[] = [];
  /** Even = idle, odd = a writer intersects an interval (mm/mmu_notifier.c invalidate_seq). */
  invalidate_seq = 2;
  active_invalidate_ranges = 0;
  deferred: { op: 'insert' | 'remove'; sub: MmuIntervalNotifier }[] = [];
  /** Where read_begin and remove sleep until the seq moves on. */
  readonly wq = new WaitQueueHead('mmu_notifier_subscriptions.wq');
}

