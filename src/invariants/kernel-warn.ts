/** kernel-warn (docs/invariants.md): a modelled WARN_ON/WARN_ON_ONCE fired; reported with what else the path caused. */
import type { MmTraceEvent } from '../mm/trace_events.js';
import { toChain, type Checker, type CheckerCtx } from './checker.js';

function create(ctx: CheckerCtx) {
  return {
    on(ev: MmTraceEvent): void {
      if (ev.type !== 'kernel_warn') return;
      ctx.report({ kind: 'kernel-warn', time: ev.time, actor: ev.actor, pfn: ev.pfn, message: `WARNING at ${ev.site}: ${ev.dump}`, chain: [toChain(ev)] });
    },
    finish(): void {},
  };
}

export const kernel_warn: Checker = { kind: 'kernel-warn', description: 'a modelled WARN_ON fired', create };
