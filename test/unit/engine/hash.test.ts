import { describe, expect, it } from 'vitest';
import { DigestMap, Hasher } from '../../../src/engine/hash.js';

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

describe('SetDigest and DigestMap (incremental state fingerprints)', () => {
  const digest = (m: DigestMap) => [m.digest.a, m.digest.b];
  const fresh = (m: DigestMap) => {
    const d = m.digestFromScratch();
    return [d.a, d.b];
  };

  it('keep the digest of the set, whatever order it was reached in', () => {
    const a = new DigestMap(), b = new DigestMap();
    a.set(1, 10).set(2, 20).set(3, 30);
    b.set(3, 30).set(2, 99).set(1, 10).set(2, 20);
    expect(digest(a)).toEqual(digest(b));
    expect(digest(a)).toEqual(fresh(a));
    expect(digest(a)).not.toEqual([0, 0]);
  });

  it('change with every value, and come back when an entry is put back or all are deleted', () => {
    const m = new DigestMap();
    m.set(1, 10).set(2, 20);
    const before = digest(m);
    m.set(2, 21);
    expect(digest(m)).not.toEqual(before);
    expect(digest(m)).toEqual(fresh(m));
    m.set(2, 20);
    expect(digest(m)).toEqual(before);
    m.delete(1);
    m.delete(7);
    expect(digest(m)).toEqual(fresh(m));
    m.delete(2);
    expect(digest(m)).toEqual([0, 0]);
    m.set(5, 50);
    m.clear();
    expect(digest(m)).toEqual([0, 0]);
  });

  it('tell apart a value moved to another key', () => {
    const a = new DigestMap(), b = new DigestMap();
    a.set(1, 10).set(2, 20);
    b.set(1, 20).set(2, 10);
    expect(digest(a)).not.toEqual(digest(b));
  });
});
