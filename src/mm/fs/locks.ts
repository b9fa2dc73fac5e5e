/**
 * File leases (fcntl F_SETLEASE, and the layout lease of Ira Weiny's 2019 RFC): a process holds a
 * lease on a file; a lease break notifies the holder, which in pinsim runs the lease's `onBreak`
 * ops as a new thread of the holder's process. The kernel does not wait here: whoever
 * breaks the lease decides how long to wait (lease-break-dummy's leaseBreakTimeout).
 * Kernel: fs/locks.c generic_setlease(), __break_lease(). Simplified: no conflict checks between
 * openers; a lease is broken once.
 */
import type { Inode } from './inode.js';

export type LeaseType = 'read' | 'write' | 'layout';

export interface FileLease {
  readonly inode: Inode;
  /** the holding process */
  readonly owner: string;
  readonly type: LeaseType;
  broken: boolean;
  /** What runs when the lease is broken (set by the scenario layer). */
  readonly on_break: (() => void) | null;
}

/** The leases of the machine (pinsim-only: the kernel keeps them on inode->i_flctx). */
export class LeaseTable {
  readonly leases: FileLease[] = [];

  /** reset() - no lease, as new (a machine reused by the next execution). */
  reset(): void {
    this.leases.length = 0;
  }

  /** generic_setlease() - Return: the lease. */
  setlease(inode: Inode, owner: string, type: LeaseType, on_break: (() => void) | null): FileLease {
    const l: FileLease = { inode, owner, type, broken: false, on_break };
    this.leases.push(l);
    return l;
  }

  /** The unbroken lease of @owner on @inode of @type (any type when omitted), or null. */
  find(inode: Inode, owner: string, type?: LeaseType): FileLease | null {
    return this.leases.find((l) => l.inode === inode && l.owner === owner && !l.broken && (!type || l.type === type)) ?? null;
  }

  /**
   * break_lease() - break @owner's lease on @inode: mark it broken and start its onBreak handler.
   * Return: true when there was a lease to break.
   */
  break_lease(inode: Inode, owner: string): boolean {
    const l = this.find(inode, owner);
    if (!l) return false;
    l.broken = true;
    l.on_break?.();
    return true;
  }
}
