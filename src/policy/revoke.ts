/**
 * revoke: Jason Gunthorpe's "forcibly terminate the RDMA activity". Truncate (and punch-hole)
 * revokes every MR holding a long-term reference on the range (PinOwnerOps.revoke: its QP goes to
 * error, its references are dropped), then proceeds; later DMA on it completes device-error
 * (Jason Gunthorpe's "forcibly terminate"). The RDMA user pays, loudly: an error it sees, not corruption.
 */
import type { KernelPolicy } from '../mm/policy_ops.js';
import { longterm_refs_on_range } from '../mm/truncate.js';
import { linux_4_20 } from './linux-4.20.js';

export const revoke: KernelPolicy = {
  name: 'revoke',
  description: "Jason Gunthorpe's forcible termination: truncate revokes the pinning MR (QP to error), later DMA completes device-error",
  version: linux_4_20.version,
  ops: {
    *truncate_pinned_range(k, inode, first, last) {
      for (const ref of longterm_refs_on_range(k, inode, first, last)) if (ref.ops?.revoke) yield* ref.ops.revoke(ref);
      return 0;
    },
  },
};
