/**
 * linux-6.12 (the default): FOLL_PIN with the 1024 bias, writable long-term pins of dirty-tracked
 * shared file mappings refused with EFAULT (6.5), ib_umem_get without FOLL_FORCE (6.2), fork copies
 * pinned anon pages (5.9), ext4 logs a warning (no WARN) and skips instead of BUG (5.18). The era is data:
 * mm/features.ts resolves 6.12.
 */
import type { KernelPolicy } from '../mm/policy_ops.js';

export const linux_6_12: KernelPolicy = {
  name: 'linux-6.12',
  description: 'today: FOLL_PIN, writable long-term pins of dirty-tracked file mappings refused (EFAULT), ext4 logs a warning (no WARN) and skips instead of BUG',
  version: [6, 12],
  ops: {},
};
