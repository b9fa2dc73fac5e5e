/**
 * The checker contract: a checker is a pure observer of the trace bus with its own shadow state.
 * It names the event types it reads by the handlers it returns, and receives only those: a checker
 * of notifier pairing costs nothing on a 512-page zap. It reports violations with the causal chain
 * of the events that make them; the runner keeps one report per (kind, pfn, actor). The books
 * several checkers read the same way (each frame's generation, the chain history) are kept once
 * per run (books.ts) and reached through the context.
 */
import type { MmChainEvent, MmChainEventOf, MmEventOf, MmEventType, MmTraceEvent } from '../mm/trace_events.js';
import { ChainHistory, FrameBooks } from './books.js';

/** The fields of chain event @E a chain step carries: all of them but its type, time and actor. */
export type ChainFields<E extends MmChainEvent> = Omit<E, 'type' | 'time' | 'actor'>;

/**
 * One step of a causal chain: the event's type (`event`) and its fields, typed per event, so that
 * a story switches on `event` and reads the fields it needs with their types. A range event's step
 * is one page of it (an MmPageFact). It is the shape the result format documents, `{ time, actor,
 * event, pfn?, fields }` (`pfn` when the event names a frame), and serialises as is.
 */
export type ChainRecord<E extends MmChainEvent = MmChainEvent> = E extends MmChainEvent
  ? { time: number; actor: string; event: E['type']; pfn?: number; fields: ChainFields<E> }
  : never;

/** The chain step of the event (or page of a range event) of type @T. */
export type ChainRecordOf<T extends MmChainEvent['type']> = ChainRecord<MmChainEventOf<T>>;

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

/** The books kept once per run for every checker that reads them (created on first use). */
export interface SharedBooks {
  /** Each frame's allocation generation and whether it is free. */
  readonly frames: FrameBooks;
  /** The last event of each kind that touched each frame, for chains. */
  readonly history: ChainHistory;
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
  /** The trace position of the event being handled: how many events the trace holds, it included. */
  position(): number;
  readonly books: SharedBooks;
}

/** A checker's handlers, by the event type each reads: the types it subscribes to. */
export type CheckerHandlers = { readonly [T in MmEventType]?: (ev: MmEventOf<T>) => void };

export interface CheckerInstance {
  readonly on: CheckerHandlers;
  finish(): void;
  /**
   * Forget everything the instance learnt, so that it judges the next execution of a machine that
   * is reused as a new instance would (same context, same handlers). Optional: a checker without it
   * is created anew for every execution.
   */
  reset?(): void;
}

export interface Checker {
  readonly kind: string;
  readonly description: string;
  create(ctx: CheckerCtx): CheckerInstance;
}

/** toChain() - @ev (an event, or one page of a range event) as a chain step: its type and every field but the base ones. */
export function toChain<E extends MmChainEvent>(ev: E): ChainRecord<E> {
  const { type, time, actor, ...fields } = ev;
  // The rest of an event is its fields by construction; TypeScript cannot see through the
  // distributive ChainRecord<E> for a generic E.
  const c = { time, actor, event: type, fields } as ChainRecord<E>;
  if ('pfn' in ev && typeof ev.pfn === 'number' && ev.pfn >= 0) c.pfn = ev.pfn;
  return c;
}

/** The steps of @evs as chain records. */
export function toChains(evs: readonly MmChainEvent[]): ChainEvent[] {
  return evs.map(toChain);
}

/** dispatch() - hand @ev to @c's handler of its type, if it has one. */
export function dispatch(c: CheckerInstance, ev: MmTraceEvent): void {
  // The handler table is indexed by the event's own type, so it takes that event; TypeScript cannot
  // relate the two through the union.
  const h = c.on[ev.type] as ((e: MmTraceEvent) => void) | undefined;
  h?.(ev);
}

/** What the checkers of a run are: their instances, and each (type, handler) to subscribe, books first. */
export interface CheckerSet {
  readonly instances: readonly CheckerInstance[];
  readonly subscriptions: readonly (readonly [MmEventType, (ev: MmTraceEvent) => void])[];
  /** Whether reset() can make the set new again (every instance has a reset()). */
  readonly resettable: boolean;
  /** reset() - the shared books and every instance as created (when resettable). */
  reset(): void;
}

/**
 * createCheckers() - instantiate @checkers with the context @base and the shared books, which exist
 * only if some checker reads them. Subscribe the returned handlers in order: the books' come first,
 * so a checker reads books that already hold the event it is handling.
 */
export function createCheckers(checkers: readonly Checker[], base: Omit<CheckerCtx, 'books'>): CheckerSet {
  let frames: FrameBooks | null = null;
  let history: ChainHistory | null = null;
  const books: SharedBooks = {
    get frames() {
      return (frames ??= new FrameBooks());
    },
    get history() {
      return (history ??= new ChainHistory(this.frames));
    },
  };
  const instances = checkers.map((c) => c.create({ ...base, books } as CheckerCtx));
  const subs: [MmEventType, (ev: MmTraceEvent) => void][] = [];
  const fb = frames as FrameBooks | null;
  if (fb) {
    subs.push(['folio_alloc', (ev) => fb.onAlloc(ev as MmEventOf<'folio_alloc'>)]);
    subs.push(['folio_free', (ev) => fb.onFree(ev as MmEventOf<'folio_free'>)]);
  }
  const hist = history as ChainHistory | null;
  if (hist) for (const t of ChainHistory.types) subs.push([t, (ev) => hist.on(ev)]);
  for (const c of instances) {
    for (const t of Object.keys(c.on) as MmEventType[]) {
      // A handler is subscribed to its own type only, so it receives that event.
      const h = c.on[t] as ((ev: MmTraceEvent) => void) | undefined;
      if (h) subs.push([t, h]);
    }
  }
  const resettable = instances.every((c) => c.reset !== undefined);
  return {
    instances, subscriptions: subs, resettable,
    reset() {
      fb?.reset();
      hist?.reset();
      for (const c of instances) c.reset?.();
    },
  };
}
