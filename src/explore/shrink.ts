/**
 * Shrinking a counterexample: delta-debugging of the choice sequence (shorter, fewer non-default
 * picks) and of the scenario (ops dropped, lengths halved) while the forbidden outcome persists.
 * Every candidate is a full replay; the result is the smallest found within the attempt budget.
 */
import { PINSIM_BUG } from '../engine/bug.js';
import { parseSize } from '../engine/clock.js';
import type { RunResult } from '../scenario/run/result.js';
import { runValidated } from '../scenario/run/run.js';
import { validateOrThrow } from '../scenario/format/validate.js';
import type { Registry } from '../scenario/registry.js';
import type { OutcomeSpec } from '../scenario/format/types.js';
import { shows } from './explore.js';

export interface ShrinkInput {
  /** the scenario as written (plain data) */
  input: Record<string, unknown>;
  policy: string;
  seed: number;
  window: number;
  jitter: number;
  choices: number[];
  outcome: OutcomeSpec;
  registry: Registry;
  /** replays at most (default 400) */
  budget?: number;
}

export interface Shrunk {
  input: Record<string, unknown>;
  choices: number[];
  result: RunResult;
  attempts: number;
}

type OpList = Record<string, unknown>[];

function actorOps(input: Record<string, unknown>): [string, OpList][] {
  const actors = input['actors'] as Record<string, unknown>;
  return Object.entries(actors).map(([n, a]) => [n, (Array.isArray(a) ? a : (a as { ops: OpList }).ops) as OpList]);
}

function clone<T>(x: T): T {
  return JSON.parse(JSON.stringify(x)) as T;
}

/** shrink() - Return: a smaller scenario and choice list that still show the outcome. */
export function shrink(o: ShrinkInput): Shrunk {
  const budget = o.budget ?? 400;
  let attempts = 0;
  const attempt = (input: Record<string, unknown>, choices: number[]): RunResult | null => {
    if (attempts >= budget) return null;
    attempts++;
    let s;
    try {
      s = validateOrThrow(input, o.registry);
    } catch {
      return null;
    }
    const r = runValidated(s, { policy: o.policy, seed: o.seed, window: o.window, jitter: o.jitter, choices, registry: o.registry });
    return r.outcome !== 'error' && shows(r, o.outcome) ? r : null;
  };
  let input = clone(o.input);
  let choices = [...o.choices];
  let best = attempt(input, choices);
  if (!best) PINSIM_BUG('shrink: the counterexample does not replay');
  // 1. The shortest prefix of choices (past its end every pick is the default).
  for (let len = 0; len < choices.length; len++) {
    const r = attempt(input, choices.slice(0, len));
    if (r) { choices = choices.slice(0, len); best = r; break; }
  }
  // 2. Fewer non-default picks.
  for (let i = choices.length - 1; i >= 0; i--) {
    if (choices[i] === 0) continue;
    const c = [...choices];
    c[i] = 0;
    const r = attempt(input, c);
    if (r) { choices = c; best = r; }
  }
  // 3. Drop ops, last first, while the outcome persists.
  for (const [actor] of actorOps(input)) {
    for (let i = (actorOps(input).find(([n]) => n === actor)?.[1].length ?? 0) - 1; i >= 0; i--) {
      const cand = clone(input);
      const ops = actorOps(cand).find(([n]) => n === actor)![1];
      ops.splice(i, 1);
      if (!ops.length) delete (cand['actors'] as Record<string, unknown>)[actor];
      const r = attempt(cand, choices);
      if (r) { input = cand; best = r; }
    }
  }
  // 4. Halve lengths (whole pages) while the outcome persists.
  for (const [actor, ops] of actorOps(input)) {
    ops.forEach((_op, i) => {
      for (;;) {
        const cur = actorOps(input).find(([n]) => n === actor)![1][i] as Record<string, unknown>;
        const len = parseSize(cur['length']);
        if (!len.ok || len.value <= 4096) return;
        const half = Math.max(4096, Math.floor(len.value / 2 / 4096) * 4096);
        const cand = clone(input);
        (actorOps(cand).find(([n]) => n === actor)![1][i] as Record<string, unknown>)['length'] = half;
        const r = attempt(cand, choices);
        if (!r) return;
        input = cand;
        best = r;
      }
    });
  }
  return { input, choices: best.choices.length < choices.length ? best.choices : choices, result: best, attempts };
}
