/**
 * The hook table the kernel model calls and policy/ implements (declared here, with the caller, as
 * the kernel declares its ops tables). An era is a kernel version plus no hooks; a proposal of the
 * 2018 thread is an era plus hooks that change only what happens to pages held by a device's
 * long-term DMA reference, acting on them only through PinOwnerOps.
 */
import type { Co } from '../engine/actor.js';
import type { Errno } from './errno.js';
import type { Inode } from './fs/inode.js';
// kernel.ts holds the policy and every hook is handed the whole kernel (a proposal acts on the pin
// registry, leases, wait queues): this type-only loop is the hook contract, not a convenience.
import type { Kernel } from './kernel.js';
import type { VmAreaStruct } from './mm_types.js';

export interface KernelPolicyOps {
  /**
   * Called by truncate and punch-hole before i_size changes and pages leave the page cache (and
   * before a DAX file breaks layouts), for the page indexes [first, last]. A proposal acts on the
   * range's long-term DMA references through their PinOwnerOps.
   * Return: 0 to proceed, or an errno that fails the truncate (layout-lease's ETXTBSY, EINTR).
   */
  truncate_pinned_range?(k: Kernel, inode: Inode, first: number, last: number): Co<0 | Errno>;
  /**
   * Admission of a long-term DMA reference to @vma's file pages (checked before the fsdax refusal).
   * Return: 0 to admit (lifting the fsdax refusal), an errno to refuse, null for the base rules.
   */
  longterm_pin_admit?(k: Kernel, vma: VmAreaStruct): 0 | Errno | null;
}

export interface KernelPolicy {
  readonly name: string;
  readonly description: string;
  /** The kernel version the policy is, or is built on. */
  readonly version: readonly [number, number];
  readonly ops: KernelPolicyOps;
}
