import { describe, expect, it } from 'vitest';
import { Prng } from '../../../src/engine/prng.js';
import { IdQueue } from '../../../src/engine/queue.js';

type Entry = { time: number; seq: number };
const byKey = (a: Entry, b: Entry) => a.time - b.time || a.seq - b.seq;

/**
 * IdQueue carrying payloads by index: push(time, seq, item) files @item under a fresh id; pop()
 * returns it. The heap itself holds only the (time, seq, id) triples.
 */
class Q<T> {
  readonly q = new IdQueue();
  private readonly items: T[] = [];
  get size(): number { return this.q.size; }
  peekTime(): number { return this.q.peekTime(); }
  push(time: number, seq: number, item: T): void { this.items.push(item); this.q.push(time, seq, this.items.length - 1); }
  pop(): T { return this.items[this.q.pop()] as T; }
}

function drain<T>(q: Q<T>): T[] {
  const out: T[] = [];
  while (q.size) out.push(q.pop());
  return out;
}

describe('IdQueue (binary heap keyed (time, seq))', () => {
  it('an empty queue peeks Infinity', () => {
    const q = new Q<string>();
    expect(q.size).toBe(0);
    expect(q.peekTime()).toBe(Infinity);
    expect(q.q.validTop(new Float64Array(1))).toBe(Infinity);
  });

  it('validTop() drops entries whose seq is no longer their id\'s pending seq', () => {
    const q = new IdQueue();
    const pending = new Float64Array([5, 9]);
    q.push(10, 1, 0); q.push(20, 5, 0); q.push(15, 9, 1);
    expect(q.validTop(pending)).toBe(15); // (10, seq 1) of id 0 is stale: its pending seq is 5
    expect(q.pop()).toBe(1);
    expect(q.validTop(pending)).toBe(20);
    pending[0] = -1;
    expect(q.validTop(pending)).toBe(Infinity);
    expect(q.size).toBe(0);
  });

  it('pops the earliest time first, whatever the push order', () => {
    const q = new Q<string>();
    q.push(300, 0, 'c'); q.push(100, 1, 'a'); q.push(200, 2, 'b'); q.push(50, 3, 'first');
    expect(q.peekTime()).toBe(50);
    expect(drain(q)).toEqual(['first', 'a', 'b', 'c']);
  });

  it('breaks ties at the same instant by seq, so simultaneous events run in a fixed order', () => {
    const q = new Q<string>();
    q.push(10, 7, 's7'); q.push(10, 2, 's2'); q.push(10, 5, 's5'); q.push(5, 9, 'early'); q.push(10, 0, 's0');
    expect(drain(q)).toEqual(['early', 's0', 's2', 's5', 's7']);
  });

  it('matches a sorted reference for 2000 random pushes with many equal times', () => {
    const rng = new Prng(42, 'queue-test');
    const q = new Q<Entry>();
    const ref: Entry[] = [];
    const seqs = Array.from({ length: 2000 }, (_, i) => i);
    // Push seqs in a shuffled order so that ties are not already in seq order.
    for (let i = seqs.length - 1; i > 0; i--) {
      const j = rng.nextInt(i + 1);
      [seqs[i], seqs[j]] = [seqs[j] as number, seqs[i] as number];
    }
    for (const seq of seqs) {
      const e = { time: rng.nextInt(50) * 1000, seq };
      q.push(e.time, e.seq, e);
      ref.push(e);
    }
    ref.sort(byKey);
    expect(q.size).toBe(2000);
    expect(drain(q)).toEqual(ref);
  });

  it('stays ordered when pushes and pops interleave (actors re-enqueued while the loop runs)', () => {
    const rng = new Prng(7, 'queue-interleave');
    const q = new Q<Entry>();
    const ref: Entry[] = [];
    let seq = 0;
    const popped: Entry[] = [], expected: Entry[] = [];
    for (let round = 0; round < 3000; round++) {
      if (ref.length && rng.nextInt(3) === 0) {
        ref.sort(byKey);
        expected.push(ref.shift() as Entry);
        expect(q.peekTime()).toBe((expected[expected.length - 1] as Entry).time);
        popped.push(q.pop());
      } else {
        const e = { time: rng.nextInt(20), seq: seq++ };
        q.push(e.time, e.seq, e);
        ref.push(e);
      }
    }
    expect(popped).toEqual(expected);
    expect(q.size).toBe(ref.length);
  });

  it('keeps times beyond 2^32 ns (seconds of simulated time) exact', () => {
    const q = new Q<number>();
    q.push(2 ** 40 + 1, 0, 2); q.push(2 ** 40, 1, 1); q.push(2 ** 33, 2, 0);
    expect(drain(q)).toEqual([0, 1, 2]);
  });

  it('nextTime() is the earliest time after the top, stale or not; Infinity with fewer than two entries', () => {
    const q = new IdQueue();
    expect(q.nextTime()).toBe(Infinity);
    q.push(10, 0, 0);
    expect(q.nextTime()).toBe(Infinity);
    q.push(30, 1, 1);
    expect(q.nextTime()).toBe(30);
    q.push(20, 2, 2); q.push(5, 3, 3);
    expect(q.topId()).toBe(3);
    expect(q.nextTime()).toBe(10);
  });

  it('replaceTop() is a pop() then a push(), in one pass: the same order as the two calls', () => {
    const rng = new Prng(11, 'queue-replace');
    const a = new IdQueue(), b = new IdQueue();
    let seq = 0;
    for (let i = 0; i < 200; i++) {
      const t = rng.nextInt(30);
      a.push(t, seq, i); b.push(t, seq, i); seq++;
    }
    for (let round = 0; round < 2000; round++) {
      const t = a.peekTime() + rng.nextInt(25);
      const id = a.topId();
      expect(b.pop()).toBe(id);
      b.push(t, seq, id);
      a.replaceTop(t, seq, id);
      seq++;
      expect(a.size).toBe(b.size);
      expect(a.peekTime()).toBe(b.peekTime());
      expect(a.topId()).toBe(b.topId());
    }
    const da: number[] = [], db: number[] = [];
    while (a.size) da.push(a.pop());
    while (b.size) db.push(b.pop());
    expect(da).toEqual(db);
  });
});
