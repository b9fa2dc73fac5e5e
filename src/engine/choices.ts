/**
 * Choices: the index picked at every choice point (a pick among two or more candidates). With the
 * seed, policy, window and jitter they are the whole replay (loom/shuttle). Encoded as "0:1:3".
 */
export type Choices = number[];

export function encodeChoices(c: readonly number[]): string {
  return c.join(':');
}

export function decodeChoices(s: string): Choices {
  if (s.trim() === '') return [];
  return s.split(':').map((x) => {
    const n = Number(x);
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`bad choice "${x}" in "${s}"`);
    return n;
  });
}
