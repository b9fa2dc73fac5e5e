/**
 * The reductions are sound on the examples: partial-order reduction (sleep sets) and the state cache
 * never turn a Sometimes into a Never, and DFS shards merge to the unsharded verdict and count.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { exploreValidated as explore, mergeResults } from '../../src/explore/explore.js';
import { INVARIANT_KINDS } from '../../src/scenario/registry.js';
import { validateOrThrow } from '../../src/scenario/format/validate.js';

const ROOT = new URL('../../examples/', import.meta.url);
const files = ['', 'thread-2018/', 'explore/'].flatMap((d) =>
  readdirSync(new URL(d, ROOT)).filter((f) => f.endsWith('.json')).map((f) => `${d}${f}`));
const sometimes = (r: ReturnType<typeof explore>) => r.verdicts.filter((v) => v.count > 0).map((v) => v.outcome).sort();

describe('the state cache never turns a Sometimes into a Never', () => {
  for (const f of files) {
    it(f, () => {
      const s = validateOrThrow(JSON.parse(readFileSync(new URL(f, ROOT), 'utf8')));
      const policy = s.kernel.policy ?? 'linux-6.12';
      const cached = explore(s, { policy, strategy: 'dfs', runs: 3000 }, INVARIANT_KINDS);
      const plain = explore(s, { policy, strategy: 'dfs', stateCache: false, runs: 3000 }, INVARIANT_KINDS);
      // What the uncached search found, the cached one found too.
      for (const o of sometimes(plain)) expect(sometimes(cached)).toContain(o);
      if (plain.exhaustive) expect(sometimes(cached)).toEqual(sometimes(plain));
      expect(cached.executions).toBeLessThanOrEqual(plain.executions);
    });
  }
});

describe('sleep sets never turn a Sometimes into a Never', () => {
  // Plain DFS is exponential: the examples it can finish in a test.
  for (const f of ['gup-nic-truncate.json', 'gup-nic-punch-hole.json', 'odp-nic-umr-failure.json', 'gpu-hmm-ack-before-drain.json', 'thread-2018/09-rdma-fork.json', 'dax-truncate-waits-for-gup.json']) {
    it(f, () => {
      const s = validateOrThrow(JSON.parse(readFileSync(new URL(f, ROOT), 'utf8')));
      const policy = s.kernel.policy ?? 'linux-6.12';
      const por = explore(s, { policy, strategy: 'dfs', stateCache: false }, INVARIANT_KINDS);
      const plain = explore(s, { policy, strategy: 'dfs', por: false, stateCache: false, runs: 20000 }, INVARIANT_KINDS);
      expect(por.exhaustive).toBe(true);
      for (const o of sometimes(plain)) expect(sometimes(por)).toContain(o);
      if (plain.exhaustive) {
        expect(sometimes(por)).toEqual(sometimes(plain));
        expect(por.executions).toBeLessThanOrEqual(plain.executions);
      }
    });
  }
});

describe('sharding', () => {
  it('DFS shards 0/3..2/3 merge to the unsharded verdict and, without the state cache, its execution count', () => {
    const s = validateOrThrow(JSON.parse(readFileSync(new URL('explore/gpu-fault-vs-munmap-skip-read-retry.json', ROOT), 'utf8')));
    const whole = explore(s, { policy: 'linux-6.12', strategy: 'dfs', stateCache: false }, INVARIANT_KINDS);
    const parts = [0, 1, 2].map((index) => explore(s, { policy: 'linux-6.12', strategy: 'dfs', stateCache: false, shard: { index, count: 3 } }, INVARIANT_KINDS));
    const m = mergeResults(parts);
    expect(m.executions).toBe(whole.executions);
    expect(m.verdicts.map((v) => [v.outcome, v.verdict, v.count])).toEqual(whole.verdicts.map((v) => [v.outcome, v.verdict, v.count]));
    expect(m.exhaustive).toBe(true);
  });

  it('random shards partition the executions', () => {
    const s = validateOrThrow(JSON.parse(readFileSync(new URL('explore/gpu-fault-vs-munmap-skip-read-retry.json', ROOT), 'utf8')));
    const whole = explore(s, { policy: 'linux-6.12', strategy: 'random', runs: 60 }, INVARIANT_KINDS);
    const m = mergeResults([0, 1].map((index) => explore(s, { policy: 'linux-6.12', strategy: 'random', runs: 60, shard: { index, count: 2 } }, INVARIANT_KINDS)));
    expect(m.executions).toBe(60);
    expect(m.verdicts.map((v) => [v.verdict, v.count])).toEqual(whole.verdicts.map((v) => [v.verdict, v.count]));
  });
});
