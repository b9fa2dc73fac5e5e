/**
 * dfs: bounded exhaustive search over the choices, by stateless replay (each execution replays the
 * prefix of choices that leads to the node being expanded). Two reductions, both optional:
 *
 * - Sleep sets (Godefroid) with MM-aware independence: two transitions commute when their
 *   footprints — the frames, address spaces, files, devices and wait queues their steps touched —
 *   are disjoint. After exploring actor a at a node, a sleeps while the search explores a sibling b
 *   independent of it, so both orders of independent steps are never explored.
 * - A state cache: a state (its fingerprint) reached again with a sleep set that is no smaller than
 *   at its first visit has nothing new below it, and the execution is cut there. The fingerprint
 *   is kept incrementally by the machine (see mm/fingerprint.ts): asking for it costs what changed
 *   since the last choice point, not the size of the machine.
 *
 * The preemption bound limits the number of non-default choices along an execution.
 */
import type { ChoicePoint } from '../engine/scheduler.js';
import type { RunResult } from '../scenario/run/result.js';
import type { Shard, Strategy, StrategyStats } from './strategy.js';

interface Node {
  /** actor ids of the candidates, in candidate order */
  cands: number[];
  /** candidate indexes explored from this node */
  explored: Set<number>;
  /** actors asleep here, with the footprint of their transition */
  sleep: Map<number, ReadonlySet<string>>;
  /** the footprint of the transition taken from here by each explored actor */
  fp: Map<number, ReadonlySet<string>>;
  /** the candidate index chosen in the current execution */
  chosen: number;
  /** non-default choices on the path up to and including this node */
  preemptions: number;
}

export interface DfsOptions {
  preemptionBound?: number;
  /** partial-order reduction by sleep sets (default on) */
  por?: boolean;
  /** the state cache (default on) */
  stateCache?: boolean;
  shard?: Shard;
}

function independent(a: ReadonlySet<string> | undefined, b: ReadonlySet<string> | undefined): boolean {
  if (!a || !b) return false;
  for (const k of a) if (b.has(k)) return false;
  return true;
}

/**
 * A node for a new choice point @p below @parent: what sleeps here is what slept (or was explored)
 * at the parent and commutes with the transition just taken (@taken, its footprint).
 */
function newNode(p: ChoicePoint, parent: Node | undefined, taken: ReadonlySet<string>, por: boolean): Node {
  const n: Node = { cands: p.candidates.map((c) => c.actorId), explored: new Set(), sleep: new Map(), fp: new Map(), chosen: -1, preemptions: 0 };
  if (por && parent) {
    const takenActor = parent.cands[parent.chosen] as number;
    for (const [a, fp] of parent.sleep) if (a !== takenActor && independent(fp, taken)) n.sleep.set(a, fp);
    for (const idx of parent.explored) {
      const a = parent.cands[idx] as number;
      if (idx !== parent.chosen && independent(parent.fp.get(a), taken)) n.sleep.set(a, parent.fp.get(a)!);
    }
  }
  return n;
}

/**
 * The state cache's verdict on reaching state @f with @n's sleep set: true (prune) when an earlier
 * visit explored everything this one would (its sleep set ⊆ ours); else the visit is recorded.
 */
function cachedState(visited: Map<number, Set<number>[]>, f: number, n: Node, stats: StrategyStats): boolean {
  const sleepIds = new Set(n.sleep.keys());
  const seen = visited.get(f);
  if (seen && seen.some((s) => [...s].every((a) => sleepIds.has(a)))) {
    stats.pruned++;
    return true;
  }
  if (!seen) stats.states++;
  visited.set(f, [...(seen ?? []), sleepIds]);
  return false;
}

/** Take candidate @idx at @n, whose parent path made @pre non-default choices. */
function takeAt(n: Node, idx: number, pre: number): void {
  n.chosen = idx;
  n.explored.add(idx);
  n.preemptions = pre + (idx === 0 ? 0 : 1);
}

export function dfsStrategy(o: DfsOptions = {}): Strategy {
  const bound = o.preemptionBound ?? Infinity;
  const por = o.por ?? true;
  const cache = o.stateCache ?? true;
  const shard = o.shard ?? { index: 0, count: 1 };
  let path: Node[] = [];
  let depth = 0;
  let started = false;
  let done = false;
  let boundHit = false;
  /** the current execution only probes a foreign root candidate's first transition */
  let probing = false;
  /** the footprint accumulated since the last choice point */
  let trans = new Set<string>();
  /** fingerprint → the sleep sets it was visited with */
  const visited = new Map<number, Set<number>[]>();
  const stats: StrategyStats = { pruned: 0, states: 0 };

  function allowed(n: Node, idx: number, parentPre: number): boolean {
    if (n.explored.has(idx) || n.sleep.has(n.cands[idx] as number)) return false;
    return parentPre + (idx === 0 ? 0 : 1) <= bound;
  }

  /**
   * The next candidate to take at @n. At the root a shard owns the candidates ≡ its index; it still
   * *probes* another shard's candidate that precedes one of its own (runs it to the next choice
   * point, uncounted) to learn its footprint, so that its sleep sets — and execution counts — are
   * those of the unsharded search.
   */
  function pick(n: Node, root: boolean, pre: number): { idx: number; probe: boolean } | null {
    for (let i = 0; i < n.cands.length; i++) {
      if (!allowed(n, i, pre)) {
        if (!n.explored.has(i) && !n.sleep.has(n.cands[i] as number)) boundHit = true;
        continue;
      }
      const own = !root || i % shard.count === shard.index;
      if (own) return { idx: i, probe: false };
      const laterOwn = n.cands.some((_c, j) => j > i && j % shard.count === shard.index && allowed(n, j, pre));
      if (laterOwn && por) return { idx: i, probe: true };
    }
    return null;
  }

  /** Backtrack to the deepest node with an alternative left; false when none is left. */
  function backtrack(): boolean {
    while (path.length) {
      const n = path[path.length - 1] as Node;
      const pre = path.length > 1 ? (path[path.length - 2] as Node).preemptions : 0;
      if (n.chosen >= 0 && por) n.sleep.set(n.cands[n.chosen] as number, n.fp.get(n.cands[n.chosen] as number) ?? new Set(['*']));
      const next = pick(n, path.length === 1, pre);
      if (next) {
        takeAt(n, next.idx, pre);
        probing = next.probe;
        return true;
      }
      path.pop();
    }
    return false;
  }

  return {
    name: 'dfs',
    get exhaustive() {
      return done && !boundHit;
    },
    stats,
    // Footprints feed the sleep sets only: without partial-order reduction nobody collects them.
    ...(por ? { afterStep(_actor: string, fp: ReadonlySet<string>) { for (const k of fp) trans.add(k); } } : {}),
    newExecution() {
      if (done) return false;
      if (started && !backtrack()) {
        done = true;
        return false;
      }
      started = true;
      depth = 0;
      trans = new Set();
      return true;
    },
    choose(p: ChoicePoint) {
      const i = depth++;
      if (i > 0) (path[i - 1] as Node).fp.set((path[i - 1] as Node).cands[(path[i - 1] as Node).chosen] as number, trans);
      const taken = trans;
      trans = new Set();
      if (probing && i === 1) {
        // The probe has learnt its footprint: stop here, uncounted.
        probing = false;
        return -1;
      }
      if (i < path.length) return (path[i] as Node).chosen; // replaying the prefix
      const parent = path[i - 1];
      const n = newNode(p, parent, taken, por);
      if (cache && p.fingerprint && cachedState(visited, p.fingerprint(), n, stats)) return -1;
      path.push(n);
      const pre = parent ? parent.preemptions : 0;
      const next = pick(n, i === 0, pre);
      if (next) {
        takeAt(n, next.idx, pre);
        probing = next.probe;
        return next.idx;
      }
      // Every candidate sleeps (or is out of bounds): this execution adds nothing.
      path.pop();
      stats.pruned++;
      return -1;
    },
    endExecution(r: RunResult) {
      probing = false;
      const last = path[depth - 1];
      if (last && depth === path.length && last.chosen >= 0) last.fp.set(last.cands[last.chosen] as number, trans);
      // Nodes below the point where this execution stopped are not on the path.
      if (r.pruned) path.length = Math.min(path.length, depth);
    },
  };
}
