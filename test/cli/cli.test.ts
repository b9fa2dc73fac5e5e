/**
 * The `pinsim` CLI as users run it: the built dist/cli/main.js spawned on fixtures, checking exit
 * statuses 0/1/2 (DESIGN §8), what stdout tells, and that bad input never shows a stack trace.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultRegistry } from '../../src/scenario/registry.js';

/** The policies this build has: `--policy all` runs each. */
const BUILT = [...defaultRegistry().policies.keys()];

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(ROOT, 'dist/cli/main.js');
const EXAMPLE = 'examples/gup-nic-truncate.json';
let tmp = '';

function pinsim(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: ROOT, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A stack frame: `    at fn (/path/file.js:1:2)` or `at file:///…`. */
const STACK_FRAME = /^\s+at .*(\/|file:).*:\d+/m;

function fixture(name: string, edit: (s: Record<string, unknown>) => void): string {
  const s = JSON.parse(readFileSync(join(ROOT, EXAMPLE), 'utf8')) as Record<string, unknown>;
  edit(s);
  const file = join(tmp, name);
  writeFileSync(file, JSON.stringify(s, null, 2));
  return file;
}

beforeAll(() => {
  // Other files may not type-check mid-edit; tsc still emits, and main.js is what we need.
  spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8', shell: process.platform === 'win32' });
  if (!existsSync(MAIN)) throw new Error(`the build did not produce ${MAIN}`);
  tmp = mkdtempSync(join(tmpdir(), 'pinsim-cli-'));
}, 180_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('pinsim list', () => {
  it('lists policies, device models, invariant kinds and examples, and exits 0', () => {
    const r = pinsim('list');
    expect(r.status).toBe(0);
    for (const word of ['linux-4.20', 'linux-6.12', 'gup-nic', 'lost-write', 'gup-nic-truncate', 'THP', 'hugetlb', 'swap', 'NUMA']) {
      expect(r.stdout).toContain(word);
    }
    for (const p of BUILT) expect(r.stdout).toContain(p);
  });

  it('prints the era timeline: each boundary with its version, commit and subject, oldest first', () => {
    const r = pinsim('list');
    expect(r.stdout).toContain('era timeline (any linux-X.Y from 4.19');
    const at = (s: string) => r.stdout.indexOf(s);
    expect(at('5.8    17839856fd58 "gup: document and work around "COW can break either way" issue"')).toBeGreaterThan(0);
    expect(at('5.9    09854ba94c6a "mm: do_wp_page() simplification"')).toBeGreaterThan(at('17839856fd58'));
    expect(at('5.19   a7f226604170')).toBeGreaterThan(at('09854ba94c6a'));
    expect(at('6.2    84209e87c696 "mm/gup: reliable R/O long-term pinning in COW mappings"')).toBeGreaterThan(at('a7f226604170'));
  });
});

describe('pinsim run --policy linux-X.Y', () => {
  it('runs any era of the timeline (linux-5.15: FOLL_PIN, refcount-based COW, no 6.5 refusal), and refuses one before 4.19 with exit 2', () => {
    const r = pinsim('run', EXAMPLE, '--policy', 'linux-5.15', '--json');
    expect(r.status).toBe(1);
    const res = JSON.parse(r.stdout) as { policy: string; results: Record<string, string>; violations: { kind: string }[] };
    expect(res.policy).toBe('linux-5.15');
    expect(res.results['mr']).toBe('ok');
    expect(res.violations.map((v) => v.kind)).toContain('lost-write');
    const old = pinsim('run', EXAMPLE, '--policy', 'linux-4.9');
    expect(old.status).toBe(2);
    expect(old.stderr).toMatch(/unknown policy "linux-4.9"/);
    expect(old.stderr).not.toMatch(STACK_FRAME);
  });
});

describe('pinsim run', () => {
  it('truncate of a file page a gup-nic MR holds under linux-4.20 tells the lost write as a chain, exit 1', () => {
    const r = pinsim('run', EXAMPLE, '--policy', 'linux-4.20');
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('lost-write');
    expect(r.stdout).toMatch(/took a FOLL_GET reference on pfn 0x1 \(f@0\) via get_user_pages_longterm/);
    expect(r.stdout).toMatch(/truncate removed pfn 0x1 from f's page cache \(refcount 1, orphaned\)/);
    expect(r.stdout).toMatch(/nic0 dma_write 4K into pfn 0x1: the write never reaches f/);
    // The raw chain events are there on request.
    const raw = pinsim('run', EXAMPLE, '--policy', 'linux-4.20', '--raw-chains');
    expect(raw.stdout).toMatch(/filemap_remove.*truncate/);
    expect(r.stdout).toMatch(/pfn 0x[0-9a-f]+ f@0/);
    // Violations come before the summary.
    expect(r.stdout.indexOf('lost-write')).toBeLessThan(r.stdout.indexOf('traceHash'));
  });

  it('under linux-6.12 the writable long-term pin of a shared ext4 mapping is refused with EFAULT, exit 0', () => {
    const r = pinsim('run', EXAMPLE, '--policy', 'linux-6.12');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('app.1 (mr) = EFAULT');
    expect(r.stdout).not.toContain('lost-write');
  });

  it('--json prints one JSON document of the result format', () => {
    const r = pinsim('run', EXAMPLE, '--policy', 'linux-4.20', '--json');
    expect(r.status).toBe(1);
    const doc = JSON.parse(r.stdout) as { traceHash: string; policy: string; violations: { kind: string }[] };
    expect(doc.traceHash).toMatch(/^[0-9a-f]+$/);
    expect(doc.policy).toBe('linux-4.20');
    expect(doc.violations.map((v) => v.kind)).toEqual(['lost-write']);
  });

  it('--trace text --out FILE writes ftrace-style lines', () => {
    const out = join(tmp, 'trace.txt');
    const r = pinsim('run', EXAMPLE, '--policy', 'linux-4.20', '--trace', 'text', '--out', out);
    expect(r.status).toBe(1);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines.length).toBeGreaterThan(10);
    for (const l of lines) expect(l).toMatch(/^\d+\.\d{3}µs \S+ [a-z_]+:( \S+=\S*)*$/);
    expect(lines.some((l) => /dma_ref_get: .*pfn=0x1\b/.test(l))).toBe(true);
    expect(lines.some((l) => /filemap_remove: .*reason=truncate/.test(l))).toBe(true);
  });

  it('--trace json writes the events as a JSON array whose traceHash matches the run', () => {
    const out = join(tmp, 'trace.json');
    const r = pinsim('run', EXAMPLE, '--policy', 'linux-4.20', '--trace', 'json', '--out', out, '--json');
    const events = JSON.parse(readFileSync(out, 'utf8')) as { type: string }[];
    expect(events.some((e) => e.type === 'dma_access')).toBe(true);
    expect((JSON.parse(r.stdout) as { stats: { events: number } }).stats.events).toBe(events.length);
  });

  it('--json with --trace but no --out is a usage error, exit 2', () => {
    const r = pinsim('run', EXAMPLE, '--json', '--trace', 'text');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--out');
    expect(r.stdout).toBe('');
  });

  it('an unknown flag is a usage error with did-you-mean, exit 2', () => {
    const r = pinsim('run', EXAMPLE, '--polcy', 'linux-4.20');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--policy');
    expect(r.stderr).not.toMatch(STACK_FRAME);
  });

  it('an unknown policy is refused with the closest name, exit 2', () => {
    const r = pinsim('run', EXAMPLE, '--policy', 'linux-4.2');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('did you mean "linux-4.20"');
    expect(r.stderr).not.toMatch(STACK_FRAME);
  });

  it('a missing scenario file is bad input, exit 2', () => {
    const r = pinsim('run', join(tmp, 'no-such.json'));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('no-such.json');
    expect(r.stderr).not.toMatch(STACK_FRAME);
  });
});

describe('pinsim check', () => {
  it('the truncate example meets its expectations under every built policy, exit 0', () => {
    const r = pinsim('check', EXAMPLE, '--policy', 'all');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^PASS gup-nic-truncate under linux-4\.20: lost-write/m);
    expect(r.stdout).toMatch(/^PASS gup-nic-truncate under linux-6\.12: no violations/m);
    expect(r.stdout).toMatch(new RegExp(`^${BUILT.length} passed, 0 failed, 0 skipped$`, 'm'));
  });

  it('a wrong expectation fails, with the failure indented under FAIL, exit 1', () => {
    const file = fixture('wrong.json', (s) => {
      s['expect'] = { violations: [], results: { 'admin.0': 'ok' } };
    });
    const r = pinsim('check', file, '--policy', 'linux-4.20');
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^FAIL gup-nic-truncate under linux-4\.20: lost-write/m);
    expect(r.stdout).toMatch(/^ {4}violations: expected \[\], got \[lost-write\]$/m);
    expect(r.stdout).toMatch(/^0 passed, 1 failed, 0 skipped$/m);
  });

  it('a scenario with no expect passes only without violations', () => {
    const file = fixture('noexpect.json', (s) => {
      delete s['expect'];
      delete s['expectByPolicy'];
    });
    expect(pinsim('check', file, '--policy', 'linux-6.12').status).toBe(0);
    expect(pinsim('check', file, '--policy', 'linux-4.20').status).toBe(1);
  });

  it('an expectByPolicy skip is reported as SKIP, neither pass nor fail', () => {
    const file = fixture('skip.json', (s) => {
      s['expectByPolicy'] = { ...(s['expectByPolicy'] as object), 'linux-6.12': { skip: 'needs FOLL_GET' } };
    });
    const r = pinsim('check', file, '--policy', 'all');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^SKIP gup-nic-truncate under linux-6\.12: needs FOLL_GET/m);
    expect(r.stdout).toMatch(new RegExp(`^${BUILT.length - 1} passed, 0 failed, 1 skipped$`, 'm'));
  });

  it('a misspelt op is bad input: the JSON path and the closest op on stderr, no stack trace, exit 2', () => {
    const file = fixture('typo.json', (s) => {
      const app = (s['actors'] as Record<string, Record<string, unknown>[]>)['app'] as Record<string, unknown>[];
      (app[0] as Record<string, unknown>)['op'] = 'mmapp';
    });
    for (const cmd of ['check', 'run']) {
      const r = pinsim(cmd, file);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('actors.app[0].op');
      expect(r.stderr).toContain('"mmap"');
      expect(r.stderr).not.toMatch(STACK_FRAME);
    }
  });

  it('a missing path is bad input, exit 2', () => {
    const r = pinsim('check', join(tmp, 'nowhere'));
    expect(r.status).toBe(2);
    expect(r.stderr).not.toMatch(STACK_FRAME);
  });

  it('--json prints a list of results', () => {
    const r = pinsim('check', EXAMPLE, '--policy', 'all', '--json');
    expect(r.status).toBe(0);
    const list = JSON.parse(r.stdout) as { policy: string }[];
    expect(list.map((x) => x.policy).sort()).toEqual([...BUILT].sort());
  });
});

describe('pinsim compare', () => {
  it('prints the scenario × policy matrix and who is punished under each policy, exit 0 when every expectation holds', () => {
    const r = pinsim('compare', join(ROOT, 'examples', 'thread-2018'), '--policy', 'linux-4.20,linux-6.12,block-truncate');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^scenario\s+linux-4\.20\s+linux-6\.12\s+block-truncate$/m);
    expect(r.stdout).toMatch(/^01-gup-truncate-today\s+lost-write\s+EFAULT@reg_mr\s+blocked \d/m);
    expect(r.stdout).toMatch(/^08-writeback-put-user-page\s+kernel BUG\+\s+EFAULT@reg_mr/m);
    expect(r.stdout).toMatch(/^ {2}linux-4\.20\s+the data \d+, /m);
    expect(r.stdout).toMatch(/^ {2}block-truncate\s+.*the filesystem \d+/m);
  });

  it('--json gives the cells with their sentence and victims', () => {
    const r = pinsim('compare', EXAMPLE, '--policy', 'all', '--json');
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout) as { policies: string[]; rows: { scenario: string; cells: Record<string, { short: string; text: string; punished: string[] }> }[] };
    expect(doc.policies).toEqual(BUILT);
    const cells = doc.rows[0]!.cells;
    expect(cells['linux-4.20']).toMatchObject({ short: 'lost-write', punished: ['the data'] });
    expect(cells['revoke']!.text).toContain('device-error');
    expect(cells['block-truncate']!.punished).toEqual(['the filesystem']);
  });

  it('marks a run that misses its expectation and exits 1', () => {
    const file = fixture('wrong-compare.json', (s) => {
      s['expect'] = { violations: [] };
    });
    const r = pinsim('compare', file, '--policy', 'linux-4.20');
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/lost-write!/);
  });
});

describe('pinsim (dispatch)', () => {
  it('--version prints the package version', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = pinsim('--version');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it('explore finds the buggy driver\'s race (exit 1), saves a shrunk counterexample, and replay reproduces its trace hash (exit 0)', () => {
    const dir = join(tmp, 'ce');
    const bug = join(ROOT, 'examples', 'explore', 'gpu-fault-vs-munmap-skip-read-retry.json');
    const r = pinsim('explore', bug, '--save', dir);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^forbid dma-into-reused-page: Sometimes/m);
    expect(r.stdout).toMatch(/strategy dfs, exhaustive \(/);
    const saved = /replay it: npx pinsim replay (\S+)/.exec(r.stdout)?.[1];
    expect(saved).toBeDefined();
    const rep = pinsim('replay', saved!);
    expect(rep.status).toBe(0);
    expect(rep.stdout).toMatch(/dma-into-reused-page/);
    expect(rep.stdout).toMatch(/replay reproduced traceHash [0-9a-f]{16}/);
    // The same file saved before hash schemas were recorded cannot be compared: exit 1, and why.
    const old = JSON.parse(readFileSync(saved!, 'utf8'));
    delete old.replay.hashSchema;
    const oldFile = join(tmp, 'old.replay.json');
    writeFileSync(oldFile, JSON.stringify(old));
    const stale = pinsim('replay', oldFile);
    expect(stale.status).toBe(1);
    expect(stale.stdout).toMatch(/replay did NOT reproduce: the replay file records no hashSchema .* Regenerate it/);
    const ok = pinsim('explore', join(ROOT, 'examples', 'explore', 'gpu-fault-vs-munmap.json'));
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/^forbid dma-into-reused-page: Never \(\d+ executions, exhaustive\)$/m);
  });

  it('explore --shard i/n results merged give the unsharded verdict and, without the state cache, its execution count', () => {
    const bug = join(ROOT, 'examples', 'explore', 'gpu-fault-vs-munmap-skip-read-retry.json');
    const parts = [0, 1, 2].map((i) => {
      const out = join(tmp, `shard${i}.json`);
      pinsim('explore', bug, '--shard', `${i}/3`, '--no-state-cache', '--json', '--out', out);
      return out;
    });
    const merged = pinsim('merge', ...parts);
    const whole = pinsim('explore', bug, '--no-state-cache');
    const tail = (s: string) => s.trim().split('\n').slice(-3).join('\n');
    expect(merged.status).toBe(1);
    expect(tail(merged.stdout).replace(/\(\d+ of/g, '(n of')).toBe(tail(whole.stdout).replace(/\(\d+ of/g, '(n of'));
  });

  it('a replay file whose trace hash does not match exits 1', () => {
    const file = fixture('badreplay.json', (s) => {
      s['replay'] = { policy: 'linux-4.20', seed: 1, choices: [], traceHash: '0000000000000000' };
    });
    const r = pinsim('replay', file);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/did NOT reproduce/);
  });

  it('an unknown command suggests the closest one, exit 2', () => {
    const r = pinsim('chek', EXAMPLE);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('check');
  });
});
