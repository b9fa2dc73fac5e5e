/**
 * The checker contract: a checker is a pure observer of the trace bus with its own shadow state.
 * It reports violations with the causal chain of trace events that make them; the runner keeps
 * one report per (kind, pfn, actor). Helpers here are shared by every checker.
 */
import type { MmEventOf, MmEventType, MmTraceEvent } from '../mm/trace_events.js';

/** The fields of trace event @E a chain step carries: all of them but its type, time and actor. */
export type ChainFields<E extends MmTraceEvent> = Omit<E, 'type' | 'time' | 'actor'>;

/**
 * One step of a causal chain: the trace event's type (`event`) and its fields, typed per event, so
 * that a story switches on `event` and reads the fields it needs with their types. It is the shape
 * the result format documents, `{ time, actor, event, pfn?, fields }` (`pfn` when the event names
 * a frame), and serialises as is.
 */
export type ChainRecord<E extends MmTraceEvent = MmTraceEvent> = E extends MmTraceEvent
  ? { time: number; actor: string; event: E['type']; pfn?: number; fields: ChainFields<E> }
  : never;

/** The chain step of the event of type @T. */
export type ChainRecordOf<T extends MmEventType> = ChainRecord<MmEventOf<T>>;

/** A step of a causal chain (any event type): what `Violation.chain` holds. */
export type ChainEvent = ChainRecord;

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

/** toChain() - @ev as a chain step: its type and every field but the base ones, in their order. */
export function toChain<E extends MmTraceEvent>(ev: E): ChainRecord<E> {
  const { type, time, actor, ...fields } = ev;
  // The rest of an event is its fields by construction; TypeScript cannot see through the
  // distributive ChainRecord<E> for a generic E.
  const c = { time, actor, event: type, fields } as ChainRecord<E>;
  if ('pfn' in ev && typeof ev.pfn === 'number' && ev.pfn >= 0) c.pfn = ev.pfn;
  return c;
}

/**
 * FrameHistory - the last event of each kind that touched a frame, so a checker can tell the story
 * (the DMA reference, the removal from the page cache, the free, the reuse).
 */
export class FrameHistory {
  private readonly last = new Map<number, Map<MmEventType, MmTraceEvent>>();

  note(pfn: number, ev: MmTraceEvent): void {
    let m = this.last.get(pfn);
    if (!m) this.last.set(pfn, (m = new Map()));
    m.set(ev.type, ev);
  }

  get(pfn: number, type: MmEventType): MmTraceEvent | undefined {
    return this.last.get(pfn)?.get(type);
  }

  /** The chain of the given event types for @pfn, in time order, then @tail. */
  chain(pfn: number, types: readonly MmEventType[], tail: MmTraceEvent): ChainEvent[] {
    const evs = types.map((t) => this.get(pfn, t)).filter((e): e is MmTraceEvent => e !== undefined && e.time <= tail.time);
    evs.sort((a, b) => a.time - b.time);
    return [...evs, tail].map(toChain);
  }
}
