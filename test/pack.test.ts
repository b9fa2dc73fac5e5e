/**
 * pinsim as a consumer gets it: `npm pack` (the build already made, so no `prepare` runs), the
 * tarball installed into a temporary project with no network (pinsim has no runtime dependency;
 * vitest comes from this repository's node_modules), then the README's "Library use" examples run
 * there as vitest test files (ESM), and `require('pinsim')` from CommonJS.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, ensureBuilt } from './helpers/dist.js';
import { README, blocks, section } from './helpers/readme.js';

let tmp = '';
let project = '';
let installed = '';
const npm = (args: string[], cwd: string) => spawnSync('npm', args, { cwd, encoding: 'utf8', shell: process.platform === 'win32' });

beforeAll(() => {
  ensureBuilt();
  tmp = mkdtempSync(join(tmpdir(), 'pinsim-pack-'));
  const pack = npm(['pack', '--ignore-scripts', '--pack-destination', tmp, '--json'], ROOT);
  expect(pack.status, pack.stderr).toBe(0);
  const tarball = join(tmp, (JSON.parse(pack.stdout) as { filename: string }[])[0]!.filename);
  project = join(tmp, 'project');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }));
  const install = npm(['install', tarball, '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], project);
  expect(install.status, install.stderr).toBe(0);
  installed = join(project, 'node_modules', 'pinsim');
  // The optional peer, from this repository: no network needed.
  symlinkSync(join(ROOT, 'node_modules', 'vitest'), join(project, 'node_modules', 'vitest'), 'dir');
}, 240_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

describe('the packed package', () => {
  it('ships the manual, the sources its source maps point at, and nothing that names documents outside it', () => {
    for (const f of ['docs/manual.md', 'docs/invariants.md', 'docs/kernel-model.md', 'src/index.ts', 'dist/index.js.map', 'dist/cli/main.js']) {
      expect(existsSync(join(installed, f)), f).toBe(true);
    }
    const map = JSON.parse(readFileSync(join(installed, 'dist', 'scenario', 'run', 'run.js.map'), 'utf8')) as { sources: string[] };
    for (const s of map.sources) expect(existsSync(join(installed, 'dist', 'scenario', 'run', s)), s).toBe(true);
    const offending = files(installed).filter((f) => /\.(md|js|ts|json|mjs|mts)$/.test(f) && /DESIGN|kernel-semantics/.test(readFileSync(f, 'utf8')));
    expect(offending).toEqual([]);
  });

  it('runs the README\'s vitest examples (ESM)', () => {
    const code = blocks(section(README, 'Library use'), 'ts');
    expect(code.length).toBeGreaterThanOrEqual(3);
    code.forEach((c, i) => writeFileSync(join(project, `readme-${i}.test.ts`), c));
    const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--reporter', 'verbose'], { cwd: project, encoding: 'utf8' });
    const out = (r.stdout + r.stderr).replace(/\x1b\[[0-9;]*m/g, '');
    expect(r.status, out).toBe(0);
    const tests = code.reduce((n, c) => n + [...c.matchAll(/^test\(/gm)].length, 0);
    expect(out).toMatch(new RegExp(`Tests\\s+${tests} passed \\(${tests}\\)`));
  }, 120_000);

  it('loads with require() from CommonJS, the matchers\' entry too', () => {
    writeFileSync(join(project, 'check.cjs'), [
      "const { runScenario, explore } = require('pinsim');",
      "const { join, dirname } = require('node:path');",
      "const s = JSON.parse(require('node:fs').readFileSync(join(dirname(require.resolve('pinsim/package.json')), 'examples', 'gup-nic-truncate.json'), 'utf8'));",
      "const r = runScenario(s, { policy: 'linux-4.20' });",
      "const e = explore(s, { policy: 'linux-6.12', strategy: 'random', runs: 3 });",
      "console.log(r.violations.map((v) => v.kind).join(','), e.executions, typeof require('pinsim/vitest').setupPinsimMatchers);",
    ].join('\n'));
    const r = spawnSync(process.execPath, ['check.cjs'], { cwd: project, encoding: 'utf8' });
    expect(r.stderr).not.toMatch(/ERR_|Error/);
    expect(r.stdout.trim()).toBe('lost-write 3 function');
  });
});
