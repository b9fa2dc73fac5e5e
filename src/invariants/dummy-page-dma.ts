/**
 * dummy-page-dma (docs/invariants.md): a device was redirected to a dummy page and then accessed it: the
 * RDMA user's data silently goes to (or comes from) a page no one reads — Jason Gunthorpe's
 * "silent data corruption" of the thread's S2.
 */
import type { MmTraceEvent, MmEventOf } from '../mm/trace_events.js';
import { toChain, type Checker, type CheckerCtx } from './checker.js';

function create(ctx: CheckerCtx) {
  const redirects = new Map<string, MmEventOf<'dummy_redirect'>>();
  const dummies = new Set<number>();
  return {
    on(ev: MmTraceEvent): void {
      if (ev.type === 'dummy_redirect') {
        dummies.add(ev.dummy);
        redirects.set(`${ev.device}:${ev.dummy}`, ev);
        return;
      }
      if (ev.type !== 'dma_access' || !dummies.has(ev.pfn)) return;
      const r = redirects.get(`${ev.device}:${ev.pfn}`);
      ctx.report({
        kind: 'dummy-page-dma', time: ev.time, actor: ev.device, pfn: ev.pfn,
        message: `${ev.device} ${ev.write ? 'wrote its data into' : 'read its data from'} the dummy page (pfn 0x${ev.pfn.toString(16)})${r ? ` it was redirected to in place of pfn 0x${r.pfn.toString(16)}` : ''}: the transfer succeeds and the data is gone`,
        chain: [...(r ? [toChain(r)] : []), toChain(ev)],
      });
    },
    finish(): void {},
  };
}

export const dummy_page_dma: Checker = { kind: 'dummy-page-dma', description: 'a device accessed the dummy page it was redirected to', create };
