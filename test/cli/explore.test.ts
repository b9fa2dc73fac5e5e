/**
 * `pinsim explore` verdicts claim no more than the search showed (Never / Always only after an
 * exhaustive search), its exit statuses, `--states`, the merge of shards, and an interrupt: SIGINT
 * sent once the first execution has been reported stops the search, prints the verdicts bounded by
 * `interrupted`, saves what was found, and exits 1 (a forbidden outcome was observed) or 130.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAIN, ROOT, ensureBuilt, pinsim } from '../helpers/dist.js';

const TRUNCATE = join(ROOT, 'examples', 'gup-nic-truncate.json');
const BUG = join(ROOT, 'examples', 'explore', 'gpu-fault-vs-munmap-skip-read-retry.json');
const FIXED = join(ROOT, 'examples', 'explore', 'gpu-fault-vs-munmap.json');
let tmp = '';

/** Run explore with --progress, send SIGINT once the first execution has been reported, and wait for the exit. */
function interrupted(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, 'explore', ...args, '--progress'], { cwd: ROOT });
    let stdout = '', stderr = '', sent = false;
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!sent && /^1 execution,/m.test(stderr)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

beforeAll(() => {
  ensureBuilt();
  tmp = mkdtempSync(join(tmpdir(), 'pinsim-explore-'));
}, 180_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('explore verdicts', () => {
  it('--runs 0 explores nothing and says so: no verdict, exit 2', () => {
    const r = pinsim('explore', TRUNCATE, '--runs', '0');
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/--runs 0 explores nothing/);
  });

  it('a bounded random search never claims Never: what it did not see is not observed, bounded by runs', () => {
    const r = pinsim('explore', TRUNCATE, '--runs', '50', '--strategy', 'random');
    expect(r.stdout).not.toMatch(/Never/);
    expect(r.stdout).toMatch(/^forbid lost-write: Sometimes \(50 of 50 executions; bounded by runs\)$/m);
    expect(r.stdout).toMatch(/^forbid dma-use-after-free: not observed in 50 executions \(bounded by runs; not exhaustive\)$/m);
    expect(r.status).toBe(1);
    const j = JSON.parse(pinsim('explore', TRUNCATE, '--runs', '50', '--strategy', 'random', '--json').stdout) as {
      exhaustive: boolean; bound: string; verdicts: { outcome: string; verdict: string; exhaustive: boolean; bound: string }[];
    };
    expect(j).toMatchObject({ exhaustive: false, bound: 'runs' });
    expect(j.verdicts.find((v) => v.outcome === 'kernel-bug')).toMatchObject({ verdict: 'NotObserved', exhaustive: false, bound: 'runs' });
  });

  it('an exhaustive search says Never and Always; a capped one is bounded by runs', () => {
    const full = JSON.parse(pinsim('explore', TRUNCATE, '--policy', 'linux-4.20', '--json').stdout) as { executions: number; bound: null; verdicts: { outcome: string; verdict: string; count: number }[] };
    expect(full.bound).toBeNull();
    expect(full.verdicts.find((v) => v.outcome === 'lost-write')).toMatchObject({ verdict: 'Always', count: full.executions });
    expect(full.verdicts.find((v) => v.outcome === 'kernel-bug')).toMatchObject({ verdict: 'Never', count: 0 });
    const capped = pinsim('explore', BUG, '--runs', '3');
    expect(capped.stdout).toMatch(/not exhaustive: bounded by runs/);
    expect(capped.stdout).not.toMatch(/Never|Always/);
  });

  it('--states lists the distinct final states with their counts (herd7 States), in the JSON as finalStates', () => {
    const text = pinsim('explore', FIXED, '--states');
    expect(text.stdout).toMatch(/^states 1$/m);
    expect(text.stdout).toMatch(/^ +\d+ {2}app\.0=ok app\.1=ok app\.2=ok app\.3=EFAULT unmapper\.0=ok other\.0=ok other\.1=ok$/m);
    const j = JSON.parse(pinsim('explore', BUG, '--states', '--json').stdout) as { executions: number; finalStates: { outcome: string; count: number }[] };
    expect(j.finalStates.length).toBeGreaterThan(1);
    expect(j.finalStates.reduce((n, f) => n + f.count, 0)).toBe(j.executions);
    expect(JSON.parse(pinsim('explore', BUG, '--json').stdout)).not.toHaveProperty('finalStates');
  });

  it('merges shards into the unsharded verdicts, counts and final states', () => {
    const parts = [0, 1, 2].map((i) => {
      const out = join(tmp, `states${i}.json`);
      expect(pinsim('explore', BUG, '--shard', `${i}/3`, '--no-state-cache', '--states', '--json', '--out', out).status).not.toBe(2);
      return out;
    });
    const merged = JSON.parse(pinsim('merge', ...parts, '--json').stdout) as Record<string, unknown>;
    const whole = JSON.parse(pinsim('explore', BUG, '--no-state-cache', '--states', '--json').stdout) as Record<string, unknown>;
    const strip = (r: Record<string, unknown>) => ({
      executions: r['executions'], exhaustive: r['exhaustive'], bound: r['bound'], finalStates: r['finalStates'],
      verdicts: (r['verdicts'] as Record<string, unknown>[]).map(({ example: _e, ...v }) => v),
    });
    expect(strip(merged)).toEqual(strip(whole));
  });
});

describe('explore interrupted (SIGINT after the first execution was reported)', () => {
  it('with a forbidden outcome in the first execution: verdicts bounded by interrupted, the counterexample saved, exit 1', async () => {
    const dir = join(tmp, 'int-ce');
    const r = await interrupted(TRUNCATE, '--policy', 'linux-4.20', '--strategy', 'random', '--runs', '100000000', '--save', dir);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^forbid lost-write: Sometimes \(\d+ of \d+ executions; bounded by interrupted\)$/m);
    expect(r.stdout).toMatch(/^forbid kernel-bug: not observed in \d+ executions \(bounded by interrupted; not exhaustive\)$/m);
    expect(r.stdout).toMatch(/^interrupted after \d+ executions/m);
    expect(readdirSync(dir)).toEqual(['gup-nic-truncate.lost-write.replay.json']);
    expect(pinsim('replay', join(dir, 'gup-nic-truncate.lost-write.replay.json')).status).toBe(0);
  }, 60_000);

  it('with nothing forbidden observed: verdicts bounded by interrupted, nothing saved, exit 130', async () => {
    const dir = join(tmp, 'int-none');
    const r = await interrupted(FIXED, '--strategy', 'random', '--runs', '100000000', '--save', dir);
    expect(r.status).toBe(130);
    expect(r.stdout).toMatch(/^forbid dma-use-after-free: not observed in \d+ executions \(bounded by interrupted; not exhaustive\)$/m);
    expect(r.stdout).toMatch(/not exhaustive: bounded by interrupted/);
    expect(r.stdout).not.toMatch(/Never/);
    expect(existsSync(dir)).toBe(false);
  }, 60_000);

  it('also stops worker threads (--jobs 2) and merges what they found', async () => {
    const out = join(tmp, 'int-jobs.json');
    const r = await interrupted(TRUNCATE, '--policy', 'linux-4.20', '--strategy', 'random', '--runs', '100000000', '--jobs', '2', '--json', '--out', out);
    expect(r.status).toBe(1);
    const j = JSON.parse(readFileSync(out, 'utf8')) as { bound: string; executions: number };
    expect(j.bound).toBe('interrupted');
    expect(j.executions).toBeGreaterThan(0);
  }, 60_000);
});

describe('pinsim merge', () => {
  it('refuses a set of shards with one missing or repeated, which would claim Never for a space not covered (exit 2)', () => {
    const parts = [0, 1].map((i) => {
      const out = join(tmp, `part${i}of3.json`);
      pinsim('explore', FIXED, '--shard', `${i}/3`, '--json', '--out', out);
      return out;
    });
    const missing = pinsim('merge', ...parts);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/missing or repeated: 2\/3/);
    const twice = pinsim('merge', parts[0]!, parts[0]!, parts[1]!);
    expect(twice.status).toBe(2);
    expect(twice.stderr).toMatch(/missing or repeated: 0\/3, 2\/3/);
  });
});
