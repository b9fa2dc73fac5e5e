/**
 * Wait queues, in the kernel's words: `WaitQueueHead`, `wait_event()`, `wake_up_all()`. A waiter
 * re-checks its condition after every wake-up, as the kernel's wait_event() loop does.
 */
import type { Actor, Co } from './actor.js';

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
  constructor(name: string) {
    this.name = name;
  }
}

/** Anything that can tell the current simulated time (the scheduler). */
export interface ClockSource {
  readonly now: number;
}

/**
 * wait_event() - sleep on @wq until @cond() holds.
 * With @deadline (absolute ns, read from @clock), this is wait_event_timeout(): each re-wait only
 * sleeps for what is left.
 * Return: true when the condition holds; false when the deadline passed first.
 */
export function* wait_event(
  wq: WaitQueueHead,
  cond: () => boolean,
  site: string,
  deadline?: { at: number; clock: ClockSource },
): Co<boolean> {
  while (!cond()) {
    if (!deadline) {
      yield { kind: 'wait', wq, site };
      continue;
    }
    const left = deadline.at - deadline.clock.now;
    if (left <= 0) return cond();
    const woken = yield { kind: 'wait', wq, site, timeout: left };
    if (!woken) return cond();
  }
  return true;
}

/** wake_up_all() - make every waiter on @wq runnable at the current instant. */
export function wake_up_all(wq: WaitQueueHead): void {
  wq.waker?.touch?.(`wq:${wq.name}`);
  if (!wq.waiters.length) return;
  const w = wq.waiters.splice(0);
  for (const a of w) {
    a.waitingOn = null;
    wq.waker?.wakeActor(a);
  }
}
