/**
 * Virtual time: an integer count of nanoseconds, and the unit parsers for sizes and times that
 * scenario files use. Pure functions; the clock itself is a field of the scheduler.
 */

export const NS = 1;
export const US = 1_000;
export const MS = 1_000_000;
export const S = 1_000_000_000;

/** The result of parsing a unit string: a value or a reason it is not one. */
export type Parsed = { ok: true; value: number } | { ok: false; expected: string };

// Maps, not object literals: a unit word is user input, and "4constructor" must not find Object.
const SIZE_UNITS: ReadonlyMap<string, number> = new Map([['', 1], ['K', 1024], ['M', 1024 ** 2], ['G', 1024 ** 3], ['T', 1024 ** 4], ['p', 4096]]);
const TIME_UNITS: ReadonlyMap<string, number> = new Map([['', 1], ['ns', NS], ['us', US], ['µs', US], ['ms', MS], ['s', S]]);

const SIZE_EXPECTED = 'a non-negative integer of bytes or a string like "4K", "16p", "2M" (K/M/G/T are powers of 1024, p is 4096-byte pages; no space before the unit)';
const TIME_EXPECTED = 'a non-negative integer of ns or a string like "10us", "1.5ms", "2s" (ns, us, µs, ms, s; no space before the unit)';

function parseWithUnits(v: unknown, units: ReadonlyMap<string, number>, expected: string): Parsed {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0) return { ok: false, expected };
    return { ok: true, value: v };
  }
  if (typeof v !== 'string') return { ok: false, expected };
  // The unit follows the digits directly, as in the kernel's own memparse() ("16K", not "16 K").
  const m = /^(\d+)(?:\.(\d+))?([A-Za-zµ]*)$/.exec(v);
  if (!m) return { ok: false, expected };
  const mult = units.get(m[3] ?? '');
  if (mult === undefined) return { ok: false, expected };
  // Exact decimal arithmetic ("16.1us" is 16100 ns, not 16100.000000000002): the digits scaled by
  // the unit must come out as a whole number of bytes or nanoseconds.
  const frac = m[2] ?? '';
  const scaled = BigInt(m[1]! + frac) * BigInt(mult);
  const denom = 10n ** BigInt(frac.length);
  if (scaled % denom !== 0n) return { ok: false, expected };
  const value = Number(scaled / denom);
  if (!Number.isSafeInteger(value)) return { ok: false, expected };
  return { ok: true, value };
}

/** parseSize() - bytes from `8`, `"4K"`, `"16p"` (K/M/G/T powers of 1024, p pages of 4096 bytes). */
export function parseSize(v: unknown): Parsed {
  return parseWithUnits(v, SIZE_UNITS, SIZE_EXPECTED);
}

/** parseTime() - nanoseconds from `100`, `"10us"`, `"1.5ms"` (ns, us, µs, ms, s). */
export function parseTime(v: unknown): Parsed {
  return parseWithUnits(v, TIME_UNITS, TIME_EXPECTED);
}

/** formatTime() - a human time for reports: `"20.3µs"`, `"1.2ms"`, `"400ns"`. */
export function formatTime(ns: number): string {
  if (ns < US) return `${ns}ns`;
  if (ns < MS) return `${trim(ns / US)}µs`;
  if (ns < S) return `${trim(ns / MS)}ms`;
  return `${trim(ns / S)}s`;
}

/** formatSize() - `"4K"`, `"64K"`, `"1M"`, or bytes. */
export function formatSize(bytes: number): string {
  for (const [u, m] of [['G', 1024 ** 3], ['M', 1024 ** 2], ['K', 1024]] as const) {
    if (bytes >= m && bytes % m === 0) return `${bytes / m}${u}`;
  }
  return `${bytes}`;
}

function trim(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(x < 10 ? 2 : 1).replace(/0+$/, '').replace(/\.$/, '');
}
