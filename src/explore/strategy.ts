/**
 * The exploration strategy contract (shuttle's Scheduler): a strategy starts executions, picks at
 * every choice point, and hears what each step touched and how each execution ended. One file each:
 * random.ts, pct.ts, dfs.ts.
 */
import type { ChoicePoint } from '../engine/scheduler.js';
import type { RunResult } from '../scenario/run/result.js';

export interface StrategyStats {
  /** executions cut short (sleep sets or the state cache) */
  pruned: number;
  /** distinct state fingerprints seen (DFS with the state cache) */
  states: number;
}

export interface Strategy {
  readonly name: string;
  /** Start the next execution. Return: false when there is nothing left to explore. */
  newExecution(): boolean;
  /** The candidate to run at @p, or -1 to cut the execution short. */
  choose(p: ChoicePoint): number;
  /** What the step just taken touched (for partial-order reduction). */
  afterStep?(actor: string, footprint: ReadonlySet<string>): void;
  /** The execution ended with @r. */
  endExecution(r: RunResult): void;
  /** Whether the whole space (within the bounds) has been covered. */
  readonly exhaustive: boolean;
  readonly stats: StrategyStats;
}

/** Which shard of a run set this process explores (`--shard i/n`). */
export interface Shard {
  index: number;
  count: number;
}
