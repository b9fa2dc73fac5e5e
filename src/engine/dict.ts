/**
 * (pinsim-only) Tables keyed by names users choose. A plain object literal inherits
 * Object.prototype, so a key like `__proto__` assigned into it changes its prototype instead of
 * adding an entry, and a lookup of `constructor` or `toString` finds a function nobody stored. A
 * table made by dict() has no prototype: every string is an ordinary key, and it still prints,
 * spreads and serialises as the plain object it stands for.
 */

/** dict() - an empty table with no prototype, optionally filled from @entries. */
export function dict<T>(entries?: Iterable<readonly [string, T]>): Record<string, T> {
  const d = Object.create(null) as Record<string, T>;
  if (entries) for (const [k, v] of entries) d[k] = v;
  return d;
}

/** own() - @o's own entry @key, never an inherited member (a name users chose may be `constructor`). */
export function own<T>(o: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}
