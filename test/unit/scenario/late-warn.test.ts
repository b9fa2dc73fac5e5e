/**
 * kernel.lateWarn: an op that starts later than its `at` (or `after`) by more than the bound adds a
 * note naming the op and what delayed it; `pinsim run` prints the notes on stderr.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../../src/scenario/run/run.js';
import { MAIN, ensureBuilt } from '../../helpers/dist.js';

/** An ODP DMA at 10 µs queued behind the same actor's DMA that takes a ~100 µs device page fault. */
function behindFault(kernel: Record<string, unknown> = {}) {
  return {
    name: 'late-dma', kernel,
    devices: { nic0: { model: 'odp-nic' } },
    actors: {
      app: [
        { op: 'mmap', length: '8K', prot: 'rw', flags: ['private'], as: 'buf' },
        { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '8K', access: 'rw', as: 'mr' },
        { op: 'dma_write', mr: 'mr', offset: 0, length: '4K', as: 'w1' },
        { op: 'dma_write', mr: 'mr', offset: '4K', length: '4K', at: '10us', as: 'w2' },
      ],
    },
  };
}

describe('kernel.lateWarn', () => {
  it('an op held past its at by its actor\'s previous op gets a note naming both (default 10 µs)', () => {
    const r = runScenario(behindFault());
    expect(r.ops['w2']?.lateNs).toBeGreaterThan(10_000);
    expect(r.notes).toHaveLength(1);
    expect(r.notes?.[0]).toMatch(/^app\.3 \(w2\) dma_write started at .*after its "at": 10µs: its actor's previous op app\.2 \(dma_write\) ran until /);
  });

  it('no note when the op is late by less than kernel.lateWarn', () => {
    const r = runScenario(behindFault({ lateWarn: '1ms' }));
    expect(r.ops['w2']?.lateNs).toBeGreaterThan(10_000);
    expect(r.notes).toBeUndefined();
  });

  it('an op that waited for a name says so', () => {
    const r = runScenario({
      name: 'late-name',
      devices: { nic0: { model: 'odp-nic' } },
      actors: {
        app: [
          { op: 'mmap', length: '4K', prot: 'rw', flags: ['private', 'populate'], as: 'buf' },
          { op: 'sleep', duration: '50us' },
          { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '4K', access: 'rw', as: 'mr' },
        ],
        peer: [{ op: 'dma_read', mr: 'mr', offset: 0, length: '4K', at: '1us', as: 'r' }],
      },
    });
    expect(r.notes?.some((n) => /^peer\.0 \(r\) dma_read started at .*: it waited for "mr"/.test(n))).toBe(true);
  });

  it('pinsim run prints the notes on stderr', () => {
    ensureBuilt();
    const dir = mkdtempSync(join(tmpdir(), 'pinsim-late-'));
    const file = join(dir, 'late.json');
    writeFileSync(file, JSON.stringify(behindFault()));
    const p = spawnSync(process.execPath, [MAIN, 'run', file, '--json'], { encoding: 'utf8' });
    expect(p.status).toBe(0);
    expect(p.stderr).toMatch(/^pinsim: note: app\.3 \(w2\) dma_write started at /m);
    expect(JSON.parse(p.stdout).notes).toHaveLength(1);
  });
});
