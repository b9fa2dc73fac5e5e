/**
 * Regression (fuzz seed 138): DESIGN §5 lets any device op be posted with `wait: false`, and
 * validation accepted it, but only dma_read/dma_write were deferred; `poll` of a posted reg_mr read
 * a completion that did not exist and threw a TypeError. Every device op now posts the same way.
 */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { runScenario } from '../../src/scenario/run/run.js';

it('poll of a posted reg_mr waits for the registration and reports its result (the fuzzer\'s scenario)', () => {
  const s = JSON.parse(readFileSync(new URL('./posted-reg-mr.json', import.meta.url), 'utf8'));
  const r = runScenario(s);
  expect(r.outcome).toBe('pass');
  expect(r.results['n1']).toBe('ok');
  expect(r.results['a0.2']).toBe('ok');
});

it('a posted reg_mr lets its actor go on; a failed one reports its errno at poll', () => {
  const r = runScenario({
    name: 'posted-reg-mr',
    kernel: { policy: 'linux-6.12' },
    devices: { nic0: { model: 'gup-nic' } },
    files: { f: { fs: 'ext4', size: '8K', dax: true } },
    actors: {
      app: [
        { op: 'mmap', length: '8K', prot: 'rw', flags: ['private', 'populate'], as: 'buf' },
        { op: 'mmap', file: 'f', length: '8K', prot: 'rw', flags: ['shared'], as: 'dax' },
        { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '8K', access: 'rw', wait: false, as: 'w1' },
        { op: 'reg_mr', device: 'nic0', addr: 'dax', length: '8K', access: 'rw', wait: false, as: 'w2' },
        { op: 'store', addr: 'buf', length: '4K', as: 'meanwhile' },
        { op: 'poll', wr: 'w1', as: 'p1' },
        { op: 'poll', wr: 'w2', as: 'p2' },
      ],
    },
  });
  expect(r.results['w1']).toBe('ok');
  expect(r.results['p1']).toBe('ok');
  expect(r.results['w2']).toBe('EOPNOTSUPP');
  expect(r.results['p2']).toBe('EOPNOTSUPP');
  // The actor went on: its store started before the posted pinning of w1's two pages completed.
  expect(r.ops['meanwhile']!.start).toBeLessThan(r.ops['w1']!.end);
});

it('a posted SNAPSHOT keeps its counters and per-page states, and poll observes them', () => {
  const r = runScenario({
    name: 'posted-snapshot',
    kernel: { policy: 'linux-6.12' },
    devices: { gpu0: { model: 'gpu-hmm' } },
    actors: {
      app: [
        { op: 'mmap', length: '8K', prot: 'rw', flags: ['private'], as: 'buf' },
        { op: 'store', addr: 'buf', length: '4K', as: 's' },
        { op: 'mirror', device: 'gpu0', addr: 'buf', length: '8K', as: 'm' },
        { op: 'snapshot', mirror: 'm', length: '8K', wait: false, as: 'snap' },
        { op: 'poll', wr: 'snap', as: 'p' },
      ],
    },
  });
  expect(r.results['snap']).toBe('ok');
  expect(r.observed['snap']).toBe('WRITE,NONE');
  expect(r.observed['p']).toBe('WRITE,NONE');
  expect(r.ops['snap']!['cpages']).toBe(2);
});

it('poll of an op that failed before it was posted (its buffer\'s mmap failed) reports that errno', () => {
  const r = runScenario({
    name: 'posted-after-failed-mmap',
    kernel: { policy: 'linux-6.12' },
    devices: { nic0: { model: 'gup-nic' } },
    actors: {
      app: [
        { op: 'mmap', length: 0, prot: 'rw', flags: ['private'], as: 'buf' },
        { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '4K', access: 'rw', wait: false, as: 'w' },
        { op: 'poll', wr: 'w', as: 'p' },
      ],
    },
  });
  expect(r.outcome).not.toBe('error');
  expect(r.results['w']).toBe('EINVAL');
  expect(r.results['p']).toBe('EINVAL');
});
