/**
 * dummy-page-dma (docs/invariants.md): a device was redirected to a dummy page and then accessed it: the
 * RDMA user's data silently goes to (or comes from) a page no one reads — Jason Gunthorpe's
 * "silent data corruption" of the thread's S2.
 */
import type { MmEventOf } from '../mm/trace_events.js';
import { toChain, type Checker, type CheckerCtx, type CheckerInstance } from './checker.js';

function create(ctx: CheckerCtx): CheckerInstance {
  /** The last redirect of each device to each dummy frame, by device, then by dummy pfn. */
  const redirects = new Map<string, Map<number, MmEventOf<'dummy_redirect'>>>();
  const dummies = new Set<number>();
  return {
    on: {
      dummy_redirect(ev) {
        dummies.add(ev.dummy);
        const m = redirects.get(ev.device) ?? new Map<number, MmEventOf<'dummy_redirect'>>();
        m.set(ev.dummy, ev);
        redirects.set(ev.device, m);
      },
      dma_access(ev) {
        if (!dummies.has(ev.pfn)) return;
        const r = redirects.get(ev.device)?.get(ev.pfn);
        ctx.report({
          kind: 'dummy-page-dma', time: ev.time, actor: ev.device, pfn: ev.pfn,
          message: `${ev.device} ${ev.write ? 'wrote its data into' : 'read its data from'} the dummy page (pfn 0x${ev.pfn.toString(16)})${r ? ` it was redirected to in place of pfn 0x${r.pfn.toString(16)}` : ''}: the transfer succeeds and the data is gone`,
          chain: [...(r ? [toChain(r)] : []), toChain(ev)],
        });
      },
    },
    finish(): void {},
    reset(): void {
      if (redirects.size) redirects.clear();
      if (dummies.size) dummies.clear();
    },
  };
}

export const dummy_page_dma: Checker = { kind: 'dummy-page-dma', description: 'a device accessed the dummy page it was redirected to', create };
