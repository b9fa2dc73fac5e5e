/**
 * PINSIM_BUG() is the one way pinsim reports its own bug: a run that hits one ends with outcome
 * `error` and the message once (`[pinsim internal bug] …`, never wrapped a second time), and a caller
 * that raises a run's error again (explore) keeps that one prefix.
 */
import { describe, expect, it } from 'vitest';
import { PINSIM_BUG, PinsimInternalError } from '../../../src/engine/bug.js';
import { schedPoint } from '../../../src/engine/actor.js';
import type { DeviceModel } from '../../../src/devices/device.js';
import { explore } from '../../../src/explore/explore.js';
import { BUILTIN, createRegistry } from '../../../src/scenario/registry.js';
import { runScenario } from '../../../src/scenario/run/run.js';

/** A device whose driver has a bug: every DMA reaches a state its author said cannot happen. */
const buggy: DeviceModel = {
  name: 'buggy', description: 'a device model with a bug', params: {}, ops: ['reg_mr', 'dereg_mr', 'dma_read', 'dma_write'],
  create: (ctx) => ({
    *reg_mr(_proc, _addr, length) {
      yield* schedPoint('buggy:reg');
      return { device: ctx.name, length };
    },
    *dma() {
      yield* schedPoint('buggy:dma');
      return PINSIM_BUG('buggy: the MR lost its MTT');
    },
  }),
};

const registry = createRegistry({ ...BUILTIN, devices: [...BUILTIN.devices, buggy] });
const input = {
  name: 'buggy-dma', devices: { d0: { model: 'buggy' } },
  actors: {
    app: [
      { op: 'mmap', length: '4K', prot: 'rw', flags: ['private'], as: 'buf' },
      { op: 'reg_mr', device: 'd0', addr: 'buf', length: '4K', access: 'rw', as: 'mr' },
      { op: 'dma_write', mr: 'mr', offset: 0, length: '4K' },
    ],
  },
};

describe('PINSIM_BUG()', () => {
  it('throws a PinsimInternalError whose message carries the prefix once', () => {
    expect(() => PINSIM_BUG('x')).toThrow(PinsimInternalError);
    expect(() => PINSIM_BUG('x')).toThrow(/^\[pinsim internal bug\] x$/);
    expect(new PinsimInternalError('[pinsim internal bug] y').message).toBe('[pinsim internal bug] y');
  });

  it('a bug inside a run ends it with outcome error and the message once', () => {
    const r = runScenario(input, { registry });
    expect(r.outcome).toBe('error');
    expect(r.error).toBe('[pinsim internal bug] buggy: the MR lost its MTT');
  });

  it('explore raises the run\'s bug again with one prefix', () => {
    let err: unknown;
    try {
      explore(input, { policy: 'linux-6.12', strategy: 'random', runs: 1, registry }, []);
    } catch (e) { err = e; }
    expect(err).toBeInstanceOf(PinsimInternalError);
    expect((err as Error).message).toBe('[pinsim internal bug] buggy: the MR lost its MTT');
  });
});
