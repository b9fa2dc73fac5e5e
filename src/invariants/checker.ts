/**
 * The checker contract: a checker is a pure observer of the trace bus with its own shadow state.
 * It reports violations with the causal chain of trace events that make them; the runner keeps
 * one report per (kind, pfn, actor). Helpers here are shared by every checker.
 */
import type { MmTraceEvent } from '../mm/trace_events.js';

/** One step of a causal chain, as DESIGN §6 prints it. */
export interface ChainEvent {
  time: number;
  actor: string;
  event: string;
  pfn?: number;
  fields: Record<string, string | number | boolean>;
}

export interface ViolationReport {
  kind: string;
  time: number;
  actor: string;
  pfn: number;
  file?: string;
  index?: number;
  message: string;
  chain: ChainEvent[];
}

export interface CheckerCtx {
  report(v: ViolationReport): void;
  /** The policy the run uses (for era-worded messages). */
  readonly policy: string;
  /** kernel.livenessBound in ns (the `hang` bound; 1 s when absent). */
  readonly livenessBound?: number;
  /** kernel.until in ns, when the scenario sets it. */
  readonly until?: number;
  /**
   * Whether kernel.until ended the run with work still due after it. A kernel path it cut (an
   * invalidation between start and end, a reference taken and not yet put) is the user's stop, not
   * the kernel's fault: end-of-run books then say so in a note, not a violation.
   */
  cutByUntil?(): boolean;
  /** Add a remark to the result's `notes` (not a violation, not hashed). */
  note?(text: string): void;
}

export interface CheckerInstance {
  on(ev: MmTraceEvent): void;
  finish(): void;
}

export interface Checker {
  readonly kind: string;
  readonly description: string;
  create(ctx: CheckerCtx): CheckerInstance;
}

/** toChain() - a trace event as a chain step (every primitive field but the base ones). */
export function toChain(ev: MmTraceEvent): ChainEvent {
  const fields: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(ev)) {
    if (k === 'type' || k === 'time' || k === 'actor') continue;
    if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') fields[k] = v;
  }
  const c: ChainEvent = { time: ev.time, actor: ev.actor, event: ev.type, fields };
  if ('pfn' in ev && typeof ev.pfn === 'number' && ev.pfn >= 0) c.pfn = ev.pfn;
  return c;
}

/**
 * FrameHistory - the last event of each kind that touched a frame, so a checker can tell the story
 * (the DMA reference, the removal from the page cache, the free, the reuse).
 */
export class FrameHistory {
  private readonly last = new Map<number, Map<string, MmTraceEvent>>();

  note(pfn: number, ev: MmTraceEvent): void {
    let m = this.last.get(pfn);
    if (!m) this.last.set(pfn, (m = new Map()));
    m.set(ev.type, ev);
  }

  get(pfn: number, type: string): MmTraceEvent | undefined {
    return this.last.get(pfn)?.get(type);
  }

  /** The chain of the given event types for @pfn, in time order, then @tail. */
  chain(pfn: number, types: readonly string[], tail: MmTraceEvent): ChainEvent[] {
    const evs = types.map((t) => this.get(pfn, t)).filter((e): e is MmTraceEvent => e !== undefined && e.time <= tail.time);
    evs.sort((a, b) => a.time - b.time);
    return [...evs, tail].map(toChain);
  }
}
