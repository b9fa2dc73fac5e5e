import { describe, expect, it } from 'vitest';
import { FOLIO_ORDER_SHIFT, MAX_FOLIO_ORDER, MemMap } from '../../../src/mm/mem_map.js';
import { PageAllocator } from '../../../src/mm/page_alloc.js';
import * as types from '../../../src/mm/types.js';

function alloc(limitPages: number) {
  const m = new MemMap();
  return { m, a: new PageAllocator(m, limitPages) };
}

describe('the page allocator: folios of every order', () => {
  it('every PG_* bit lies below the order bits, and the largest order fits in the 16-bit flags above them', () => {
    const pg = Object.entries(types).filter(([name]) => name.startsWith('PG_')).map(([, v]) => v as number);
    expect(pg.length).toBeGreaterThan(5);
    for (const bit of pg) expect(bit).toBeLessThan(1 << FOLIO_ORDER_SHIFT);
    expect(MAX_FOLIO_ORDER << FOLIO_ORDER_SHIFT).toBeLessThan(1 << 16);
    // An order-0 frame with every flag set still reads as order 0.
    const m = new MemMap();
    m.flags[1] = pg.reduce((a, b) => a | b, 0);
    expect(m.folio_order(1)).toBe(0);
  });

  it('order 0 stays LIFO: a freed frame is the next one handed out', () => {
    const { a } = alloc(64);
    const p1 = a.alloc_page(), p2 = a.alloc_page();
    a.free_page(p1);
    expect(a.alloc_page()).toBe(p1);
    expect(a.alloc_page()).toBe(p2 + 1);
  });

  it('an order-9 folio is an aligned block of 512 frames, each carrying the order, with one generation', () => {
    const { m, a } = alloc(4096);
    a.alloc_page();
    const head = a.alloc_pages(9);
    expect(head % 512).toBe(0);
    expect(head).toBe(512);
    expect(m.folio_order(head + 300)).toBe(9);
    expect(m.folio_head(head + 300)).toBe(head);
    expect(m.folio_nr_pages(head + 1)).toBe(512);
    expect(new Set(Array.from({ length: 512 }, (_, i) => m.genOf(head + i)))).toEqual(new Set([m.genOf(head)]));
    expect(a.used).toBe(513);
  });

  it('the frames skipped to align a block are free order-0 frames, handed out lowest first', () => {
    const { a } = alloc(4096);
    const p1 = a.alloc_page();
    a.alloc_pages(9);
    expect(a.alloc_page()).toBe(p1 + 1);
    expect(a.alloc_page()).toBe(p1 + 2);
  });

  it('a freed block comes back whole for the next folio of its order, and a larger one is split for a smaller order', () => {
    const { m, a } = alloc(8192);
    const big = a.alloc_pages(10);
    a.free_pages(big, 10);
    expect(m.free[big + 5]).toBe(1);
    const h1 = a.alloc_pages(9), h2 = a.alloc_pages(9);
    expect([h1, h2].sort((x, y) => x - y)).toEqual([big, big + 512]);
  });

  it('no aligned block within kernel.memory: the allocation fails (-1) though enough frames are free, and the caller falls back', () => {
    const { a } = alloc(1100);
    a.alloc_page();
    expect(a.alloc_pages(9)).toBe(512);
    // 511 frames below the block are free, but no aligned 512 fits below pfn 1100.
    expect(a.alloc_pages(9)).toBe(-1);
    expect(a.used).toBe(513);
    expect(a.alloc_page()).toBe(2);
  });

  it('order 0 splits a freed block when every other frame is taken', () => {
    const { m, a } = alloc(512);
    const head = a.alloc_pages(8);
    for (let i = 1; i < head; i++) a.alloc_page();
    expect(a.alloc_page()).toBe(512); // the last physical frame (pfn 0 is the zero page)
    a.free_pages(head, 8);
    const p = a.alloc_page();
    expect(p).toBe(head);
    expect(m.folio_order(p)).toBe(0);
  });
});
