/**
 * Regression: a SIGBUS in one thread killed a sibling thread in the middle of handle_mm_fault with
 * mmap_lock held for read, so the dying process's exit_mmap waited for the write lock forever and
 * the mm was never torn down; and the interrupted op's `as` name had no result.
 */
import { expect, it } from 'vitest';
import { runScenario } from '../../src/scenario/run/run.js';

const scenario = (t2At: number | string) => ({
  name: 'sigbus-kills-faulting-thread',
  kernel: { memory: '64M', policy: 'linux-6.12' },
  files: { f: { fs: 'ext4', size: '64K' } },
  actors: {
    t1: { process: 'P', ops: [
      { op: 'mmap', file: 'f', length: '64K', prot: 'rw', flags: ['shared'], as: 'buf' },
      { op: 'load', addr: 'buf', offset: '60K', length: '4K', at: '30us', as: 'hi' }, // SIGBUS at 30.25 µs
    ] },
    t2: { process: 'P', ops: [{ op: 'load', addr: 'buf', offset: '4K', length: '4K', at: t2At, as: 'lo' }] },
    admin: [{ op: 'ftruncate', file: 'f', length: '16K', at: '20us' }],
  },
});

it('a thread in the middle of a fault when a sibling dies of SIGBUS finishes the fault, so exit_mmap can tear the mm down', () => {
  const unmaps: number[] = [];
  const r = runScenario(scenario(30_100), { trace: (e) => { if (e.type === 'vma' && e.what === 'unmap') unmaps.push(e.time); } });
  expect(r.results['hi']).toBe('SIGBUS');
  expect(r.results['t2.0']).toBe('ok'); // the fault completed in the kernel; the thread died after it
  expect(unmaps.length).toBeGreaterThan(0);
  expect(r.outcome).toBe('pass');
});

it('a sibling in nanosleep when the process dies gets EINTR under its key and its `as` name', () => {
  const s = scenario(0);
  s.actors.t2.ops = [{ op: 'sleep', duration: '100us', as: 'lo' } as never];
  const r = runScenario(s);
  expect(r.results['t2.0']).toBe('EINTR');
  expect(r.results['lo']).toBe('EINTR');
});

it('a sibling op that had not started when the process died is not-run', () => {
  const r = runScenario(scenario('40us')); // t2 still waits for its start time when t1 dies at 30.25 µs
  expect(r.results['t2.0']).toBe('not-run');
  expect(r.results['lo']).toBe('not-run');
});
