/**
 * Actors are generator coroutines (SimPy processes). Code between two yields runs atomically; a
 * yield is a point where another actor may run, and carries a stable site id so that an actor's
 * position is part of the state fingerprint. `yield` evaluates to `true`, or to `false`
 * when a wait with a timeout timed out.
 */
import type { WaitQueueHead } from './waitqueue.js';

export type Yield =
  | { readonly kind: 'delay'; readonly ns: number; readonly site: string }
  | { readonly kind: 'point'; readonly site: string }
  | { readonly kind: 'wait'; readonly wq: WaitQueueHead; readonly site: string; readonly timeout?: number | undefined };

/** A coroutine returning R. */
export type Co<R = void> = Generator<Yield, R, boolean>;

export type ActorState = 'runnable' | 'waiting' | 'done';

/**
 * The built-in next() of every generator object. Each generator function has a prototype object of
 * its own, so reading `gen.next` on actors made by many closures is a megamorphic property load on
 * every step; calling the one built-in directly is not (npm run bench, engineVsBareHeap).
 */
const GENERATOR_NEXT = (Object.getPrototypeOf(function* () {}) as { prototype: { next: unknown } }).prototype.next as (this: Co<unknown>, v: boolean) => IteratorResult<Yield, unknown>;

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
  // Set by the constructor and by reuse() only.
  name: string;
  gen: Co<unknown>;
  background: boolean;
  /** gen is a generator object (its next() is the built-in one), not an iterator of another kind. */
  private native: boolean;

  constructor(id: number, name: string, gen: Co<unknown>, background: boolean) {
    this.id = id;
    this.name = name;
    this.gen = gen;
    this.background = background;
    this.native = gen.next === GENERATOR_NEXT;
  }

  /**
   * reuse() - the actor as `new Actor(id, @name, @gen, @background)` makes it, its id kept: a
   * scheduler reset for the next execution of a machine spawns its actors on the objects of before.
   */
  reuse(name: string, gen: Co<unknown>, background: boolean): this {
    this.state = 'runnable';
    this.site = 'start';
    this.waitingOn = null;
    this.pendingSeq = -1;
    this.pendingTime = 0;
    this.stepsTaken = 0;
    this.waitStart = 0;
    this.blockedNs = 0;
    this.result = undefined;
    this.killed = false;
    this.busy = false;
    this.name = name;
    this.gen = gen;
    this.background = background;
    this.native = gen.next === GENERATOR_NEXT;
    return this;
  }

  /** next() - run the actor to its next yield; @value is what the yield it stands at evaluates to. */
  next(value: boolean): IteratorResult<Yield, unknown> {
    return this.native ? GENERATOR_NEXT.call(this.gen, value) : this.gen.next(value);
  }
}

/** What `yield*` reads from a finished delay or point: it returns nothing. */
const FINISHED: IteratorReturnResult<void> = Object.freeze({ done: true, value: undefined });

/**
 * The request that delay(), schedPoint() and wait_event() hand to the scheduler. There is only one,
 * refilled for every request: code between two yields runs to its end before any other actor runs,
 * and the scheduler reads a request as soon as it is yielded and keeps nothing of it. It is also its
 * own iterator and its own first iterator result, so that `yield* delay(…)` allocates nothing and
 * costs what yielding a request object directly costs (npm run bench, engineVsBareHeap).
 *
 * `yield*` calls next() once at once, which hands out the request, and once more when the actor
 * resumes, which ends the delegation; `armed` tells the two calls apart. So a delay() must be
 * `yield*`-ed where it is made, never kept for later. return() and throw() behave as a generator's
 * would (an actor killed, or resumed with an exception, while it waits).
 */
class Request implements Co {
  readonly done = false;
  readonly value: Yield;
  kind: Yield['kind'] = 'point';
  ns = 0;
  site = '';
  wq: WaitQueueHead | null = null;
  timeout: number | undefined = undefined;
  private armed = false;

  constructor() {
    // The request is its own iterator result: `value` is this object seen as the Yield it carries
    // (a class cannot declare itself one member of the Yield union), so next() allocates nothing.
    this.value = this as unknown as Yield;
  }

  /** Fill the request; armed: the next next() hands it out (delay, point), else a wait hands it out. */
  fill(kind: Yield['kind'], ns: number, site: string, wq: WaitQueueHead | null, timeout: number | undefined, armed: boolean): this {
    this.kind = kind;
    this.ns = ns;
    this.site = site;
    this.wq = wq;
    this.timeout = timeout;
    this.armed = armed;
    return this;
  }

  next(): IteratorResult<Yield, void> {
    if (!this.armed) return FINISHED;
    this.armed = false;
    return this;
  }

  return(): IteratorResult<Yield, void> {
    return FINISHED;
  }

  throw(e: unknown): IteratorResult<Yield, void> {
    throw e;
  }

  [Symbol.iterator](): Request {
    return this;
  }
}

const REQUEST = new Request();

/** delay() - let `ns` of simulated time pass; another actor may run meanwhile. */
export function delay(ns: number, site: string): Co {
  return REQUEST.fill('delay', ns, site, null, undefined, true);
}

/** schedPoint() - a bare scheduling point: another actor ready at the same instant may run first. */
export function schedPoint(site: string): Co {
  return REQUEST.fill('point', 0, site, null, undefined, true);
}

/**
 * waitRequest() - the request to sleep on @wq (for at most @timeout ns), as an iterator result for
 * a wait's own iterator to return from next() (wait_event()).
 */
export function waitRequest(wq: WaitQueueHead, site: string, timeout: number | undefined): IteratorYieldResult<Yield> {
  return REQUEST.fill('wait', 0, site, wq, timeout, false);
}
