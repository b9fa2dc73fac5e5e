/**
 * Did-you-mean for scenario issues ("the closest valid name"). The distance is
 * Damerau-Levenshtein in its optimal-string-alignment form (an adjacent swap costs 1, as the typo
 * `mamp` for `mmap` should), compared case-insensitively. A suggestion is made only when it is
 * plausibly what was meant: at most max(2, ⌊len/3⌋) edits and not a total rewrite, or the word is a
 * prefix (≥ 3 characters) of the candidate, as `linux-6` is of `linux-6.12`. Among equally near
 * candidates the one closest in length wins, then the earlier one.
 */

/** closest() - the candidate nearest to `word`, or undefined when none is plausibly meant. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  let bestSkew = Infinity;
  for (const candidate of candidates) {
    const c = candidate.toLowerCase();
    const d = osaDistance(w, c);
    const plausible = (d <= Math.max(2, Math.floor(w.length / 3)) && d < Math.max(w.length, c.length))
      || (w.length >= 3 && c.startsWith(w));
    // Ties go to the candidate closest in length (`wr` means `rw`, not `r`), then to the earlier one.
    const skew = Math.abs(c.length - w.length);
    if (plausible && (d < bestDistance || (d === bestDistance && skew < bestSkew))) {
      best = candidate;
      bestDistance = d;
      bestSkew = skew;
    }
  }
  return best;
}

/** osaDistance() - edits (insert, delete, substitute, swap adjacent) turning `a` into `b`. */
export function osaDistance(a: string, b: string): number {
  const n = a.length;
  const m = b.length;
  if (n === 0) return m;
  if (m === 0) return n;
  // Three rolling rows: the swap rule looks two rows back.
  let prev2 = new Array<number>(m + 1).fill(0);
  let prev = Array.from({ length: m + 1 }, (_, j) => j);
  let cur = new Array<number>(m + 1).fill(0);
  for (let i = 1; i <= n; i++) {
    cur[0] = i;
    for (let j = 1; j <= m; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, (prev2[j - 2] ?? 0) + 1);
      }
      cur[j] = d;
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[m] ?? 0;
}
