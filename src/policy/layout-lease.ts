/**
 * layout-lease: Ira Weiny's 2019 RFC, applied to page-cache files too as a what-if. A device's
 * long-term DMA reference to the file pages of a shared mapping (fsdax included, lifting 4.20's
 * EOPNOTSUPP) needs a layout lease held by the pinning process (`setlease` with type "layout"),
 * else the pin fails with EPERM; truncate or punch-hole, by anyone, of pages so referenced fails
 * with ETXTBSY. A private mapping's pinned pages are anonymous copies: base rules.
 * The filesystem user pays: truncate is refused while the MR lives.
 */
import { EPERM, ETXTBSY } from '../mm/errno.js';
import { VM_SHARED } from '../mm/types.js';
import type { KernelPolicy } from '../mm/policy_ops.js';
import { longterm_refs_on_range } from '../mm/truncate.js';
import { linux_4_20 } from './linux-4.20.js';

export const layout_lease: KernelPolicy = {
  name: 'layout-lease',
  description: 'Ira Weiny 2019: long-term pins of file pages need a layout lease (else EPERM); truncating pinned pages fails ETXTBSY',
  version: linux_4_20.version,
  ops: {
    longterm_pin_admit(k, vma) {
      const file = vma.vm_file;
      // A private mapping's pinned pages are anonymous copies, not the file's: the base rules apply.
      if (!file || !(vma.vm_flags & VM_SHARED)) return null;
      return k.leases.find(file, vma.vm_mm.owner, 'layout') ? 0 : EPERM;
    },
    *truncate_pinned_range(k, inode, first, last) {
      return longterm_refs_on_range(k, inode, first, last).length ? ETXTBSY : 0;
    },
  },
};
