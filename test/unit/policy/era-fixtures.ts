/**
 * What the era tests (linux-4.20, linux-5.7, linux-6.12) share: a runner for one era, and the
 * scenarios each era is asked about, so that the three files differ only in what they expect.
 */
import { readFileSync } from 'node:fs';
import type { MmEventOf, MmTraceEvent } from '../../../src/mm/trace_events.js';
import type { RunResult } from '../../../src/scenario/run/result.js';
import { runScenario } from '../../../src/scenario/run/run.js';

export const example = (name: string) => JSON.parse(readFileSync(new URL(`../../../examples/${name}.json`, import.meta.url), 'utf8'));

/** A runner that runs a scenario under @era and keeps its trace. */
export function eraRunner(era: string): (s: unknown) => { r: RunResult; evs: MmTraceEvent[] } {
  return (s) => {
    const evs: MmTraceEvent[] = [];
    const r = runScenario(s, { policy: era, trace: (e) => evs.push(e) });
    return { r, evs };
  };
}
export const kinds = (r: RunResult) => [...new Set(r.violations.map((v) => v.kind))].sort();
export const of = <T extends MmTraceEvent['type']>(evs: MmTraceEvent[], type: T) => evs.filter((e): e is MmEventOf<T> => e.type === type);

/** One private anonymous page, written, then referenced by @pin (a gup op or a gup-nic MR). */
export function anonPin(pin: Record<string, unknown>) {
  return {
    name: 'era-anon-pin', kernel: { memory: '64M' }, devices: { nic0: { model: 'gup-nic' } },
    actors: {
      app: [
        { op: 'mmap', length: '4K', prot: 'rw', flags: ['private'], as: 'mem' },
        { op: 'store', addr: 'mem', length: '4K', as: 's0' },
        { ...pin, addr: 'mem', length: '4K', as: 'ref' },
      ],
    },
  };
}
/** A long-term pin (gup op or MR) of a shared mapping of a @fs file. */
export function filePin(fs: string, pin: Record<string, unknown>, dax = false) {
  return {
    name: 'era-file-pin', kernel: { memory: '64M' }, files: { f: { fs, size: '16K', ...(dax ? { dax: true } : {}) } },
    devices: { nic0: { model: 'gup-nic' } },
    actors: { app: [{ op: 'mmap', file: 'f', length: '16K', prot: 'rw', flags: ['shared'], as: 'buf' }, { ...pin, addr: 'buf', length: '16K', as: 'ref' }] },
  };
}
/**
 * kernel-semantics §2 S1–S7 with a short-term writable pin (allowed in every era): writeback cleans
 * the pinned ext4 page, reclaim strips its buffers, the pin is released with dirty, writeback again.
 */
export const BUFFERLESS = {
  name: 'era-dirty-without-buffers', kernel: { memory: '64M' }, files: { f: { fs: 'ext4', size: '16K' } },
  actors: {
    app: [
      { op: 'mmap', file: 'f', length: '16K', prot: 'rw', flags: ['shared'], as: 'buf' },
      { op: 'gup', addr: 'buf', length: '4K', flags: ['pin', 'write'], as: 'dio' },
      { op: 'writeback_now', file: 'f', as: 'wb1' },
      { op: 'reclaim', target: 'buffers', as: 'strip' },
      { op: 'unpin', pins: 'dio', dirty: true, as: 'put' },
      { op: 'writeback_now', file: 'f', as: 'wb2' },
    ],
  },
};
