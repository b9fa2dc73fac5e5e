/**
 * The result of a run (docs/manual.md: the result format): what `runScenario` returns and `pinsim run --json` prints.
 */
import type { ViolationReport } from '../../invariants/checker.js';

/** A violation as a run reports it: a checker's report. */
export type Violation = ViolationReport;

export interface OpTiming {
  start: number;
  end: number;
  blockedNs: number;
  lateNs: number;
  [counter: string]: number;
}

/** error > expectation-failed > violations > pass; skip when the policy does not apply. */
export type Outcome = 'error' | 'expectation-failed' | 'violations' | 'pass' | 'skip';

export interface RunResult {
  scenario: string;
  policy: string;
  seed: number;
  outcome: Outcome;
  violations: Violation[];
  results: Record<string, string>;
  observed: Record<string, string>;
  ops: Record<string, OpTiming>;
  expectations: { met: boolean; failures: string[] };
  stats: { events: number; simTimeNs: number; faults: number; invalidations: number; pins: number; choicePoints: number };
  traceHash: string;
  /** The choices made at every choice point: with seed and policy, the replay. */
  choices: number[];
  /** An exploration strategy cut this execution short. */
  pruned?: boolean;
  /** Why the policy does not apply (outcome `skip`). */
  skipped?: string;
  /** pinsim's own failure (outcome `error`). */
  error?: string;
  /** Remarks that are not results (fallbacks, deprecated knobs, late starts, a replay that did not fit the run, a path kernel.until cut); not part of traceHash. */
  notes?: string[];
}
