/**
 * shuttle's check_replay_roundtrip: explore until a forbidden outcome is found, shrink and save the
 * counterexample, replay the saved file: same choices, same trace hash, same violation.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { exploreValidated as explore } from '../../src/explore/explore.js';
import { replay, replayFileOf } from '../../src/explore/replay.js';
import { shrink } from '../../src/explore/shrink.js';
import { defaultRegistry, INVARIANT_KINDS } from '../../src/scenario/registry.js';
import { runValidated } from '../../src/scenario/run/run.js';
import { validateOrThrow } from '../../src/scenario/format/validate.js';
import { TRACE_HASH_SCHEMA } from '../../src/engine/trace.js';

const load = (f: string) => JSON.parse(readFileSync(new URL(`../../examples/explore/${f}.json`, import.meta.url), 'utf8')) as Record<string, unknown>;

describe('explore → save → replay', () => {
  for (const strategy of ['dfs', 'random', 'pct'] as const) {
    it(`${strategy}: the buggy driver's dma-into-reused-page counterexample replays to the same trace hash and violation`, () => {
      const registry = defaultRegistry();
      const input = load('gpu-fault-vs-munmap-skip-read-retry');
      const s = validateOrThrow(input, registry);
      const r = explore(s, { policy: 'linux-6.12', strategy, runs: 300, registry }, INVARIANT_KINDS);
      const v = r.verdicts.find((x) => x.outcome === 'dma-into-reused-page')!;
      expect(v.verdict).toBe('Sometimes');
      const ex = v.example!;
      // The raw choices replay exactly.
      const again = runValidated(s, { policy: 'linux-6.12', window: r.window, choices: ex.choices, registry });
      expect(again.traceHash).toBe(ex.traceHash);
      expect(again.choices).toEqual(ex.choices);
      // Shrunk and saved, it still shows the violation and replays exactly.
      const small = shrink({ input, policy: 'linux-6.12', seed: 1, window: r.window, jitter: 0, choices: ex.choices, outcome: 'dma-into-reused-page', registry });
      const file = JSON.parse(JSON.stringify(replayFileOf(small.input, {
        seed: 1, policy: 'linux-6.12', window: r.window, jitter: 0, choices: small.result.choices, traceHash: small.result.traceHash, pinsimVersion: 'test',
      })));
      expect(file.replay.hashSchema).toBe(TRACE_HASH_SCHEMA);
      const o = replay(file, registry);
      expect(o.reproduced).toBe(true);
      expect(o.result.traceHash).toBe(small.result.traceHash);
      expect(o.result.violations.map((x) => x.kind)).toContain('dma-into-reused-page');
      expect(small.choices.filter((c) => c !== 0).length).toBeLessThanOrEqual(ex.choices.filter((c) => c !== 0).length);
    });
  }

  it('the correct driver is Never for every forbidden outcome, exhaustively', () => {
    const s = validateOrThrow(load('gpu-fault-vs-munmap'));
    const r = explore(s, { policy: 'linux-6.12', strategy: 'dfs' }, INVARIANT_KINDS);
    expect(r.exhaustive).toBe(true);
    expect(r.verdicts.map((v) => v.verdict)).toEqual(['Never', 'Never']);
    expect(r.executions).toBeGreaterThan(1);
  });

  it('a replay file with a wrong trace hash does not reproduce', () => {
    const input = load('gpu-fault-vs-munmap');
    const o = replay({ ...input, replay: { policy: 'linux-6.12', seed: 1, choices: [], traceHash: 'ffffffffffffffff', hashSchema: TRACE_HASH_SCHEMA } }, defaultRegistry());
    expect(o.reproduced).toBe(false);
    expect(o.mismatch).toBeUndefined();
  });

  it('a replay file of an older hash schema, or with none, does not reproduce even with the right hash, and says why', () => {
    const input = load('gpu-fault-vs-munmap');
    const right = replay({ ...input, replay: { policy: 'linux-6.12', seed: 1, choices: [] } }, defaultRegistry()).result.traceHash;
    for (const hashSchema of [undefined, 1]) {
      const o = replay({ ...input, replay: { policy: 'linux-6.12', seed: 1, choices: [], traceHash: right, ...(hashSchema ? { hashSchema } : {}) } }, defaultRegistry());
      expect(o.result.traceHash).toBe(right);
      expect(o.reproduced).toBe(false);
      expect(o.mismatch).toMatch(hashSchema ? /saved with hashSchema 1/ : /records no hashSchema/);
      expect(o.mismatch).toMatch(/Regenerate it/);
    }
    expect(replay({ ...input, replay: { policy: 'linux-6.12', seed: 1, choices: [], traceHash: right, hashSchema: TRACE_HASH_SCHEMA } }, defaultRegistry()).reproduced).toBe(true);
  });
});

describe('a replay whose choices do not fit the run (issue 16)', () => {
  it('says which choice named no candidate, and that the replay lists more choices than the run has', () => {
    const registry = defaultRegistry();
    const input = { ...load('odp-fault-vs-truncate'), replay: { seed: 1, policy: 'linux-6.12', window: 1000, choices: [7, ...Array(200).fill(0), 1], traceHash: 'abc' } };
    const o = replay(input, registry);
    expect(o.reproduced).toBe(false);
    expect(o.result.notes).toEqual([
      expect.stringMatching(/^replayed choice 7 at choice point 0 is out of range: only \d+ candidates there, so the default \(0\) was taken; the choices were recorded for another scenario, policy, seed or pinsim version$/),
      expect.stringMatching(/^the replay lists 202 choices but the run reached only \d+ choice points; the choices were recorded for another run$/),
    ]);
  });

  it('a replay that fits adds no note', () => {
    const registry = defaultRegistry();
    const s = validateOrThrow(load('odp-fault-vs-truncate'), registry);
    const r = runValidated(s, { policy: 'linux-6.12', window: 1000, choices: [1], registry });
    expect(r.notes).toBeUndefined();
  });
});
