/**
 * lease-break-dummy: the thread's S2. Truncate (and punch-hole) breaks the pinning process's lease
 * (its onBreak handler runs), waits up to kernel.leaseBreakTimeout (10 ms) for the long-term
 * references to go, then redirects each remaining holder to a dummy page
 * (PinOwnerOps.redirect_to_dummy, which drops its reference on the real page) and proceeds. Without
 * a lease the redirect is immediate. The RDMA user pays: its device streams the dummy
 * page, silently (dummy-page-dma).
 */
import { wait_event } from '../engine/waitqueue.js';
import type { KernelPolicy } from '../mm/policy_ops.js';
import { longterm_refs_on_range, ref_pfns_on_range } from '../mm/truncate.js';
import { linux_4_20 } from './linux-4.20.js';

export const lease_break_dummy: KernelPolicy = {
  name: 'lease-break-dummy',
  description: "the thread's S2: break the pinner's lease, wait up to leaseBreakTimeout, then redirect the device to a dummy page",
  version: linux_4_20.version,
  ops: {
    *truncate_pinned_range(k, inode, first, last) {
      const held = () => longterm_refs_on_range(k, inode, first, last);
      let leased = false;
      for (const ref of held()) {
        if (!ref.ops?.lease_break) continue;
        if (yield* ref.ops.lease_break(ref, inode)) {
          leased = true;
          k.emit({ type: 'lease_break', time: k.now, actor: k.actorName(), file: inode.name, holder: ref.mm.owner, lease: 'broken' });
        }
      }
      if (leased) {
        k.emit({ type: 'truncate_wait', time: k.now, actor: k.actorName(), file: inode.name, policy: 'lease-break-dummy', refs: held().length });
        yield* wait_event(k.pins.wq, () => held().length === 0, 'lease-break-dummy:wait_for_lease_holder', {
          at: k.now + k.tunables.leaseBreakTimeout, clock: k.sched,
        });
      }
      const left = held();
      if (!left.length) return 0;
      const dummy = k.dummy_page();
      for (const ref of left) {
        if (!ref.ops?.redirect_to_dummy || dummy < 0) continue;
        for (const pfn of ref_pfns_on_range(ref, inode, first, last)) yield* ref.ops.redirect_to_dummy(ref, pfn, dummy);
      }
      return 0;
    },
  },
};
