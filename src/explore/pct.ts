/**
 * pct: probabilistic concurrency testing (Burckhardt et al., ASPLOS'10) with depth d. Every actor
 * gets a random initial priority; d−1 change points are drawn among the first `horizon` choice
 * points; at each choice point the highest-priority candidate runs, and at the j-th change point
 * the actor just chosen drops to priority j (below every initial one). A bug of depth d is found
 * with probability ≥ 1/(n·k^(d−1)) per execution.
 */
import { Prng } from '../engine/prng.js';
import type { ChoicePoint } from '../engine/scheduler.js';
import type { Shard, Strategy, StrategyStats } from './strategy.js';

export function pctStrategy(seed: number, runs: number, depth: number, shard: Shard = { index: 0, count: 1 }): Strategy {
  let i = shard.index - shard.count;
  let prng = new Prng(seed, 'pct:0');
  let prio = new Map<number, number>();
  let changes = new Map<number, number>();
  let horizon = 64;
  const stats: StrategyStats = { pruned: 0, states: 0 };
  return {
    name: 'pct',
    get exhaustive() {
      return false;
    },
    stats,
    newExecution() {
      i += shard.count;
      if (i >= runs) return false;
      prng = new Prng(seed, `pct:${i}`);
      prio = new Map();
      changes = new Map();
      for (let j = 1; j < depth; j++) changes.set(prng.nextInt(horizon), j);
      return true;
    },
    choose(p: ChoicePoint) {
      let best = 0, bestPrio = -Infinity;
      p.candidates.forEach((c, idx) => {
        let pr = prio.get(c.actorId);
        if (pr === undefined) prio.set(c.actorId, (pr = depth + prng.nextFloat()));
        if (pr > bestPrio) { bestPrio = pr; best = idx; }
      });
      const j = changes.get(p.index);
      if (j !== undefined) prio.set((p.candidates[best] as { actorId: number }).actorId, j - 1 + prng.nextFloat() * 0.5);
      return best;
    },
    endExecution(r) {
      // Learn the horizon: change points are drawn among the choice points executions really have.
      horizon = Math.max(8, r.stats.choicePoints);
    },
  };
}
