/**
 * Everything under pinsim's limits works (issue 16; the limits are in format/limits.ts and
 * docs/limits.md): a 400 k-op scenario runs under `pinsim run` and its text report is whole; onBreak
 * lists nested to the limit run; kernel.memory at the limit is taken. Beyond each limit the input is
 * refused (test/cli/bad-input.test.ts).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_ONBREAK_DEPTH } from '../../src/scenario/format/limits.js';
import { MAX_MEMORY } from '../../src/scenario/format/sections.js';
import { runScenario } from '../../src/scenario/run/run.js';
import { MAIN, ensureBuilt } from '../helpers/dist.js';

let tmp = '';
beforeAll(() => {
  ensureBuilt();
  tmp = mkdtempSync(join(tmpdir(), 'pinsim-limits-'));
}, 180_000);
afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('under the limits, everything runs', () => {
  it('a 400 k-op scenario runs under pinsim run, and the text report lists every result', () => {
    const ops = [{ op: 'mmap', length: '64K', prot: 'rw', flags: ['private'], as: 'b' }];
    for (let i = 0; i < 400_000; i++) ops.push({ op: i % 2 ? 'store' : 'load', addr: 'b', offset: (i % 16) * 4096, length: '4K' } as never);
    const file = join(tmp, 'ops-400k.json');
    writeFileSync(file, JSON.stringify({ name: 'ops-400k', actors: { a: ops } }));
    const r = spawnSync(process.execPath, [MAIN, 'run', file], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    expect(r.status, r.stderr.slice(0, 2000)).toBe(0);
    expect(r.stdout).toContain('outcome   pass');
    expect(r.stdout).toContain('  a.400000 = ok\n');
    expect(r.stdout.split('\n').filter((l) => /^ {2}a\.\d+( \(b\))? = ok$/.test(l))).toHaveLength(400_001);
  }, 300_000);

  it(`onBreak lists nested ${MAX_ONBREAK_DEPTH} deep run, each lease break starting the next list`, () => {
    const top: Record<string, unknown> = { op: 'setlease', file: 'f', type: 'read' };
    let cur = top;
    for (let i = 0; i < MAX_ONBREAK_DEPTH; i++) {
      const next: Record<string, unknown> = { op: 'setlease', file: 'f', type: 'read' };
      cur['onBreak'] = [next];
      cur = next;
    }
    const r = runScenario({ name: 'deep-breaks', files: { f: { fs: 'ext4', size: '4K' } }, actors: { a: [top] } });
    expect(r.outcome).toBe('pass');
    expect(r.results['a.0']).toBe('ok');
  });

  it('kernel.memory at the limit is taken (and is a limit, not a preallocation)', () => {
    const r = runScenario({ name: 'max-memory', kernel: { memory: MAX_MEMORY }, actors: { a: [{ op: 'mmap', length: '4K', prot: 'rw', flags: ['private', 'populate'], as: 'b' }] } });
    expect(r.outcome).toBe('pass');
    expect(r.results['b']).toBe('ok');
  });
});
