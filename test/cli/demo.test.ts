/**
 * `npm run demo` as a reader of the 2018 thread sees it: every line fits a terminal of 100 columns
 * (counted in code points, so `µ` is one), a legend under the matrix explains every word a cell
 * shows, and "who is punished" counts only scenarios that model merged kernel code or the
 * proposals, naming the one it leaves out and why; ODP's error for a DMA beyond EOF is no punishment.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, ensureBuilt } from '../helpers/dist.js';
import { defaultRegistry } from '../../src/scenario/registry.js';

const POLICIES = [...defaultRegistry().policies.keys()];
let out = '';

beforeAll(() => {
  ensureBuilt();
  // What `npm run demo` runs, from package.json, without npm's banner.
  const demo = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts['demo'] as string;
  const [node, ...args] = demo.split(' ');
  expect(node).toBe('node');
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8' });
  expect(r.status).toBe(0);
  out = r.stdout;
}, 180_000);

/** The matrix: each scenario's name line followed by its cell lines, up to the blank line. */
function cells(): Map<string, string[]> {
  const lines = out.slice(0, out.indexOf('\n\n')).split('\n');
  const start = lines.findIndex((l) => /^ {2}-+$/.test(l)) + 1;
  const rows = new Map<string, string[]>();
  let name = '';
  for (const l of lines.slice(start)) {
    if (!l.startsWith(' ')) rows.set((name = l), []);
    else rows.get(name)!.push(...l.trim().split(/ {2,}/));
  }
  return rows;
}

describe('npm run demo', () => {
  it('has no line wider than 100 code points', () => {
    const widths = out.split('\n').map((l) => [...l].length);
    expect(Math.max(...widths)).toBeLessThanOrEqual(100);
    // Counting code points, not bytes: the µ of "blocked 29.7µs" is one column.
    expect(out).toContain('µs');
  });

  it('shows every scenario with a cell for every policy, the policies in the order the header gives', () => {
    const rows = cells();
    expect(rows.size).toBe(14);
    for (const [, c] of rows) expect(c).toHaveLength(POLICIES.length);
    const header = out.split('\n').slice(1, 1 + Math.ceil(POLICIES.length / 5) + 1).join(' ').trim().split(/\s+/).filter((w) => !/^-+$/.test(w));
    expect([...header].sort()).toEqual([...POLICIES].sort());
    expect(rows.get('01-gup-truncate-today')?.[header.indexOf('linux-4.20')]).toBe('lost-write');
    expect(rows.get('01-gup-truncate-today')?.[header.indexOf('linux-6.12')]).toBe('EFAULT@reg_mr');
  });

  it('explains every word a cell shows in the legend under the matrix, the + mark included', () => {
    const legend = out.slice(out.indexOf('\n\n') + 2, out.indexOf('who is punished'));
    const keys = legend.split('\n').filter((l) => /^ {2}\S/.test(l)).map((l) => l.trim().split(/ {2,}/)[0] as string);
    for (const [, c] of cells()) {
      for (const cell of c) {
        const word = cell.replace(/[+!]$/, '');
        const generic = /^E[A-Z0-9]+@/.test(word) ? 'E…@op' : word.startsWith('blocked ') ? 'blocked T' : word;
        expect(keys.includes(word) || keys.includes(generic), `the legend explains "${word}"`).toBe(true);
        if (cell.endsWith('+')) expect(keys).toContain('+');
      }
    }
    for (const w of ['dummy-page', 'reused-page', 'incoherent', 'blocked T', '+']) expect(keys).toContain(w);
  });

  it('counts who is punished over the 13 scenarios of merged code or proposals, and says which one it leaves out and why', () => {
    expect(out).toMatch(/^who is punished, in how many of the 13 scenarios that model merged kernel code or the proposals:$/m);
    expect(out).toMatch(/^ {2}07-odp-teardown-failure-fatal is left out: nic0 stops all DMA after a failed zap UMR, which no\n {2}driver code makes it do/m);
    // 06 shows the reused page everywhere (what the code does); 05 (ODP, a DMA beyond EOF) is no punishment: linux-6.12's RDMA
    // user is punished by the eight scenarios where the pin is refused, not ten.
    expect(cells().get('05-odp-truncate')).toEqual(POLICIES.map(() => 'beyond-EOF'));
    expect(out).toMatch(/^ {2}linux-6\.12 +the data 1, the filesystem 1, the RDMA user 8$/m);
  });
});
