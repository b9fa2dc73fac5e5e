/**
 * random: a seeded random walk over the candidates at every choice point. Execution i draws from
 * its own PRNG stream (seed, "explore:i"), so a shard i/n runs exactly the executions ≡ i mod n and
 * the union of shards is the unsharded run.
 */
import { Prng } from '../engine/prng.js';
import type { ChoicePoint } from '../engine/scheduler.js';
import type { Shard, Strategy, StrategyStats } from './strategy.js';

export function randomStrategy(seed: number, runs: number, shard: Shard = { index: 0, count: 1 }): Strategy {
  let i = shard.index - shard.count;
  let prng = new Prng(seed, 'explore:0');
  const stats: StrategyStats = { pruned: 0, states: 0 };
  return {
    name: 'random',
    get exhaustive() {
      return false;
    },
    stats,
    newExecution() {
      i += shard.count;
      if (i >= runs) return false;
      prng = new Prng(seed, `explore:${i}`);
      return true;
    },
    choose(p: ChoicePoint) {
      return prng.nextInt(p.candidates.length);
    },
    endExecution() {},
  };
}
