/**
 * delay(), schedPoint() and wait_event() hand the scheduler one request object, refilled for each
 * request and read at once; the scheduler resumes generator actors through the built-in next() and
 * any other iterator through its own.
 */
import { describe, expect, it } from 'vitest';
import { delay, schedPoint, type Co, type Yield } from '../../../src/engine/actor.js';
import { Scheduler } from '../../../src/engine/scheduler.js';
import { WaitQueueHead, wait_event } from '../../../src/engine/waitqueue.js';

describe('delay() and schedPoint() as iterators', () => {
  it('hand out their request on the first next() and end on the second, as `function* () { yield req; }` would', () => {
    const d = delay(7, 'site:d');
    const first = d.next(true);
    expect(first.done).toBe(false);
    expect(first.value).toMatchObject({ kind: 'delay', ns: 7, site: 'site:d' });
    expect(d.next(true)).toEqual({ done: true, value: undefined });
    const p = schedPoint('site:p');
    expect(p.next(true).value).toMatchObject({ kind: 'point', site: 'site:p' });
    expect(p.next(true).done).toBe(true);
  });

  it('forward throw() to the actor that waits in them, and return() ends them', () => {
    const boom = new Error('boom');
    const d = delay(1, 'd');
    d.next(true);
    expect(() => d.throw(boom)).toThrow(boom);
    function* body(log: string[]): Co {
      try {
        yield* delay(5, 'd');
      } catch (e) {
        log.push(`caught ${(e as Error).message}`);
      }
    }
    const log: string[] = [];
    const g = body(log);
    g.next(true);
    expect(g.throw(boom)).toEqual({ done: true, value: undefined });
    expect(log).toEqual(['caught boom']);
    expect(delay(1, 'd').return()).toEqual({ done: true, value: undefined });
  });

  it('interleaved actors each get their own delay, though the request object is shared', () => {
    const sched = new Scheduler();
    const log: string[] = [];
    for (const [name, ns] of [['a', 30], ['b', 10], ['c', 20]] as const) {
      sched.spawn(name, (function* () {
        for (let i = 0; i < 3; i++) yield* delay(ns, `${name}:${i}`);
        log.push(`${name}@${sched.now}`);
      })());
    }
    sched.run();
    expect(log).toEqual(['b@30', 'c@60', 'a@90']);
  });
});

describe('wait_event() as an iterator', () => {
  it('asks a condition that already holds once, and sleeps on nothing', () => {
    const wq = new WaitQueueHead('mutex');
    let asked = 0;
    const it = wait_event(wq, () => { asked++; return true; }, 'w');
    expect(it.next(true)).toEqual({ done: true, value: true });
    expect(asked).toBe(1);
  });

  it('after it has ended, next() returns done like a finished generator', () => {
    const wq = new WaitQueueHead('q');
    const clock = { now: 10 };
    const it = wait_event(wq, () => false, 'w', { at: 5, clock });
    expect(it.next(true)).toEqual({ done: true, value: false });
    expect(it.next(true)).toEqual({ done: true, value: undefined });
  });
});

describe('actors that are not generator objects', () => {
  /** An actor written as a plain iterator: @n points, then it returns @n. */
  class Points implements Co<number> {
    private left: number;
    private readonly n: number;
    constructor(n: number) {
      this.n = n;
      this.left = n;
    }
    next(): IteratorResult<Yield, number> {
      if (this.left === 0) return { done: true, value: this.n };
      this.left--;
      return { done: false, value: { kind: 'delay', ns: 5, site: `pt:${this.left}` } };
    }
    return(v: number): IteratorResult<Yield, number> {
      return { done: true, value: v };
    }
    throw(e: unknown): IteratorResult<Yield, number> {
      throw e;
    }
    [Symbol.iterator](): Points {
      return this;
    }
  }

  it('run through their own next(): a hand-written iterator and a bare delay() both work as actors', () => {
    const sched = new Scheduler();
    const p = sched.spawn('points', new Points(3));
    const d = sched.spawn('delay', delay(12, 'only'));
    sched.run();
    expect(p.state).toBe('done');
    expect(p.result).toBe(3);
    expect(d.state).toBe('done');
    expect(sched.now).toBe(15);
    expect(sched.steps).toBe(6);
  });
});
