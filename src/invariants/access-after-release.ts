/**
 * access-after-release (docs/invariants.md): a device accessed memory of an mm after its release /
 * MMU_NOTIFY_RELEASE (only subscribers get a release; a GUP pinner never does).
 */
import type { MmTraceEvent, MmEventOf } from '../mm/trace_events.js';
import { toChain, type Checker, type CheckerCtx } from './checker.js';

function create(ctx: CheckerCtx) {
  const released = new Map<string, MmEventOf<'notifier_sub_done'>>();
  return {
    on(ev: MmTraceEvent): void {
      if (ev.type === 'notifier_sub_done' && ev.event === 'MMU_NOTIFY_RELEASE') released.set(`${ev.holder}:${ev.mm}`, ev);
      if (ev.type !== 'dma_access') return;
      const r = released.get(`${ev.device}:${ev.mm}`);
      if (!r) return;
      ctx.report({
        kind: 'access-after-release', time: ev.time, actor: ev.device, pfn: ev.pfn, file: ev.file, index: ev.index,
        message: `${ev.device} ${ev.write ? 'wrote' : 'read'} pfn 0x${ev.pfn.toString(16)} for ${ev.mm} after ${ev.mm}'s MMU_NOTIFY_RELEASE`,
        chain: [toChain(r), toChain(ev)],
      });
    },
    finish(): void {},
  };
}

export const access_after_release: Checker = { kind: 'access-after-release', description: 'a device accessed an mm after its release', create };
