/**
 * The one place an op's outcome is written into the run's result: its result, its timing and what it
 * observed, each under the op's `actor.index` key and under its `as` name.
 */
import type { OpDescriptor } from '../ops/op.js';
import type { OpTiming } from './result.js';
import { tokensName, type RunState } from './state.js';

/** recordTiming() - the op's timing (the object may still be updated, e.g. when a posted op completes). */
export function recordTiming(st: RunState, key: string, as: string | undefined, timing: OpTiming): void {
  st.ops[key] = timing;
  if (as) st.ops[as] = timing;
}

/**
 * recordResult() - the op's result, and what it observed: the content it read (@tokens, for ops that
 * observe) or a text observation (@text, a SNAPSHOT's page states).
 */
export function recordResult(st: RunState, key: string, as: string | undefined, result: string,
  seen?: { d: OpDescriptor; tokens: number[] | undefined; text: string | undefined }): void {
  st.results[key] = result;
  if (!as) return;
  st.results[as] = result;
  if (!seen) return;
  const content = seen.tokens ? tokensName(st.k, seen.tokens) : null;
  if (content !== null && seen.d.observes) st.observed[as] = content;
  if (seen.text !== undefined) st.observed[as] = seen.text;
}

/** recordNotRun() - an op that never started (its `as` keeps a result it already has). */
export function recordNotRun(st: RunState, key: string, as: string | undefined): void {
  st.results[key] = 'not-run';
  if (as && st.results[as] === undefined) st.results[as] = 'not-run';
}
