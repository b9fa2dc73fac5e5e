/**
 * linux-4.20: the kernel of the December 2018 thread. FOLL_GET references only (a "pin" is
 * get_user_pages), get_user_pages_longterm() refuses fsdax with EOPNOTSUPP, non-DAX truncate
 * orphans referenced pages, ext4 WARNs on dirtying a page without buffers (and BUGs in writepages),
 * ib_umem_get asks FOLL_WRITE|FOLL_FORCE. The era is data: mm/features.ts resolves 4.20.
 */
import type { KernelPolicy } from '../mm/policy_ops.js';

export const linux_4_20: KernelPolicy = {
  name: 'linux-4.20',
  description: 'the kernel of the 2018 thread: FOLL_GET references, get_user_pages_longterm refuses fsdax, non-DAX truncate orphans referenced pages',
  version: [4, 20],
  ops: {},
};
