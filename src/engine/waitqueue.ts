/**
 * Wait queues, in the kernel's words: `WaitQueueHead`, `wait_event()`, `wake_up_all()`. A waiter
 * re-checks its condition after every wake-up, as the kernel's wait_event() loop does.
 */
import { waitRequest, type Actor, type Co, type Yield } from './actor.js';

/** What a wait queue needs from the scheduler to make a waiter runnable again. */
export interface Waker {
  wakeActor(a: Actor): void;
  /** Record a resource the current step touched (partial-order reduction). */
  touch?(key: string): void;
}

export class WaitQueueHead {
  readonly waiters: Actor[] = [];
  waker: Waker | null = null;
  readonly name: string;
  /** The queue as a resource in a step's footprint (partial-order reduction): `wq:<name>`. */
  readonly key: string;
  constructor(name: string) {
    this.name = name;
    this.key = `wq:${name}`;
  }

  /** reset() - no waiter and no waker, as new (a machine reused by the next execution). */
  reset(): void {
    this.waiters.length = 0;
    this.waker = null;
  }
}

/** Anything that can tell the current simulated time (the scheduler). */
export interface ClockSource {
  readonly now: number;
}

/** What `yield*` reads from a finished wait_event(): whether the condition holds. */
const HELD: IteratorReturnResult<boolean> = Object.freeze({ done: true, value: true });
const NOT_HELD: IteratorReturnResult<boolean> = Object.freeze({ done: true, value: false });
// A generator ended by return() reports value undefined; its callers never read the value then.
const ENDED: IteratorReturnResult<boolean> = Object.freeze({ done: true, value: undefined as unknown as boolean });

/** A wait_event() whose condition held when it was called: it returns true without sleeping. */
class Held implements Co<boolean> {
  next(): IteratorResult<Yield, boolean> {
    return HELD;
  }
  return(value: boolean): IteratorResult<Yield, boolean> {
    return { done: true, value };
  }
  throw(e: unknown): IteratorResult<Yield, boolean> {
    throw e;
  }
  [Symbol.iterator](): Held {
    return this;
  }
}

const ALREADY_HELD = new Held();

/**
 * The wait_event() loop as an iterator instead of a generator: one small object per wait that
 * sleeps, none for one whose condition already holds (an uncontended lock), and the same calls of
 * @cond, at the same points, as the loop `while (!cond()) sleep;` makes.
 */
class WaitEvent implements Co<boolean> {
  private readonly wq: WaitQueueHead;
  private readonly cond: () => boolean;
  private readonly site: string;
  private readonly deadline: { at: number; clock: ClockSource } | undefined;
  /** 0: the condition was false when called; 1: asleep, resumed by next(woken); 2: finished. */
  private phase = 0;

  constructor(wq: WaitQueueHead, cond: () => boolean, site: string, deadline: { at: number; clock: ClockSource } | undefined) {
    this.wq = wq;
    this.cond = cond;
    this.site = site;
    this.deadline = deadline;
  }

  next(woken?: boolean): IteratorResult<Yield, boolean> {
    if (this.phase === 2) return ENDED;
    if (this.phase === 1) {
      // A timed wait that timed out returns the condition as it stands; else the loop re-checks.
      if (this.deadline && !woken) return this.finish(this.cond());
      if (this.cond()) return this.finish(true);
    }
    this.phase = 1;
    const d = this.deadline;
    if (!d) return waitRequest(this.wq, this.site, undefined);
    // wait_event_timeout(): each re-wait only sleeps for what is left.
    const left = d.at - d.clock.now;
    if (left <= 0) return this.finish(this.cond());
    return waitRequest(this.wq, this.site, left);
  }

  return(value: boolean): IteratorResult<Yield, boolean> {
    this.phase = 2;
    return { done: true, value };
  }

  throw(e: unknown): IteratorResult<Yield, boolean> {
    this.phase = 2;
    throw e;
  }

  [Symbol.iterator](): WaitEvent {
    return this;
  }

  private finish(held: boolean): IteratorResult<Yield, boolean> {
    this.phase = 2;
    return held ? HELD : NOT_HELD;
  }
}

/**
 * wait_event() - sleep on @wq until @cond() holds; `yield*` it where it is called.
 * With @deadline (absolute ns, read from @clock), this is wait_event_timeout(): each re-wait only
 * sleeps for what is left.
 * Return: true when the condition holds; false when the deadline passed first.
 */
export function wait_event(
  wq: WaitQueueHead,
  cond: () => boolean,
  site: string,
  deadline?: { at: number; clock: ClockSource },
): Co<boolean> {
  if (cond()) return ALREADY_HELD;
  return new WaitEvent(wq, cond, site, deadline);
}

/** wake_up_all() - make every waiter on @wq runnable at the current instant. */
export function wake_up_all(wq: WaitQueueHead): void {
  wq.waker?.touch?.(wq.key);
  if (!wq.waiters.length) return;
  const w = wq.waiters.splice(0);
  for (const a of w) {
    a.waitingOn = null;
    wq.waker?.wakeActor(a);
  }
}
