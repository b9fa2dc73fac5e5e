import { describe, expect, it } from 'vitest';
import { delay, type Co } from '../../../src/engine/actor.js';
import { Scheduler } from '../../../src/engine/scheduler.js';
import { WaitQueueHead, wait_event, wake_up_all } from '../../../src/engine/waitqueue.js';

describe('WaitQueueHead, wait_event(), wake_up_all()', () => {
  it('wait_event() with its condition already true returns at once without sleeping', () => {
    const wq = new WaitQueueHead('umem_mutex');
    const it = wait_event(wq, () => true, 'wait:umem');
    expect(it.next()).toEqual({ done: true, value: true });
    expect(wq.waiters).toEqual([]);
  });

  it('wait_event() yields a wait on its queue with its site id while the condition is false', () => {
    const wq = new WaitQueueHead('page_lock');
    const it = wait_event(wq, () => false, 'wait:page_lock');
    const y = it.next();
    expect(y.done).toBe(false);
    expect(y.value).toMatchObject({ kind: 'wait', wq, site: 'wait:page_lock' });
  });

  it('wake_up_all() on an empty queue does nothing', () => {
    const wq = new WaitQueueHead('empty');
    expect(() => wake_up_all(wq)).not.toThrow();
    expect(wq.waiters).toEqual([]);
  });

  it('wake_up_all() wakes every waiter, in the order they went to sleep', () => {
    const sched = new Scheduler();
    const wq = new WaitQueueHead('dax_layout');
    const order: string[] = [];
    let open = false;
    for (const n of ['w1', 'w2', 'w3']) {
      sched.spawn(n, (function* () { yield* wait_event(wq, () => open, `wait:${n}`); order.push(`${n}@${sched.now}`); })());
    }
    sched.spawn('breaker', (function* () {
      yield* delay(40, 'd');
      expect(wq.waiters.map((a) => a.name)).toEqual(['w1', 'w2', 'w3']);
      open = true;
      wake_up_all(wq);
      expect(wq.waiters).toEqual([]);
    })());
    sched.run();
    expect(order).toEqual(['w1@40', 'w2@40', 'w3@40']);
  });

  it('a waiter woken while its condition is still false goes back to sleep (the wait_event loop re-checks)', () => {
    const sched = new Scheduler();
    const wq = new WaitQueueHead('writeback');
    let count = 0;
    let checks = 0;
    const w = sched.spawn('w', (function* () {
      yield* wait_event(wq, () => { checks++; return count >= 3; }, 'wait:wb');
    })());
    sched.spawn('waker', (function* () {
      for (let i = 0; i < 3; i++) { yield* delay(10, 'd'); count++; wake_up_all(wq); }
    })());
    sched.run();
    expect(w.state).toBe('done');
    expect(sched.now).toBe(30);
    expect(checks).toBe(4); // once before sleeping, once after each of the three wake-ups
    expect(w.blockedNs).toBe(30);
  });

  it('wait_event_timeout() after a spurious wake-up only sleeps for what is left of the deadline', () => {
    const sched = new Scheduler();
    const wq = new WaitQueueHead('lease_break');
    let result: boolean | undefined;
    sched.spawn('truncate', (function* (): Co {
      result = yield* wait_event(wq, () => false, 'wait:lease', { at: 100, clock: sched });
    })());
    sched.spawn('spurious', (function* () { yield* delay(30, 'd'); wake_up_all(wq); })());
    sched.run();
    expect(result).toBe(false);
    expect(sched.now).toBe(100);
  });

  it('wait_event_timeout() returns true when the condition holds by the time the deadline fires', () => {
    const sched = new Scheduler();
    const wq = new WaitQueueHead('ack');
    let acked = false;
    let result: boolean | undefined;
    sched.spawn('w', (function* (): Co {
      result = yield* wait_event(wq, () => acked, 'wait:ack', { at: 100, clock: sched });
    })());
    // Sets the condition without a wake-up: the timeout's re-check sees it.
    sched.spawn('quiet', (function* () { yield* delay(50, 'd'); acked = true; })());
    sched.run();
    expect(result).toBe(true);
    expect(sched.now).toBe(100);
  });

  it('a deadline already passed returns the condition without sleeping', () => {
    const wq = new WaitQueueHead('late');
    const clock = { now: 500 };
    expect(wait_event(wq, () => false, 'w', { at: 400, clock }).next()).toEqual({ done: true, value: false });
  });
});
