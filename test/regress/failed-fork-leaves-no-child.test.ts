/**
 * Regression: a fork that failed with ENOMEM (no memory to copy a pinned page for the child) left
 * the half-built child registered, so the child's actors ran in a half-copied address space.
 */
import { expect, it } from 'vitest';
import { runScenario } from '../../src/scenario/run/run.js';

it('a fork that fails with ENOMEM leaves no child: its threads never run', () => {
  const r = runScenario({
    name: 'failed-fork',
    kernel: { policy: 'linux-6.12', memory: '4K' },
    actors: {
      app: [
        { op: 'mmap', length: '4K', prot: 'rw', flags: ['private'], as: 'mem' },
        { op: 'store', addr: 'mem', length: '4K', as: 's' },
        { op: 'gup', addr: 'mem', length: '4K', flags: ['pin', 'longterm', 'write'], as: 'p' },
        { op: 'fork', as: 'kid' },
      ],
      child: { process: 'kid', ops: [{ op: 'load', addr: 'mem', length: '4K', at: '50us', as: 'childsaw' }] },
    },
  });
  expect(r.results['kid']).toBe('ENOMEM');
  expect(r.results['child.0']).toBe('not-run');
  expect(r.observed['childsaw']).toBeUndefined();
  expect(r.violations.map((v) => v.kind)).not.toContain('refcount-leak');
});
