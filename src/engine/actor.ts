/**
 * Actors are generator coroutines (SimPy processes). Code between two yields runs atomically; a
 * yield is a point where another actor may run, and carries a stable site id so that an actor's
 * position is part of the state fingerprint. `yield` evaluates to `true`, or to `false`
 * when a wait with a timeout timed out.
 */
import type { WaitQueueHead } from './waitqueue.js';

export type Yield =
  | { kind: 'delay'; ns: number; site: string }
  | { kind: 'point'; site: string }
  | { kind: 'wait'; wq: WaitQueueHead; site: string; timeout?: number };

/** A coroutine returning R. */
export type Co<R = void> = Generator<Yield, R, boolean>;

export type ActorState = 'runnable' | 'waiting' | 'done';

export class Actor {
  state: ActorState = 'runnable';
  /** The site id of the last yield (or 'start'). */
  site = 'start';
  waitingOn: WaitQueueHead | null = null;
  /** seq of the actor's one valid queue entry, or -1. */
  pendingSeq = -1;
  /** time of that entry */
  pendingTime = 0;
  /** steps taken so far (part of the actor's position in a state fingerprint) */
  stepsTaken = 0;
  /** When the current wait began (for blocked time). */
  waitStart = 0;
  /** Total ns spent waiting on wait queues so far. */
  blockedNs = 0;
  result: unknown = undefined;
  /** Set when the actor was killed (a process dying of a signal, or the run ending). */
  killed = false;
  /**
   * Background work inside one pass of its job (kswapd scanning, kcompactd migrating): when the
   * scenario's actors have all finished, the run lets the pass end before stopping it.
   */
  busy = false;

  readonly id: number;
  readonly name: string;
  readonly gen: Co<unknown>;
  readonly background: boolean;

  constructor(id: number, name: string, gen: Co<unknown>, background: boolean) {
    this.id = id;
    this.name = name;
    this.gen = gen;
    this.background = background;
  }
}

/**
 * One yield of @req, as `function* () { yield req; }` would be, without a generator object: delay()
 * and schedPoint() run once per simulated step, and a generator per call was about a quarter of the
 * engine's time (npm run bench, engineVsBareHeap). `yield*` forwards return() and throw() to it, so
 * an actor killed or resumed with an exception while waiting behaves as with a generator.
 */
class OneYield implements Co {
  private req: Yield | null;

  constructor(req: Yield) {
    this.req = req;
  }

  next(): IteratorResult<Yield, void> {
    const r = this.req;
    if (r === null) return { done: true, value: undefined };
    this.req = null;
    return { done: false, value: r };
  }

  return(): IteratorResult<Yield, void> {
    this.req = null;
    return { done: true, value: undefined };
  }

  throw(e: unknown): IteratorResult<Yield, void> {
    this.req = null;
    throw e;
  }

  [Symbol.iterator](): OneYield {
    return this;
  }
}

/** delay() - let `ns` of simulated time pass; another actor may run meanwhile. */
export function delay(ns: number, site: string): Co {
  return new OneYield({ kind: 'delay', ns, site });
}

/** schedPoint() - a bare scheduling point: another actor ready at the same instant may run first. */
export function schedPoint(site: string): Co {
  return new OneYield({ kind: 'point', site });
}
