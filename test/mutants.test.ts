/**
 * npm run mutants (scripts/mutants.mjs) stays in step with the sources: every mutant's patch
 * still applies and changes its file, every test file it names exists, the suite covers mm/,
 * devices/, policy/ and invariants/ with at least 40 mutants, among them the three that once
 * survived npm test. Running the mutants themselves is `npm run mutants` (minutes, not part of
 * npm test); this only fails fast when a merge moved the code a mutant patches.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MUTANTS, apply } from '../scripts/mutants.mjs';

const ROOT = join(import.meta.dirname, '..');

describe('the mutation suite', () => {
  it('has at least 40 mutants with distinct ids, over mm/, devices/, policy/ and invariants/', () => {
    expect(MUTANTS.length).toBeGreaterThanOrEqual(40);
    expect(new Set(MUTANTS.map((m) => m.id)).size).toBe(MUTANTS.length);
    for (const layer of ['mm', 'devices', 'policy', 'invariants']) {
      expect(MUTANTS.filter((m) => m.file.startsWith(`src/${layer}/`)).length, layer).toBeGreaterThanOrEqual(5);
    }
  });

  it('holds the three kinds that once survived npm test', () => {
    const ids = MUTANTS.map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining(['read-begin-no-wait', 'revoke-first-mr-only', 'iommu-unmaps-whole-mr']));
  });

  it.each(MUTANTS)('$id still applies to $file and names test files that exist', (m) => {
    const src = readFileSync(join(ROOT, m.file), 'utf8');
    expect(apply(m, src)).not.toBe(src);
    expect(m.tests.length).toBeGreaterThan(0);
    for (const t of m.tests) expect(existsSync(join(ROOT, t)), t).toBe(true);
  });

  it('apply() refuses a patch that no longer matches the source', () => {
    const m = MUTANTS[0]!;
    expect(() => apply(m, 'nothing of it here')).toThrow(/is not in .*update the mutant/);
  });
});
