/**
 * Regression (issue 16): install-during-invalidation reported a gpu-hmm's install from a snapshot
 * taken across the GPU's own MMU_NOTIFY_MIGRATE, which dmirror skips (its sequence count is not
 * bumped, so read_retry would not have refused). The scenario passes; a MIGRATE owned by another
 * device over the same fault is still caught (test/unit/invariants/install-during-invalidation.test.ts).
 */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { runScenario } from '../../src/scenario/run/run.js';

const scenario = JSON.parse(readFileSync(new URL('./gpu-own-migrate-during-fault.json', import.meta.url), 'utf8')) as Record<string, unknown>;

it("a GPU fault installing across the GPU's own MIGRATE of a pinned page is no violation", () => {
  const r = runScenario(scenario);
  expect(r.violations).toEqual([]);
  expect(r.outcome).toBe('pass');
});
