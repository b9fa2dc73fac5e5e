/**
 * Modelled kernel assertions (include/linux/mmdebug.h, asm-generic/bug.h). A firing BUG is a
 * finding about the modelled kernel: it is traced as `kernel_bug` and ends the run (the real kernel
 * would have crashed). A WARN is traced as `kernel_warn` and the path goes on. Neither is a crash
 * of pinsim; pinsim's own bugs go through PINSIM_BUG().
 */
import type { MmTraceSink } from './trace_events.js';

/** Thrown through the generator stack when a modelled BUG fires; the runner ends the run. */
export class KernelBugStop extends Error {
  readonly site: string;
  constructor(site: string) {
    super(`kernel BUG at ${site}`);
    this.name = 'KernelBugStop';
    this.site = site;
  }
}

// pinsim's own bugs are reported the same way in every layer; the model reaches them from here.
export { PINSIM_BUG, PinsimInternalError } from '../engine/bug.js';

/**
 * BUG_ON() - if @cond, trace `kernel_bug` at @site with the dumped object and stop the run.
 * Kernel: include/asm-generic/bug.h BUG_ON(), VM_BUG_ON_FOLIO().
 */
export function BUG_ON(k: MmTraceSink, cond: boolean, site: string, pfn: number, dump: string): void {
  if (!cond) return;
  k.emit({ type: 'kernel_bug', time: k.now, actor: k.actorName(), site, pfn, dump });
  throw new KernelBugStop(site);
}

/**
 * WARN_ON_ONCE() - if @cond, trace `kernel_warn` at @site (once per site per run).
 * Return: @cond, so that `if (WARN_ON_ONCE(...)) return EINVAL` reads as in C.
 */
export function WARN_ON_ONCE(k: MmTraceSink, cond: boolean, site: string, pfn: number, dump: string): boolean {
  if (!cond) return false;
  if (k.warned.has(site)) return true;
  k.warned.add(site);
  k.emit({ type: 'kernel_warn', time: k.now, actor: k.actorName(), site, pfn, dump });
  return true;
}
