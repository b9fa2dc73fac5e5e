import { describe, expect, it } from 'vitest';
import { Hasher } from '../../../src/engine/hash.js';

const of = (f: (h: Hasher) => unknown) => {
  const h = new Hasher();
  f(h);
  return h.value;
};

describe('Hasher (state fingerprints)', () => {
  it('is a safe integer that depends on every value and on their order', () => {
    const v = of((h) => h.add(1).add(2).add(2 ** 40 + 3));
    expect(Number.isSafeInteger(v)).toBe(true);
    expect(v).toBe(of((h) => h.add(1).add(2).add(2 ** 40 + 3)));
    expect(v).not.toBe(of((h) => h.add(2).add(1).add(2 ** 40 + 3)));
    expect(v).not.toBe(of((h) => h.add(1).add(2).add(2 ** 40 + 4)));
  });

  it('tells strings apart, and hashes a string the same after the shared table of string hashes was emptied', () => {
    const site = of((h) => h.addString('op:device_wait').add(7));
    expect(site).not.toBe(of((h) => h.addString('op:device_wai').add(7)));
    expect(of((h) => h.addString('ab').addString('c'))).not.toBe(of((h) => h.addString('a').addString('bc')));
    for (let i = 0; i < 70_000; i++) of((h) => h.addString(`name${i}`));
    expect(of((h) => h.addString('op:device_wait').add(7))).toBe(site);
  });
});
