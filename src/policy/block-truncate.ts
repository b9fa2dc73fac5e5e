/**
 * block-truncate: the thread's S1. Truncate and punch-hole unmap first (so notifier devices drop
 * their mappings), then wait, holding no page lock, until no device holds a long-term DMA reference
 * on the range, and only then update i_size and remove pages, as DAX's break-layouts does
 * (the thread's S1). The filesystem user pays: the truncate blocks for as long as the MR lives.
 */
import { wait_event } from '../engine/waitqueue.js';
import { EINTR } from '../mm/errno.js';
import { unmap_mapping_range } from '../mm/memory.js';
import type { KernelPolicy } from '../mm/policy_ops.js';
import { longterm_refs_on_range } from '../mm/truncate.js';
import { PAGE_SIZE } from '../mm/types.js';
import { linux_4_20 } from './linux-4.20.js';

export const block_truncate: KernelPolicy = {
  name: 'block-truncate',
  description: "the thread's S1: truncate unmaps, then waits (no page lock held) until no long-term DMA reference holds the range",
  version: linux_4_20.version,
  ops: {
    *truncate_pinned_range(k, inode, first, last) {
      const held = () => longterm_refs_on_range(k, inode, first, last);
      if (!held().length) return 0;
      yield* unmap_mapping_range(k, inode.i_mapping, first * PAGE_SIZE, last === Infinity ? 0 : (last - first + 1) * PAGE_SIZE, false);
      k.emit({ type: 'truncate_wait', time: k.now, actor: k.actorName(), file: inode.name, policy: 'block-truncate', refs: held().length });
      yield* wait_event(k.pins.wq, () => held().length === 0 || k.fatal_signal_pending(), 'block-truncate:wait_for_unpin');
      return k.fatal_signal_pending() ? EINTR : 0;
    },
  },
};
