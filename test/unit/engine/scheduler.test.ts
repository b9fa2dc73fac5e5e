import { describe, expect, it } from 'vitest';
import { delay, schedPoint, type Actor, type Co } from '../../../src/engine/actor.js';
import { PinsimInternalError } from '../../../src/engine/bug.js';
import { Prng } from '../../../src/engine/prng.js';
import { Scheduler, type ChoicePoint, type SchedulerOptions } from '../../../src/engine/scheduler.js';
import { WaitQueueHead, wait_event, wake_up_all } from '../../../src/engine/waitqueue.js';

/** A world where every actor logs `name@time` at each of its steps. */
function world(opts: SchedulerOptions = {}) {
  const sched = new Scheduler(opts);
  const log: string[] = [];
  const mark = (name: string) => log.push(`${name}@${sched.now}`);
  return { sched, log, mark };
}

/** An actor that takes @steps scheduling points, logging before each. */
function* stepper(mark: (n: string) => void, name: string, steps: number): Co {
  for (let i = 0; i < steps; i++) {
    mark(`${name}${i}`);
    yield* schedPoint(`${name}:${i}`);
  }
  mark(`${name}-end`);
}

describe('Scheduler: time and default order', () => {
  it('delay(ns) advances the virtual clock by exactly ns', () => {
    const { sched, log, mark } = world();
    sched.spawn('a', (function* () {
      mark('a'); yield* delay(100, 'd1'); mark('a'); yield* delay(2_500, 'd2'); mark('a');
    })());
    sched.run();
    expect(log).toEqual(['a@0', 'a@100', 'a@2600']);
    expect(sched.now).toBe(2600);
    expect(sched.recorded).toEqual([]);
  });

  it('spawn at a later time starts the actor then, and actors interleave by time', () => {
    const { sched, log, mark } = world();
    sched.spawn('late', (function* () { mark('late'); })(), { at: 50 });
    sched.spawn('early', (function* () { mark('early'); yield* delay(100, 'd'); mark('early'); })());
    sched.run();
    expect(log).toEqual(['early@0', 'late@50', 'early@100']);
  });

  it('two actors ready at the same instant are a choice point, recorded; the default runs the earliest seq', () => {
    const { sched, log, mark } = world();
    sched.spawn('A', stepper(mark, 'A', 1));
    sched.spawn('B', stepper(mark, 'B', 1));
    sched.run();
    expect(log).toEqual(['A0@0', 'B0@0', 'A-end@0', 'B-end@0']);
    expect(sched.recorded.length).toBeGreaterThanOrEqual(2);
    expect(sched.recorded.every((c) => c === 0)).toBe(true);
  });

  it('a lone runnable actor is never a choice point', () => {
    const { sched, mark } = world();
    sched.spawn('A', stepper(mark, 'A', 5));
    sched.run();
    expect(sched.recorded).toEqual([]);
    expect(sched.steps).toBe(6);
  });
});

describe('Scheduler: choices, replay and chooser', () => {
  it('the chooser sees the candidates sorted by (time, seq) and can run the other one first', () => {
    const { sched, log, mark } = world({ chooser: (p) => p.candidates.length - 1 });
    const seen: ChoicePoint[] = [];
    const s2 = new Scheduler({ chooser: (p) => { seen.push(p); return 0; } });
    s2.spawn('A', stepper(() => {}, 'A', 1));
    s2.spawn('B', stepper(() => {}, 'B', 1));
    s2.run();
    const first = seen[0] as ChoicePoint;
    expect(first.index).toBe(0);
    expect(first.candidates.map((c) => c.actor)).toEqual(['A', 'B']);
    expect(first.candidates[0]!.seq).toBeLessThan(first.candidates[1]!.seq);

    sched.spawn('A', stepper(mark, 'A', 1));
    sched.spawn('B', stepper(mark, 'B', 1));
    sched.run();
    expect(log[0]).toBe('B0@0');
    expect(sched.recorded[0]).toBe(1);
  });

  it('recorded choices replay to the same interleaving, and an out-of-range choice falls back to 0', () => {
    const run = (opts: SchedulerOptions) => {
      const { sched, log, mark } = world(opts);
      for (const n of ['A', 'B', 'C']) sched.spawn(n, stepper(mark, n, 4));
      sched.run();
      return { log, recorded: [...sched.recorded] };
    };
    const rng = new Prng(99, 'chooser');
    const explored = run({ chooser: (p) => rng.nextInt(p.candidates.length) });
    expect(explored.recorded.some((c) => c !== 0)).toBe(true);
    const replayed = run({ choices: explored.recorded });
    expect(replayed.log).toEqual(explored.log);
    expect(replayed.recorded).toEqual(explored.recorded);
    expect(run({}).log).not.toEqual(explored.log);
    expect(run({ choices: [7, -1] }).log).toEqual(run({}).log);
  });

  it('a strategy that picks outside the candidates is a pinsim bug (PINSIM_BUG), never silently the default', () => {
    for (const pick of [2, -2, 0.5, NaN]) {
      const { sched, mark } = world({ chooser: () => pick });
      sched.spawn('A', stepper(mark, 'A', 1));
      sched.spawn('B', stepper(mark, 'B', 1));
      let err: unknown;
      try { sched.run(); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(PinsimInternalError);
      expect((err as Error).message).toBe(`[pinsim internal bug] choice point 0: the strategy picked ${pick} among 2 candidates`);
      expect(sched.recorded).toEqual([]);
    }
    // -1 is not out of range: it is the strategy ending the execution (pruned).
    const { sched, mark } = world({ chooser: () => -1 });
    sched.spawn('A', stepper(mark, 'A', 1));
    sched.spawn('B', stepper(mark, 'B', 1));
    sched.run();
    expect(sched.pruned).toBe(true);
  });

  it('past the end of the recorded choices the default (0) is taken', () => {
    const { sched, log, mark } = world({ choices: [1] });
    sched.spawn('A', stepper(mark, 'A', 2));
    sched.spawn('B', stepper(mark, 'B', 2));
    sched.run();
    expect(sched.recorded[0]).toBe(1);
    expect(sched.recorded.slice(1).every((c) => c === 0)).toBe(true);
    expect(log[0]).toBe('B0@0');
  });

  it('with window W a later event within W is a candidate: running it first moves the clock and the earlier one runs late', () => {
    const cands: string[][] = [];
    const { sched, log, mark } = world({ window: 1_000, chooser: (p) => { cands.push(p.candidates.map((c) => `${c.actor}@${c.time}`)); return p.candidates.length - 1; } });
    sched.spawn('early', (function* () { mark('early'); yield* delay(10, 'e'); mark('early'); })(), { at: 100 });
    sched.spawn('later', (function* () { mark('later'); })(), { at: 600 });
    sched.spawn('far', (function* () { mark('far'); })(), { at: 5_000 });
    sched.run();
    // early@100 and later@600 are within 100 + W; far@5000 is not. Running later first moves the
    // clock to 600, and early then starts late at 600 (`at` is a lower bound).
    expect(cands[0]).toEqual(['early@100', 'later@600']);
    expect(log).toEqual(['later@600', 'early@600', 'early@610', 'far@5000']);
    expect(sched.recorded).toEqual([1]);
  });

  it('with window 0 only exact ties are candidates', () => {
    const cands: number[] = [];
    const { sched, log, mark } = world({ chooser: (p) => { cands.push(p.candidates.length); return p.candidates.length - 1; } });
    sched.spawn('early', (function* () { yield* delay(100, 'e'); mark('early'); })());
    sched.spawn('later', (function* () { yield* delay(101, 'l'); mark('later'); })());
    sched.run();
    expect(log).toEqual(['early@100', 'later@101']);
    expect(cands).toEqual([2]);
  });

  it('timing jitter lengthens a delay by at most max, reproducibly for one seed', () => {
    const end = (seed: number) => {
      const s = new Scheduler({ jitter: { max: 50, prng: new Prng(seed, 'jitter') } });
      s.spawn('a', (function* () { for (let i = 0; i < 10; i++) yield* delay(100, 'd'); })());
      s.run();
      return s.now;
    };
    expect(end(1)).toBe(end(1));
    expect(end(1)).toBeGreaterThanOrEqual(1000);
    expect(end(1)).toBeLessThanOrEqual(1500);
    expect(new Set([1, 2, 3, 4, 5].map(end)).size).toBeGreaterThan(1);
  });
});

describe('Scheduler: wait queues, until, end of run, kill', () => {
  it('wait_event sleeps until wake_up_all, and the blocked time is accounted', () => {
    const { sched, log, mark } = world();
    const wq = new WaitQueueHead('page_lock');
    let unlocked = false;
    const w = sched.spawn('waiter', (function* () {
      const ok = yield* wait_event(wq, () => unlocked, 'wait:page_lock');
      mark(`waiter:${ok}`);
    })());
    sched.spawn('unlocker', (function* () {
      yield* delay(250, 'hold');
      unlocked = true;
      wake_up_all(wq);
      mark('unlocker');
    })());
    sched.run();
    expect(log).toEqual(['unlocker@250', 'waiter:true@250']);
    expect(w.blockedNs).toBe(250);
    expect(w.state).toBe('done');
    expect(wq.waiters).toEqual([]);
  });

  it('wait_event_timeout returns false at the deadline when nobody wakes the waiter', () => {
    const { sched, log, mark } = world();
    const wq = new WaitQueueHead('lease_break');
    sched.spawn('w', (function* () {
      const ok = yield* wait_event(wq, () => false, 'wait:lease', { at: 10_000, clock: sched });
      mark(`w:${ok}`);
    })());
    sched.run();
    expect(log).toEqual(['w:false@10000']);
    expect(wq.waiters).toEqual([]);
  });

  it('a wake-up before the timeout wins, and the stale timeout entry never resumes the actor again', () => {
    const { sched, log, mark } = world();
    const wq = new WaitQueueHead('ack');
    let acked = false;
    sched.spawn('w', (function* () {
      const ok = yield* wait_event(wq, () => acked, 'wait:ack', { at: 10_000, clock: sched });
      mark(`w:${ok}`);
      yield* delay(20_000, 'after');
      mark('w-end');
    })());
    sched.spawn('dev', (function* () { yield* delay(300, 'd'); acked = true; wake_up_all(wq); })());
    sched.run();
    expect(log).toEqual(['w:true@300', 'w-end@20300']);
  });

  it('until stops the run before any later event', () => {
    const { sched, log, mark } = world({ until: 95 });
    sched.spawn('ticker', (function* () { for (;;) { mark('t'); yield* delay(10, 'tick'); } })());
    sched.run();
    expect(log.length).toBe(10);
    expect(log[9]).toBe('t@90');
    expect(sched.now).toBe(90);
  });

  it('a scenario actor blocked with nothing pending ends the run (it stays waiting)', () => {
    const { sched } = world({ livenessBound: 0 });
    const wq = new WaitQueueHead('never');
    const a = sched.spawn('stuck', (function* () { yield* wait_event(wq, () => false, 'wait:never'); })());
    sched.run();
    expect(a.state).toBe('waiting');
    expect(sched.waitingActors()).toEqual([a]);
    expect(sched.now).toBe(0);
  });

  it('background actors do not keep a blocked run alive beyond livenessBound', () => {
    const { sched, log, mark } = world({ livenessBound: 1_000 });
    const wq = new WaitQueueHead('never');
    const a = sched.spawn('stuck', (function* () { yield* wait_event(wq, () => false, 'wait:never'); })());
    sched.spawn('writeback', (function* () { for (;;) { mark('wb'); yield* delay(100, 'period'); } })(), { background: true });
    sched.run();
    expect(a.state).toBe('waiting');
    expect(log[log.length - 1]).toBe('wb@1000');
    expect(log.length).toBe(11);
  });

  it('background work within livenessBound may wake a blocked actor, which then finishes', () => {
    const { sched, log, mark } = world({ livenessBound: 1_000 });
    const wq = new WaitQueueHead('writeback_done');
    let done = false;
    sched.spawn('fsync', (function* () { yield* wait_event(wq, () => done, 'wait:wb'); mark('fsync'); })());
    sched.spawn('writeback', (function* () {
      for (;;) { yield* delay(400, 'period'); done = true; wake_up_all(wq); }
    })(), { background: true });
    sched.run();
    expect(log).toEqual(['fsync@400']);
    expect(sched.now).toBe(400);
  });

  it('background actors do not keep the run alive once every scenario actor has finished', () => {
    const { sched } = world({ livenessBound: 1_000_000 });
    sched.spawn('app', (function* () { yield* delay(10, 'd'); })());
    let ticks = 0;
    sched.spawn('reclaim', (function* () { for (;;) { ticks++; yield* delay(1, 'p'); } })(), { background: true });
    sched.run();
    expect(sched.now).toBe(10);
    expect(ticks).toBeLessThanOrEqual(11);
  });

  it('kill() ends a delayed actor where it stands, running its finally blocks, and it never runs again', () => {
    const { sched, log, mark } = world();
    let cleaned = false;
    const victim = sched.spawn('victim', (function* () {
      try { yield* delay(100, 'd'); mark('victim-ran'); } finally { cleaned = true; }
    })());
    sched.spawn('killer', (function* () { yield* delay(50, 'd'); sched.kill(victim); mark('killer'); })());
    sched.run();
    expect(log).toEqual(['killer@50']);
    expect(victim.killed).toBe(true);
    expect(victim.state).toBe('done');
    expect(cleaned).toBe(true);
    expect(sched.now).toBe(50);
  });

  it('kill() of a waiting actor removes it from the wait queue, so the run does not count it as blocked', () => {
    const { sched } = world();
    const wq = new WaitQueueHead('page_lock');
    const victim = sched.spawn('victim', (function* () { yield* wait_event(wq, () => false, 'wait'); })());
    sched.spawn('killer', (function* () { yield* delay(5, 'd'); sched.kill(victim); })());
    sched.run();
    expect(wq.waiters).toEqual([]);
    expect(victim.state).toBe('done');
    expect(sched.waitingActors()).toEqual([]);
  });

  it('an actor that kills itself (a process dying of a signal) stops at once', () => {
    const { sched, log, mark } = world();
    const me: { actor?: Actor } = {};
    const self = sched.spawn('self', (function* (): Co {
      mark('before');
      sched.kill(me.actor!);
      yield* delay(10, 'd');
      mark('after');
    })());
    me.actor = self;
    sched.run();
    expect(log).toEqual(['before@0']);
    expect(self.killed).toBe(true);
    expect(self.state).toBe('done');
  });
});

describe('Scheduler: an actor due alone keeps its queue entry while it runs', () => {
  it('a waiter it wakes at the same instant runs before its own next point (the earlier seq), as a choice point', () => {
    const { sched, log, mark } = world();
    const wq = new WaitQueueHead('completion');
    let done = false;
    sched.spawn('waiter', (function* () { yield* wait_event(wq, () => done, 'wait'); mark('waiter'); })());
    sched.spawn('waker', (function* () {
      yield* delay(10, 'd');
      done = true;
      wake_up_all(wq);
      yield* schedPoint('after-wake');
      mark('waker');
    })());
    sched.run();
    expect(log).toEqual(['waiter@10', 'waker@10']);
    expect(sched.recorded).toEqual([0, 0]); // both ready at 0, then the waiter and the point at 10
  });

  it('an actor spawned during the step at the same instant runs after the stepping actor\'s earlier entries', () => {
    const { sched, log, mark } = world();
    sched.spawn('parent', (function* () {
      yield* delay(5, 'd');
      sched.spawn('child', (function* () { mark('child'); })());
      mark('parent');
      yield* delay(1, 'd2');
      mark('parent');
    })());
    sched.run();
    expect(log).toEqual(['parent@5', 'child@5', 'parent@6']);
  });

  it('an actor that kills itself, finishes or sleeps leaves no entry behind: later actors still run, once each', () => {
    const { sched, log, mark } = world();
    const wq = new WaitQueueHead('never');
    const me: { actor?: Actor } = {};
    me.actor = sched.spawn('self', (function* (): Co { mark('self'); sched.kill(me.actor!); yield* delay(1, 'd'); mark('self-after'); })());
    const sleeper = sched.spawn('sleeper', (function* () { yield* delay(10, 'd'); mark('sleeper'); yield* wait_event(wq, () => false, 'w'); mark('sleeper-woke'); })());
    sched.spawn('late', (function* () { yield* delay(100, 'd'); mark('late'); })());
    sched.run();
    expect(log).toEqual(['self@0', 'sleeper@10', 'late@100']);
    expect(sleeper.state).toBe('waiting');
    expect(sched.steps).toBe(5); // self 1, sleeper 2, late 2
  });

  it('a step that throws leaves the queue sound: run() again runs every other actor, once each', () => {
    const { sched, log, mark } = world();
    sched.spawn('thrower', (function* () { yield* delay(10, 'd'); throw new Error('kernel BUG'); })());
    for (const n of ['B', 'C']) sched.spawn(n, (function* () { yield* delay(20, 'd'); mark(n); yield* delay(5, 'd'); mark(n); })());
    expect(() => sched.run()).toThrow('kernel BUG');
    sched.run();
    expect(log).toEqual(['B@20', 'C@20', 'B@25', 'C@25']);
  });
});
