/**
 * The scheduler: a SimPy-style loop over the event queue, with DESIGN §3's candidates and
 * recorded choices. Candidates are the enabled events with time ≤ t_min + window (window 0 under
 * `run`/`check`: only exact ties). Every pick among two or more candidates is a choice; the default
 * picks the earliest (time, seq), a replay picks what was recorded, a strategy picks what it likes.
 */
import { Actor, type Co, type Yield } from './actor.js';
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
  /** DESIGN §3's W in ns (0 under run/check). */
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
  private readonly choices: readonly number[] | null;
  private readonly jitterMax: number;

  constructor(opts: SchedulerOptions = {}) {
    this.opts = opts;
    this.window = opts.window ?? 0;
    this.until = opts.until ?? Infinity;
    this.hasChooser = opts.chooser !== undefined;
    this.choices = opts.choices ?? null;
    this.jitterMax = opts.jitter && opts.jitter.max > 0 ? opts.jitter.max : 0;
  }

  /** spawn() - start @gen as actor @name at @at (default now). */
  spawn(name: string, gen: Co<unknown>, o: { background?: boolean; at?: number } = {}): Actor {
    const a = new Actor(this.actors.length, name, gen, o.background ?? false);
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

  /** run() - step until the end-of-run rule of DESIGN §3 says stop. */
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
          if (this.queue.peekTime() > this.now + Math.max(this.opts.livenessBound ?? 0, DRAIN_GAP_MIN)) break;
          if (!this.step()) break;
          continue;
        }
        // Every scenario actor is blocked: background work may still wake one, for a bounded time.
        if (stallStart < 0) stallStart = this.now;
        if (this.queue.peekTime() > stallStart + (this.opts.livenessBound ?? 0)) break;
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
    let chosen: Actor;
    let chosenTime = tmin;
    const first = this.actors[q.pop()] as Actor;
    const limit = tmin + this.window;
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
      const actors: Actor[] = [first];
      while (q.validTop(pending) <= limit) {
        const t = q.peekTime();
        const a = this.actors[q.pop()] as Actor;
        cands.push(this.candidate(a, t));
        actors.push(a);
      }
      const idx = this.choose(cands);
      if (idx < 0) {
        // The strategy prunes this execution here: nothing more runs.
        for (let i = 0; i < actors.length; i++) q.push((cands[i] as Candidate).time, (cands[i] as Candidate).seq, (actors[i] as Actor).id);
        this.stopped = true;
        this.pruned = true;
        return false;
      }
      chosen = actors[idx] as Actor;
      chosenTime = (cands[idx] as Candidate).time;
      for (let i = 0; i < actors.length; i++) {
        if (i !== idx) q.push((cands[i] as Candidate).time, (cands[i] as Candidate).seq, (actors[i] as Actor).id);
      }
    }
    this.setPending(chosen, -1);
    if (!chosen.background) this.fgPending--;
    if (chosenTime > this.now) this.now = chosenTime;
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
    return true;
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
    let idx: number;
    if (this.opts.chooser) {
      const p: ChoicePoint = this.opts.fingerprint ? { index, now: this.now, candidates: cands, fingerprint: this.opts.fingerprint } : { index, now: this.now, candidates: cands };
      idx = this.opts.chooser(p);
    }
    else idx = this.opts.choices?.[index] ?? 0;
    if (idx === -1 && this.opts.chooser) return -1;
    if (!Number.isInteger(idx) || idx < 0 || idx >= cands.length) {
      if (!this.opts.chooser) this.badChoice ??= { index, choice: idx, candidates: cands.length };
      idx = 0;
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

  private resume(a: Actor, value: boolean): void {
    this.current = a;
    this.steps++;
    a.stepsTaken++;
    const collect = this.opts.afterStep !== undefined;
    if (collect) this.footprint = new Set();
    let r: IteratorResult<Yield, unknown>;
    try {
      r = a.gen.next(value);
    } finally {
      this.current = null;
    }
    if (collect && this.footprint) {
      const fp = this.footprint;
      this.footprint = null;
      if (!r.done && r.value.kind === 'wait') fp.add(`wq:${r.value.wq.name}`);
      this.opts.afterStep?.(a, fp);
    }
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
        this.enqueue(a, this.now + ns);
        break;
      }
      case 'point':
        this.enqueue(a, this.now);
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
    if (timeout !== undefined) {
      // The timeout is a queue entry of the actor's own; a wake-up before it makes it stale.
      const seq = this.seq++;
      this.setPending(a, seq);
      a.pendingTime = this.now + timeout;
      if (!a.background) this.fgPending++;
      this.queue.push(this.now + timeout, seq, a.id);
    }
  }
}
