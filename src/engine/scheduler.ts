/**
 * The scheduler: a SimPy-style loop over the event queue, with the candidates of the race window and
 * recorded choices. Candidates are the enabled events with time ≤ t_min + window (window 0 under
 * `run`/`check`: only exact ties). Every pick among two or more candidates is a choice; the default
 * picks the earliest (time, seq), a replay picks what was recorded, a strategy picks what it likes.
 */
import { Actor, type Co, type Yield } from './actor.js';
import { PINSIM_BUG } from './bug.js';
import { IdQueue } from './queue.js';
import type { Prng } from './prng.js';
import type { WaitQueueHead, Waker } from './waitqueue.js';

/** One candidate at a choice point, as a strategy sees it. */
export interface Candidate {
  actor: string;
  actorId: number;
  site: string;
  time: number;
  seq: number;
}

/** A choice point: the index-th pick among two or more candidates, sorted by (time, seq). */
export interface ChoicePoint {
  index: number;
  now: number;
  candidates: readonly Candidate[];
  /** A 53-bit fingerprint of the state here, when the run provides one (state caching). */
  fingerprint?: () => number;
}

export interface SchedulerOptions {
  /** The race window W in ns (0 under run/check). */
  window?: number;
  /** Recorded choices to replay; past their end the default (0) is taken. */
  choices?: readonly number[];
  /** A strategy's pick; wins over `choices`. An index into `candidates`, or -1 to end the execution (pruned). */
  chooser?: (p: ChoicePoint) => number;
  /** Stop before any event later than this. */
  until?: number;
  /** How long background work may run once every scenario actor is blocked. */
  livenessBound?: number;
  /** Timing jitter: each delay gets up to `max` ns more, drawn from `prng`. */
  jitter?: { max: number; prng: Prng };
  /**
   * Called after every step with the actor and the resources the step touched (wait queues it
   * waited on or woke, and whatever `touch()` recorded): what partial-order reduction compares.
   */
  afterStep?: (a: Actor, footprint: ReadonlySet<string>) => void;
  /** Computes the state fingerprint offered at choice points. */
  fingerprint?: () => number;
}

/** The shortest gap between two steps of a background pass that counts as stuck at the end of a run: 1 s. */
const DRAIN_GAP_MIN = 1_000_000_000;

export class Scheduler implements Waker {
  now = 0;
  private seq = 0;
  private readonly queue = new IdQueue();
  /** Each actor's one valid queue seq, by actor id (-1 for none): Actor.pendingSeq, for the heap. */
  private pending = new Float64Array(8);
  readonly actors: Actor[] = [];
  /** The actors of the execution before a reset(), spawned on again by id (not part of the state). */
  private readonly spareActors: Actor[] = [];
  /** The actor being stepped (null between steps). */
  current: Actor | null = null;
  /** The index picked at every choice point, in order. */
  readonly recorded: number[] = [];
  /** Number of steps taken (actor resumptions). */
  steps = 0;
  /** The resources the current step touched (only collected when afterStep is set). */
  private footprint: Set<string> | null = null;
  private fgPending = 0;
  private fgWaiting = 0;
  private readonly window: number;
  private stopped = false;
  /** The chooser cut the execution short (a strategy pruned it). */
  pruned = false;
  /** `until` ended the run with work still due after it: whatever was in progress was cut. */
  cut = false;
  /** The first replayed choice that named no candidate (the default was taken instead). */
  badChoice: { index: number; choice: number; candidates: number } | null = null;

  private readonly opts: SchedulerOptions;
  // The options the hot path reads, loaded once.
  private readonly until: number;
  private readonly hasChooser: boolean;
  /** The recorded choices this execution replays (reset() sets the next execution's). */
  private choices: readonly number[] | null;
  private readonly jitterMax: number;
  /** afterStep is set: collect each step's footprint. */
  private readonly collect: boolean;
  /** The stepping actor's old entry is still at the top of the queue (see step()). */
  private held = false;

  constructor(opts: SchedulerOptions = {}) {
    this.opts = opts;
    this.window = opts.window ?? 0;
    this.until = opts.until ?? Infinity;
    this.hasChooser = opts.chooser !== undefined;
    this.choices = opts.choices ?? null;
    this.jitterMax = opts.jitter && opts.jitter.max > 0 ? opts.jitter.max : 0;
    this.collect = opts.afterStep !== undefined;
  }

  /**
   * reset() - the scheduler as new for the next execution of a reused machine, replaying @choices
   * (the options stay; a jitter stream is the caller's to reseed): no actor, an empty queue, time
   * 0, nothing recorded. Arrays are emptied and typed ones zeroed up to the room they grew to.
   */
  reset(choices: readonly number[] | null = null): void {
    this.choices = choices;
    this.now = 0;
    this.seq = 0;
    this.queue.reset();
    this.pending.fill(0, 0, Math.min(this.actors.length, this.pending.length));
    this.spareActors.length = 0;
    for (const a of this.actors) this.spareActors.push(a);
    this.actors.length = 0;
    this.current = null;
    this.recorded.length = 0;
    this.steps = 0;
    this.footprint = null;
    this.fgPending = 0;
    this.fgWaiting = 0;
    this.stopped = false;
    this.pruned = false;
    this.cut = false;
    this.badChoice = null;
    this.draining = false;
    this.held = false;
  }

  /** spawn() - start @gen as actor @name at @at (default now). */
  spawn(name: string, gen: Co<unknown>, o: { background?: boolean; at?: number } = {}): Actor {
    const id = this.actors.length;
    const a = this.spareActors[id]?.reuse(name, gen, o.background ?? false) ?? new Actor(id, name, gen, o.background ?? false);
    this.actors.push(a);
    if (a.id >= this.pending.length) {
      const p = new Float64Array(this.pending.length * 2);
      p.set(this.pending);
      this.pending = p;
    }
    this.pending[a.id] = -1;
    this.enqueue(a, Math.max(o.at ?? this.now, this.now));
    return a;
  }

  /** touch() - record that the current step used resource @key (for partial-order reduction). */
  touch(key: string): void {
    this.footprint?.add(key);
  }

  /** Make a waiting actor runnable now (Waker). */
  wakeActor(a: Actor): void {
    if (a.state !== 'waiting') return;
    a.state = 'runnable';
    a.blockedNs += this.now - a.waitStart;
    if (!a.background) this.fgWaiting--;
    this.enqueue(a, this.now);
  }

  /** kill() - end @a where it stands (a process dying of a signal); it runs no further. */
  kill(a: Actor): void {
    if (a.state === 'done') return;
    if (a.pendingSeq >= 0) {
      this.setPending(a, -1);
      if (!a.background) this.fgPending--;
    }
    if (a.state === 'waiting') {
      if (!a.background) this.fgWaiting--;
      const wq = a.waitingOn;
      if (wq) {
        const i = wq.waiters.indexOf(a);
        if (i >= 0) wq.waiters.splice(i, 1);
      }
      a.waitingOn = null;
    }
    a.state = 'done';
    a.killed = true;
    if (a !== this.current) a.gen.return(undefined);
  }

  /** True once every scenario actor has finished and background work is finishing its passes. */
  draining = false;

  /** stop() - end the run after the current step. */
  stop(): void {
    this.stopped = true;
  }

  /** run() - step until the end-of-run rule says stop (every actor finished or stuck, or kernel.until). */
  run(): void {
    let stallStart = -1;
    while (!this.stopped) {
      if (this.fgPending === 0) {
        if (this.fgWaiting === 0) {
          // Every scenario actor has finished. Background work stops between passes, never inside a
          // kernel path: a pass already begun runs to its end (no new one starts). A pass whose next
          // step is further away than the liveness bound, and at least a second, is stuck: the run
          // ends there. (Not the bound alone: a scenario may set it below one step's latency.)
          if (!this.actors.some((a) => a.background && a.busy && a.state !== 'done')) break;
          this.draining = true;
          if (this.queue.validTop(this.pending) > this.now + Math.max(this.opts.livenessBound ?? 0, DRAIN_GAP_MIN)) break;
          if (!this.step()) break;
          continue;
        }
        // Every scenario actor is blocked: background work may still wake one, for a bounded time.
        if (stallStart < 0) stallStart = this.now;
        // The next entry that is due: a stale one (an actor woken before its timeout, or killed)
        // is not, and whether one is still queued depends on how earlier steps were picked (a
        // strategy's pick drops the stale entries it meets, a replayed default pick does not).
        if (this.queue.validTop(this.pending) > stallStart + (this.opts.livenessBound ?? 0)) break;
      } else stallStart = -1;
      if (!this.step()) break;
    }
  }

  /** step() - resume one actor. Return: false when nothing is left to run before `until`. */
  step(): boolean {
    const q = this.queue;
    const pending = this.pending;
    // Drop stale entries (an actor woken before its timeout fired, or killed).
    const tmin = q.validTop(pending);
    if (tmin === Infinity) return false;
    if (tmin > this.until) {
      this.cut = true;
      return false;
    }
    const limit = tmin + this.window;
    if (q.nextTime() > limit) {
      // No other entry, stale or not, is due within the window: the top runs alone. Its entry stays
      // at the top while it runs (whatever the step pushes is due no earlier, with a later seq),
      // so that the actor's next entry replaces it in one pass down the heap (refile()).
      this.held = true;
      this.begin(this.actors[q.topId()] as Actor, tmin);
      if (this.held) {
        this.held = false;
        q.pop();
      }
      return true;
    }
    return this.stepAmong(tmin, limit);
  }

  /**
   * The step when other entries are due within the window of the top's @tmin (up to @limit): drop
   * the stale ones, and take the default or ask for a choice among the candidates.
   */
  private stepAmong(tmin: number, limit: number): boolean {
    const q = this.queue;
    const pending = this.pending;
    // Nothing is held here (a step that threw may have left the flag set; its entry is stale now).
    this.held = false;
    let chosen: Actor;
    let chosenTime = tmin;
    const first = this.actors[q.pop()] as Actor;
    if (q.validTop(pending) > limit) {
      chosen = first;
    } else if (this.window === 0 && !this.hasChooser && (this.choices === null || (this.choices[this.recorded.length] ?? 0) === 0)) {
      // An exact tie where the default (index 0, the earliest (time, seq)) is taken: what choose()
      // would record, without popping and re-pushing the other candidates (which run at this same
      // instant either way, so the queue's earliest time is the same after the step).
      this.recorded.push(0);
      chosen = first;
    } else {
      const cands: Candidate[] = [this.candidate(first, tmin)];
      while (q.validTop(pending) <= limit) {
        const t = q.peekTime();
        cands.push(this.candidate(this.actors[q.pop()] as Actor, t));
      }
      const idx = this.choose(cands);
      if (idx < 0) {
        // The strategy prunes this execution here: nothing more runs.
        for (const c of cands) q.push(c.time, c.seq, c.actorId);
        this.stopped = true;
        this.pruned = true;
        return false;
      }
      const c = cands[idx] as Candidate;
      chosen = this.actors[c.actorId] as Actor;
      chosenTime = c.time;
      for (let i = 0; i < cands.length; i++) {
        const o = cands[i] as Candidate;
        if (i !== idx) q.push(o.time, o.seq, o.actorId);
      }
    }
    this.begin(chosen, chosenTime);
    return true;
  }

  /** Run @chosen, whose queue entry (due at @time) is no longer pending, for one step. */
  private begin(chosen: Actor, time: number): void {
    this.setPending(chosen, -1);
    if (!chosen.background) this.fgPending--;
    if (time > this.now) this.now = time;
    let woken = true;
    if (chosen.state === 'waiting') {
      // Its wait's timeout fired before any wake-up.
      const wq = chosen.waitingOn;
      if (wq) {
        const i = wq.waiters.indexOf(chosen);
        if (i >= 0) wq.waiters.splice(i, 1);
      }
      chosen.waitingOn = null;
      chosen.state = 'runnable';
      chosen.blockedNs += this.now - chosen.waitStart;
      if (!chosen.background) this.fgWaiting--;
      woken = false;
    }
    this.resume(chosen, woken);
  }

  /**
   * Every actor's position: state, site, steps taken, the wait queue it sleeps on, and when its
   * pending entry is due relative to now (for state fingerprints).
   */
  fingerprintActors(h: { add(v: number): unknown; addString(s: string): unknown }): void {
    for (const a of this.actors) {
      h.add(a.id);
      h.add(a.state === 'done' ? 0 : a.state === 'waiting' ? 1 : 2);
      if (a.state === 'done') continue;
      h.addString(a.site);
      h.add(a.stepsTaken);
      h.addString(a.waitingOn?.name ?? '');
      h.add(a.pendingSeq >= 0 ? a.pendingTime - this.now : -1);
    }
  }

  /** Number of actors that are blocked on a wait queue. */
  waitingActors(): Actor[] {
    return this.actors.filter((a) => a.state === 'waiting');
  }

  private candidate(a: Actor, time: number): Candidate {
    return { actor: a.name, actorId: a.id, site: a.site, time, seq: a.pendingSeq };
  }

  private choose(cands: Candidate[]): number {
    const index = this.recorded.length;
    const inRange = (i: number) => Number.isInteger(i) && i >= 0 && i < cands.length;
    let idx: number;
    if (this.opts.chooser) {
      const p: ChoicePoint = this.opts.fingerprint ? { index, now: this.now, candidates: cands, fingerprint: this.opts.fingerprint } : { index, now: this.now, candidates: cands };
      idx = this.opts.chooser(p);
      if (idx === -1) return -1;
      // A strategy is pinsim's own code: a pick outside the candidates is its bug, not a default.
      if (!inRange(idx)) PINSIM_BUG(`choice point ${index}: the strategy picked ${idx} among ${cands.length} candidates`);
    } else {
      idx = this.choices?.[index] ?? 0;
      // Recorded choices are input: one out of range (a replay of an edited scenario, a shrinking
      // candidate that dropped an op) takes the default pick, as a choice past their end does.
      if (!inRange(idx)) {
        this.badChoice ??= { index, choice: idx, candidates: cands.length };
        idx = 0;
      }
    }
    this.recorded.push(idx);
    return idx;
  }

  private setPending(a: Actor, seq: number): void {
    a.pendingSeq = seq;
    this.pending[a.id] = seq;
  }

  private enqueue(a: Actor, time: number): void {
    if (a.pendingSeq >= 0) {
      if (!a.background) this.fgPending--;
    }
    const seq = this.seq++;
    this.setPending(a, seq);
    a.pendingTime = time;
    if (!a.background) this.fgPending++;
    this.queue.push(time, seq, a.id);
  }

  /**
   * refile() - the stepping actor's next entry, due at @time. When the actor ran alone from the top
   * (step()), its old entry is still there and this one replaces it.
   * Context: after the actor's step; it has no pending entry (begin() cleared it).
   */
  private refile(a: Actor, time: number): void {
    const seq = this.seq++;
    this.setPending(a, seq);
    a.pendingTime = time;
    if (!a.background) this.fgPending++;
    if (this.held) {
      this.held = false;
      this.queue.replaceTop(time, seq, a.id);
    } else this.queue.push(time, seq, a.id);
  }

  private resume(a: Actor, value: boolean): void {
    this.current = a;
    this.steps++;
    a.stepsTaken++;
    if (this.collect) return this.resumeCollecting(a, value);
    let r: IteratorResult<Yield, unknown>;
    try {
      r = a.next(value);
    } finally {
      this.current = null;
    }
    this.after(a, r);
  }

  /** resume() for partial-order reduction: the step's footprint goes to afterStep. */
  private resumeCollecting(a: Actor, value: boolean): void {
    const fp = new Set<string>();
    this.footprint = fp;
    let r: IteratorResult<Yield, unknown>;
    try {
      r = a.next(value);
    } finally {
      this.current = null;
      this.footprint = null;
    }
    if (!r.done && r.value.kind === 'wait') fp.add(r.value.wq.key);
    this.opts.afterStep?.(a, fp);
    this.after(a, r);
  }

  /** What the actor's step ended with: it finished, or it files its next entry or sleeps. */
  private after(a: Actor, r: IteratorResult<Yield, unknown>): void {
    if (a.killed) return;
    if (r.done) {
      a.state = 'done';
      a.result = r.value;
      return;
    }
    const y = r.value;
    a.site = y.site;
    switch (y.kind) {
      case 'delay': {
        let ns = y.ns;
        if (this.jitterMax > 0) ns += this.opts.jitter!.prng.nextInt(this.jitterMax + 1);
        this.refile(a, this.now + ns);
        break;
      }
      case 'point':
        this.refile(a, this.now);
        break;
      case 'wait':
        this.park(a, y.wq, y.timeout);
        break;
    }
  }

  private park(a: Actor, wq: WaitQueueHead, timeout: number | undefined): void {
    a.state = 'waiting';
    a.waitingOn = wq;
    a.waitStart = this.now;
    wq.waker = this;
    wq.waiters.push(a);
    if (!a.background) this.fgWaiting++;
    // The timeout is a queue entry of the actor's own; a wake-up before it makes it stale.
    if (timeout !== undefined) this.refile(a, this.now + timeout);
  }
}
