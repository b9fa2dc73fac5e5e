/**
 * Every example under kernel.thp "always" with 2 MiB page-cache folios: anonymous memory gets THP
 * wherever a VMA covers an aligned 2 MiB, files large folios where the era has them. Whatever the
 * outcome, the books must balance and pinsim must not trip over itself: no run error, no
 * refcount-leak, and no kernel BUG or WARN the same run without large folios does not have.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../src/scenario/run/run.js';

const EXAMPLES = fileURLToPath(new URL('../../examples', import.meta.url));
const files = ['', 'thread-2018', 'hugetlb', 'thp'].flatMap((d) => readdirSync(join(EXAMPLES, d)).filter((f) => f.endsWith('.json')).map((f) => join(d, f)));
const SELF = ['refcount-leak', 'kernel-bug', 'kernel-warn'];

function run(file: string, policy: string, large: boolean) {
  const s = JSON.parse(readFileSync(join(EXAMPLES, file), 'utf8')) as Record<string, unknown> & { kernel?: Record<string, unknown>; files?: Record<string, Record<string, unknown>> };
  delete s['expect'];
  delete s['expectByPolicy'];
  if (large) {
    s.kernel = { ...s.kernel, thp: 'always' };
    for (const f of Object.values(s.files ?? {})) if (f['fs'] !== 'hugetlbfs' && !f['dax']) f['folioSize'] = '2M';
  }
  const r = runScenario(s, { policy });
  return { error: r.error, kinds: [...new Set(r.violations.map((v) => v.kind).filter((k) => SELF.includes(k)))].sort() };
}

describe('every example with THP and large page-cache folios', () => {
  it.each(files.flatMap((f) => ['linux-5.7', 'linux-6.12'].map((p) => [f, p] as const)))('%s under %s: no error, no leak, no new BUG or WARN', (file, policy) => {
    const large = run(file, policy, true), base = run(file, policy, false);
    expect(large.error).toBeUndefined();
    expect(large.kinds).not.toContain('refcount-leak');
    expect(large.kinds).toEqual(base.kinds.filter((k) => k !== 'refcount-leak'));
  });
});
