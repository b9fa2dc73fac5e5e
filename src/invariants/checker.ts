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

/** The number of pages an event concerns: its `nr` (a large folio's pages), else 1. */
export function pagesOf(ev: MmTraceEvent): number {
  return 'nr' in ev && typeof ev.nr === 'number' ? ev.nr : 1;
}

/**
 * RangeMap - (pinsim-only) values per page number (a pfn, or a file index), set for one page or for
 * a large folio's range of pages at once; a read sees the latest value set over that page, and
 * `lastOff` says how far into the range it was set with that page is. Costs a map entry per 4 KiB
 * folio and a list entry per large folio, never a page of a large folio each; with no range set
 * (every order-0 run) a read is one map lookup and allocates nothing.
 */
export class RangeMap<V> {
  private seq = 0;
  private readonly one = new Map<number, V | undefined>();
  /** When a page's own value was set after a range existed (before: older than every range). Made with the first range. */
  private oneSeq: Map<number, number> | null = null;
  private ranges: { first: number; nr: number; seq: number; v: V | undefined }[] | null = null;
  /** The offset of the page last read into the range its value was set with (0 for a page's own). */
  lastOff = 0;

  /** set() - @v for the @nr pages from @first (undefined: no value). */
  set(first: number, v: V | undefined, nr = 1): void {
    if (nr === 1) {
      this.one.set(first, v);
      if (this.oneSeq) this.oneSeq.set(first, ++this.seq);
      return;
    }
    this.oneSeq ??= new Map();
    this.ranges ??= [];
    // A range set over the same pages replaces the older one (a folio's range is set again whole).
    const i = this.ranges.findIndex((r) => r.first === first && r.nr === nr);
    if (i >= 0) this.ranges.splice(i, 1);
    this.ranges.push({ first, nr, seq: ++this.seq, v });
  }

  /** get() - the latest value over page @i, or undefined; `lastOff` its offset into that value's range. */
  get(i: number): V | undefined {
    this.lastOff = 0;
    let best = this.one.get(i);
    if (!this.ranges || !this.oneSeq) return best;
    let bestSeq = this.one.has(i) ? (this.oneSeq.get(i) ?? 0) : -1;
    for (const r of this.ranges) {
      if (i < r.first || i >= r.first + r.nr || r.seq <= bestSeq) continue;
      bestSeq = r.seq;
      best = r.v;
      this.lastOff = i - r.first;
    }
    return best;
  }
}

/**
 * FrameHistory - the last event of each kind that touched a frame, so a checker can tell the story
 * (the DMA reference, the removal from the page cache, the free, the reuse). An event about a large
 * folio (`nr` pages from `pfn`) touched each of its pages.
 */
export class FrameHistory {
  private readonly last = new Map<number, Map<MmEventType, MmTraceEvent>>();
  private ranged: { pfn: number; nr: number; ev: MmTraceEvent }[] | null = null;

  note(pfn: number, ev: MmTraceEvent): void {
    const nr = pagesOf(ev);
    if (nr > 1) {
      (this.ranged ??= []).push({ pfn, nr, ev });
      return;
    }
    let m = this.last.get(pfn);
    if (!m) this.last.set(pfn, (m = new Map()));
    m.set(ev.type, ev);
  }

  get(pfn: number, type: MmEventType): MmTraceEvent | undefined {
    let ev = this.last.get(pfn)?.get(type);
    const ranged = this.ranged ?? [];
    for (let i = ranged.length - 1; i >= 0; i--) {
      const r = ranged[i]!;
      if (r.ev.type !== type || pfn < r.pfn || pfn >= r.pfn + r.nr) continue;
      if (!ev || r.ev.time >= ev.time) ev = r.ev;
      break;
    }
    return ev;
  }

  /** The chain of the given event types for @pfn, in time order, then @tail. */
  chain(pfn: number, types: readonly MmEventType[], tail: MmTraceEvent): ChainEvent[] {
    const evs = types.map((t) => this.get(pfn, t)).filter((e): e is MmTraceEvent => e !== undefined && e.time <= tail.time);
    evs.sort((a, b) => a.time - b.time);
    return [...evs, tail].map(toChain);
  }
}
