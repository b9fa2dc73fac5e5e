import { describe, it, expect } from 'vitest';
import { MS, S, US, formatSize, formatTime, parseSize, parseTime } from '../../../src/engine/clock.js';

const value = (r: ReturnType<typeof parseSize>): number | undefined => (r.ok ? r.value : undefined);

describe('parseSize', () => {
  it.each([
    [8, 8], ['8', 8], [0, 0], ['4K', 4096], ['16p', 65536], ['2M', 2 * 1024 ** 2], ['1G', 1024 ** 3], ['1T', 1024 ** 4],
    ['0.5K', 512], [2 ** 53 - 1, 2 ** 53 - 1],
  ])('reads %j as %d bytes', (input, bytes) => {
    expect(value(parseSize(input))).toBe(bytes);
  });

  it.each([
    [-1], ['-4K'], [1.5], ['1.5'], ['0.3K'], [2 ** 53], ['9000000T'], ['4Q'], ['4k'], ['4KB'], [''], ['K'], [NaN], [Infinity],
    ['16 K'], ['4 K'], [' 4K'], ['4K '], ['4\tK'],
    [true], [null], [undefined], [[4096]], [{ size: 1 }],
  ])('refuses %j with the expected text', (input) => {
    const r = parseSize(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.expected).toMatch(/non-negative integer of bytes.*"4K"/);
  });
});

describe('parseTime', () => {
  it.each([
    [100, 100], ['100', 100], ['100ns', 100], ['10us', 10 * US], ['10µs', 10 * US], ['1.5ms', 1_500_000], ['2s', 2 * S],
    ['0.5us', 500], ['25us', 25_000],
  ])('reads %j as %d ns', (input, ns) => {
    expect(value(parseTime(input))).toBe(ns);
  });

  it.each([[-1], ['-1us'], [0.5], ['0.5ns'], ['1.0000000001s'], ['10 parsecs'], ['1m'], ['1h'], ['1MS'], [false], [{}], ['10 us'], ['10 µs'], [' 10us'], ['100 ']])(
    'refuses %j with the expected text',
    (input) => {
      const r = parseTime(input);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.expected).toMatch(/non-negative integer of ns.*"10us".*no space before the unit/);
    },
  );

  it('does not take size units for times or time units for sizes', () => {
    expect(parseTime('4K').ok).toBe(false);
    expect(parseSize('4us').ok).toBe(false);
  });
});

describe('formatTime / formatSize', () => {
  it.each([[400, '400ns'], [US, '1µs'], [20_300, '20.3µs'], [1_200_000, '1.2ms'], [MS, '1ms'], [1_500 * MS, '1.5s'], [0, '0ns']])(
    'formats %d ns as %s',
    (ns, text) => {
      expect(formatTime(ns)).toBe(text);
    },
  );

  it.each([[4096, '4K'], [65536, '64K'], [1024 ** 2, '1M'], [3 * 1024 ** 3, '3G'], [4097, '4097'], [1536, '1536'], [0, '0']])(
    'formats %d bytes as %s',
    (bytes, text) => {
      expect(formatSize(bytes)).toBe(text);
    },
  );

  it('formats sizes that parse back to the same bytes', () => {
    for (const bytes of [0, 1, 4096, 65536, 5 * 1024 ** 2, 12345]) expect(value(parseSize(formatSize(bytes)))).toBe(bytes);
  });
});

describe('parseTime / parseSize: exact decimals (regression: 16.1us was refused as 16100.000000000002 ns)', () => {
  it.each([['16.1us', 16_100], ['32.3us', 32_300], ['1.001ms', 1_001_000], ['9999.9us', 9_999_900], ['0.000000001s', 1], ['2.50ms', 2_500_000]])(
    'parses %s as %d ns',
    (text, ns) => {
      expect(value(parseTime(text))).toBe(ns);
    },
  );

  it('parses every one-decimal microsecond value up to 9999.9us exactly', () => {
    for (let tenths = 0; tenths < 100_000; tenths++) {
      const text = `${Math.floor(tenths / 10)}.${tenths % 10}us`;
      expect(value(parseTime(text))).toBe(tenths * 100);
    }
  });

  it('still refuses a fraction of a nanosecond or of a byte', () => {
    expect(parseTime('1.5ns').ok).toBe(false);
    expect(parseTime('0.0001us').ok).toBe(false);
    expect(parseSize('1.5').ok).toBe(false);
    expect(value(parseSize('1.5K'))).toBe(1536);
  });
});
