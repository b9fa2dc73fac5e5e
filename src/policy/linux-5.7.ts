/**
 * linux-5.7: pin_user_pages()/FOLL_PIN with the GUP_PIN_COUNTING_BIAS tracking (5.6/5.7) and
 * unpin_user_page*(); otherwise 4.20's behaviour: fork before 5.9 (the parent may COW away from a
 * pinned page), ext4 BUGs on a dirty page without buffers (before 5.18), writable long-term pins
 * of file mappings still allowed (before 6.5). The era is data: mm/features.ts resolves 5.7.
 */
import type { KernelPolicy } from '../mm/policy_ops.js';

export const linux_5_7: KernelPolicy = {
  name: 'linux-5.7',
  description: 'FOLL_PIN with the 1024-bias tracking (5.6/5.7); otherwise 4.20 behaviour (fork before 5.9, ext4 BUG before 5.18)',
  version: [5, 7],
  ops: {},
};
