/**
 * access-after-release (docs/invariants.md): a device accessed memory of an mm after its release /
 * MMU_NOTIFY_RELEASE (only subscribers get a release; a GUP pinner never does).
 */
import type { MmEventOf } from '../mm/trace_events.js';
import { toChain, type Checker, type CheckerCtx, type CheckerInstance } from './checker.js';

function create(ctx: CheckerCtx): CheckerInstance {
  /** The release each device got, by device, then by mm. */
  const released = new Map<string, Map<string, MmEventOf<'notifier_sub_done'>>>();
  return {
    on: {
      notifier_sub_done(ev) {
        if (ev.event !== 'MMU_NOTIFY_RELEASE') return;
        const m = released.get(ev.holder) ?? new Map<string, MmEventOf<'notifier_sub_done'>>();
        m.set(ev.mm, ev);
        released.set(ev.holder, m);
      },
      dma_access(ev) {
        const r = released.get(ev.device)?.get(ev.mm);
        if (!r) return;
        ctx.report({
          kind: 'access-after-release', time: ev.time, actor: ev.device, pfn: ev.pfn, file: ev.file, index: ev.index,
          message: `${ev.device} ${ev.write ? 'wrote' : 'read'} pfn 0x${ev.pfn.toString(16)} for ${ev.mm} after ${ev.mm}'s MMU_NOTIFY_RELEASE`,
          chain: [toChain(r), toChain(ev)],
        });
      },
    },
    finish(): void {},
    reset(): void {
      if (released.size) released.clear();
    },
  };
}

export const access_after_release: Checker = { kind: 'access-after-release', description: 'a device accessed an mm after its release', create };
