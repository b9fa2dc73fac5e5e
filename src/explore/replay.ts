/**
 * Replay files: a scenario (as written) with `replay: { seed, policy, window, jitter, choices,
 * traceHash, pinsimVersion }` attached — the whole of a schedule. `pinsim replay`
 * re-runs it and compares the trace hash.
 */
import type { MmTraceEvent } from '../mm/trace_events.js';
import type { RunResult } from '../scenario/run/result.js';
import { runValidated } from '../scenario/run/run.js';
import { validateOrThrow } from '../scenario/format/validate.js';
import type { Registry } from '../scenario/registry.js';
import type { Scenario } from '../scenario/format/types.js';

export interface ReplayRecord {
  seed: number;
  policy: string;
  window: number;
  jitter: number;
  choices: number[];
  traceHash: string;
  pinsimVersion: string;
}

/** replayFileOf() - the JSON to save for a counterexample. */
export function replayFileOf(input: Record<string, unknown>, rec: ReplayRecord): Record<string, unknown> {
  // Past the end of the list every pick is the default (0): trailing zeros say nothing.
  const choices = [...rec.choices];
  while (choices.length && choices[choices.length - 1] === 0) choices.pop();
  return { ...input, replay: { ...rec, choices } };
}

export interface ReplayOutcome {
  /** the scenario, validated */
  scenario: Scenario;
  result: RunResult;
  expected: string;
  reproduced: boolean;
}

/**
 * replay() - re-run a replay file's schedule, handing every trace event to @trace if given.
 * Throws ScenarioError for bad input.
 */
export function replay(input: unknown, registry: Registry, file?: string, trace?: (ev: MmTraceEvent) => void): ReplayOutcome {
  const s = validateOrThrow(input, registry, file);
  const rec = s.replay ?? {};
  const r = runValidated(s, {
    registry, ...(trace ? { trace } : {}),
    ...(rec.policy !== undefined ? { policy: rec.policy } : {}),
    ...(rec.seed !== undefined ? { seed: rec.seed } : {}),
    window: rec.window ?? 0,
    jitter: rec.jitter ?? 0,
    choices: rec.choices ?? [],
  });
  const expected = rec.traceHash ?? '';
  return { scenario: s, result: r, expected, reproduced: expected !== '' && expected === r.traceHash };
}
