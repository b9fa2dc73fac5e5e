/**
 * `.ts` scenario modules (DESIGN §5, issue 9): loaded by the CLI through the ts-hook.ts load hook,
 * which transpiles with the optional peer `typescript` and keeps inline source maps. A module using
 * the typed builder (imported by absolute path or relatively) runs; an exception in it points at its
 * own file and line; without typescript installed the CLI says so and exits 2.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../helpers/dist.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(ROOT, 'dist/cli/main.js');
const INDEX_URL = pathToFileURL(join(ROOT, 'dist/index.js')).href;
const STACK_FRAME = /^\s+at .*(\/|file:).*:\d+/m;
/** Outside the repository: no typescript resolves from here. */
let outside = '';
/** Inside the repository (a dot-directory, which `check` skips): relative imports reach dist/. */
let inside = '';

function run(cwd: string, main: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [main, ...args], { cwd, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The 2018 truncate race with the typed builder; `from` is how it imports pinsim. */
function builderModule(from: string): string {
  return [
    `import { scenario } from '${from}';`,
    `import type { ScenarioInput } from '${from}';`,
    '',
    'const pages: number = 16;',
    'const s: ScenarioInput = scenario(\'ts-gup-nic-truncate\')',
    "  .kernel({ policy: 'linux-4.20' })",
    "  .file('f', { fs: 'ext4', size: `${pages * 4}K` })",
    "  .device('nic0', { model: 'gup-nic' })",
    "  .actor('app', [",
    "    { op: 'mmap', file: 'f', length: `${pages}p`, prot: 'rw', flags: ['shared'], as: 'buf' },",
    "    { op: 'reg_mr', device: 'nic0', addr: 'buf', length: `${pages}p`, access: 'rw', as: 'mr' },",
    "    { op: 'dma_write', mr: 'mr', offset: 0, length: '4K', at: '30us', as: 'w2' },",
    '  ])',
    "  .actor('admin', [{ op: 'ftruncate', file: 'f', length: 0, at: '20us' }])",
    '  .build();',
    'export default s;',
    '',
  ].join('\n');
}

beforeAll(() => {
  ensureBuilt();
  outside = mkdtempSync(join(tmpdir(), 'pinsim-ts-'));
  inside = mkdtempSync(join(ROOT, '.tmp-ts-scenario-'));
}, 180_000);

afterAll(() => {
  for (const d of [outside, inside]) if (d) rmSync(d, { recursive: true, force: true });
});

describe('.ts scenario modules', () => {
  it('a builder module importing pinsim by absolute path runs: the lost write under linux-4.20, exit 1', () => {
    const file = join(outside, 'race.scenario.ts');
    writeFileSync(file, builderModule(INDEX_URL));
    const r = run(outside, MAIN, 'run', file, '--json');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(1);
    const result = JSON.parse(r.stdout) as { scenario: string; violations: { kind: string }[] };
    expect(result.scenario).toBe('ts-gup-nic-truncate');
    expect(result.violations.map((v) => v.kind)).toContain('lost-write');
  });

  it('a relative import of dist/ and of a sibling .ts helper (imported as ./helper.js) resolve', () => {
    const dir = join(inside, 'rel');
    mkdirSync(dir);
    writeFileSync(join(dir, 'sizes.ts'), 'export const LEN: string = \'64K\';\n');
    writeFileSync(join(dir, 'rel.scenario.ts'), [
      "import { scenario } from '../../dist/index.js';",
      "import { LEN } from './sizes.js';",
      "export default scenario('ts-relative').kernel({ policy: 'linux-6.12' }).file('f', { fs: 'ext4', size: LEN })",
      "  .actor('app', [{ op: 'pread', file: 'f', offset: 0, length: LEN }]).build();",
      '',
    ].join('\n'));
    const r = run(ROOT, MAIN, 'run', join(dir, 'rel.scenario.ts'));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('ts-relative');
  });

  it('a default-exported function gets the policy and --param values', () => {
    const file = join(outside, 'param.scenario.ts');
    writeFileSync(file, [
      "interface Args { policy?: string; params: Record<string, string> }",
      'export default function make({ policy, params }: Args) {',
      "  const pages: number = Number(params['pages'] ?? '1');",
      "  return { name: `ts-param-${policy}-${pages}`, files: { f: { fs: 'xfs', size: `${pages}p` } },",
      "    actors: { app: [{ op: 'pread', file: 'f', offset: 0, length: `${pages}p` }] } };",
      '}',
      '',
    ].join('\n'));
    const r = run(outside, MAIN, 'run', file, '--policy', 'revoke', '--param', 'pages=3');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('ts-param-revoke-3');
  });

  it('an exception in the module points at its .ts file and line, through the source map; exit 2', () => {
    const file = join(outside, 'broken.scenario.ts');
    writeFileSync(file, [
      '// types first, so the emitted JavaScript has fewer lines than the source',
      'interface Knobs {',
      '  pages: number;',
      '  policy: string;',
      '}',
      "type Era = 'linux-4.20' | 'linux-6.12';",
      "const knobs: Knobs = { pages: 0, policy: 'linux-4.20' as Era };",
      'export default function make(): unknown {',
      "  if (knobs.pages === 0) throw new Error('pages must be positive');",
      '  return {};',
      '}',
      '',
    ].join('\n'));
    const r = run(outside, MAIN, 'run', file);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${file}: line 9`);
    expect(r.stderr).toContain('Error: pages must be positive');
    expect(r.stderr).toContain(`(at ${file}:9)`);
    expect(r.stderr).not.toMatch(STACK_FRAME);
  });

  it('pinsim check finds *.scenario.ts in a directory', () => {
    const dir = join(inside, 'checkdir');
    mkdirSync(dir);
    writeFileSync(join(dir, 'race.scenario.ts'), builderModule('../../dist/index.js').replace('.build();', ".expect({ violations: ['lost-write'] }).build();"));
    const r = run(ROOT, MAIN, 'check', dir, '--format', 'ktap');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^KTAP version 1\n1\.\.1\nok 1 ts-gup-nic-truncate \[linux-4\.20\]\n/);
  });

  it('without the optional peer typescript: a clear message naming it, exit 2, no stack trace', () => {
    // A copy of the package with no node_modules anywhere above it.
    const pkg = join(outside, 'no-typescript');
    cpSync(join(ROOT, 'dist'), join(pkg, 'dist'), { recursive: true });
    cpSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
    const file = join(pkg, 'plain.scenario.ts');
    writeFileSync(file, "export default { name: 'x', actors: { a: [] } };\n");
    const r = run(pkg, join(pkg, 'dist/cli/main.js'), 'run', file);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('plain.scenario.ts');
    expect(r.stderr).toMatch(/optional peer dependency `typescript`/);
    expect(r.stderr).toMatch(/npm install --save-dev typescript|\.json, \.js or \.mjs/);
    expect(r.stderr).not.toMatch(STACK_FRAME);
  });
});
