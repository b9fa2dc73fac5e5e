/**
 * Walking the leaves of a sparse table and the set bits of a leaf's presence bitmap: what every
 * radix-like table of the simulator (page tables, device tables, checkers' books) does to visit a
 * range at the cost of what it holds, not of the range's size. (Domain-free.)
 */

/**
 * leafKeysIn() - the keys of @leaves in [k0, k1], in increasing order: every key of the range when
 * it is no longer than the map holds, else the map's own keys that fall in it (a sparse range).
 */
export function leafKeysIn(leaves: ReadonlyMap<number, unknown>, k0: number, k1: number): number[] {
  if (k1 < k0 || leaves.size === 0) return [];
  if (k1 - k0 + 1 > leaves.size) return [...leaves.keys()].filter((k) => k >= k0 && k <= k1).sort((a, b) => a - b);
  const out: number[] = [];
  for (let k = k0; k <= k1; k++) if (leaves.has(k)) out.push(k);
  return out;
}

/** The set bits of @word between bit @a and bit @b (inclusive). */
function bitsIn(word: number, a: number, b: number): number {
  const lo = (0xffffffff << a) >>> 0;
  const hi = b >= 31 ? 0xffffffff : ((1 << (b + 1)) >>> 0) - 1;
  return (word & lo & hi) >>> 0;
}

/**
 * forEachSetBit() - hand @fn the index of every set bit of @words (32 bits a word) in [j0, j1],
 * lowest first. The bitmap may change under @fn; each word is read once, before its bits are handed out.
 */
export function forEachSetBit(words: Uint32Array, j0: number, j1: number, fn: (j: number) => void): void {
  for (let w = j0 >>> 5; w <= j1 >>> 5; w++) {
    let bits = bitsIn(words[w] as number, w === j0 >>> 5 ? j0 & 31 : 0, w === j1 >>> 5 ? j1 & 31 : 31);
    while (bits) {
      const low = bits & -bits;
      bits = (bits ^ low) >>> 0;
      fn(w * 32 + (31 - Math.clz32(low)));
    }
  }
}

/** anySetBit() - is some bit of @words in [j0, j1] set? */
export function anySetBit(words: Uint32Array, j0: number, j1: number): boolean {
  for (let w = j0 >>> 5; w <= j1 >>> 5; w++) {
    if (bitsIn(words[w] as number, w === j0 >>> 5 ? j0 & 31 : 0, w === j1 >>> 5 ? j1 & 31 : 31)) return true;
  }
  return false;
}

/** rangeMask() - the bits of word @w of a bitmap that fall in [j0, j1]. */
export function rangeMask(w: number, j0: number, j1: number): number {
  return bitsIn(0xffffffff, w === j0 >>> 5 ? j0 & 31 : 0, w === j1 >>> 5 ? j1 & 31 : 31);
}

/** firstSetBit() - the lowest set bit of @words in [j0, j1], or -1. */
export function firstSetBit(words: Uint32Array, j0: number, j1: number): number {
  for (let w = j0 >>> 5; w <= j1 >>> 5; w++) {
    const bits = bitsIn(words[w] as number, w === j0 >>> 5 ? j0 & 31 : 0, w === j1 >>> 5 ? j1 & 31 : 31);
    if (bits) return w * 32 + (31 - Math.clz32(bits & -bits));
  }
  return -1;
}

/** lastSetBit() - the highest set bit of @words in [j0, j1], or -1. */
export function lastSetBit(words: Uint32Array, j0: number, j1: number): number {
  for (let w = j1 >>> 5; w >= j0 >>> 5; w--) {
    const bits = bitsIn(words[w] as number, w === j0 >>> 5 ? j0 & 31 : 0, w === j1 >>> 5 ? j1 & 31 : 31);
    if (bits) return w * 32 + (31 - Math.clz32(bits));
  }
  return -1;
}
