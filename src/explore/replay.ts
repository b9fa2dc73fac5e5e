/**
 * Replay files: a scenario (as written) with `replay: { seed, policy, window, jitter, choices,
 * traceHash, hashSchema, pinsimVersion }` attached — the whole of a schedule. `pinsim replay`
 * re-runs it and compares the trace hash, when the file's hash schema (what its traceHash covers)
 * is the one this pinsim computes; a file of another schema, or none, cannot reproduce and says so.
 */
import { TRACE_HASH_SCHEMA } from '../engine/trace.js';
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

/** replayFileOf() - the JSON to save for a counterexample, with the hash schema its traceHash is of. */
export function replayFileOf(input: Record<string, unknown>, rec: ReplayRecord): Record<string, unknown> {
  // Past the end of the list every pick is the default (0): trailing zeros say nothing.
  const choices = [...rec.choices];
  while (choices.length && choices[choices.length - 1] === 0) choices.pop();
  const { pinsimVersion, ...run } = rec;
  return { ...input, replay: { ...run, choices, hashSchema: TRACE_HASH_SCHEMA, pinsimVersion } };
}

/**
 * hashSchemaMismatch() - why a replay file's traceHash cannot be compared with this pinsim's, or
 * null when it can: it was saved under another trace-hash schema, or before schemas were recorded.
 */
export function hashSchemaMismatch(schema: number | undefined): string | null {
  if (schema === TRACE_HASH_SCHEMA) return null;
  const saved = schema === undefined ? 'records no hashSchema (saved before pinsim recorded one, schema 1)' : `was saved with hashSchema ${schema}`;
  const now = `this pinsim computes schema ${TRACE_HASH_SCHEMA} (one event per range the kernel handles without a preemption point)`;
  return `the replay file ${saved}, and ${now}: its traceHash cannot be compared. Regenerate it: npx pinsim explore <scenario> --save DIR`;
}

export interface ReplayOutcome {
  /** the scenario, validated */
  scenario: Scenario;
  result: RunResult;
  expected: string;
  reproduced: boolean;
  /** Why the saved traceHash cannot be compared (another hash schema), when it cannot. */
  mismatch?: string;
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
  const mismatch = expected === '' ? null : hashSchemaMismatch(rec.hashSchema);
  if (mismatch) return { scenario: s, result: r, expected, reproduced: false, mismatch };
  return { scenario: s, result: r, expected, reproduced: expected !== '' && expected === r.traceHash };
}
