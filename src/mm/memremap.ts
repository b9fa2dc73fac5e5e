/**
 * Device-private memory (ZONE_DEVICE, MEMORY_DEVICE_PRIVATE): pages a driver owns that the CPU
 * cannot map. A CPU page table points at one through a device-private swap entry; touching it faults
 * into the owner's `migrate_to_ram`, which moves the page back to system memory.
 * Kernel: include/linux/memremap.h struct dev_pagemap_ops, mm/memory.c do_swap_page().
 */
import type { Co } from '../engine/actor.js';
import type { VmAreaStruct } from './mm_types.js';
import type { VmFault } from './types.js';

/** struct dev_pagemap_ops (the part pinsim calls). */
export interface DevPagemapOps {
  /**
   * Move the device page at @addr of @vma back to system memory (the kernel passes the vm_fault;
   * the owner reaches the rest of the kernel through its own context).
   * Return: 0 or a VM_FAULT_* code.
   */
  migrate_to_ram(vma: VmAreaStruct, addr: number): Co<VmFault>;
}

/** The owners of device-private memory, by device name, and which device owns each device page. */
export class DevPagemaps {
  readonly ops = new Map<string, DevPagemapOps>();
  readonly owner = new Map<number, string>();

  /** reset() - no owner and no device page, as new (a machine reused by the next execution); devices register again. */
  reset(): void {
    if (this.ops.size) this.ops.clear();
    if (this.owner.size) this.owner.clear();
  }
}
