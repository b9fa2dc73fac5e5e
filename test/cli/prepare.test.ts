/**
 * `npm run prepare` (scripts/prepare.mjs) builds dist/ only when the sources changed since the last
 * build, so that the first `npx pinsim` in a clone, which installs the checkout into npx's cache and
 * runs `prepare` again, does not rebuild what `npm ci` has just built. Exercised on a tiny project
 * beside the real one, with the real one's node_modules for typescript.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/dist.js';

let dir = '';

function prepare(...args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'prepare.mjs'), '--root', dir, ...args], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pinsim-prepare-'));
  mkdirSync(join(dir, 'src', 'cli'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'tiny', type: 'module', bin: { tiny: 'dist/cli/main.js' } }));
  writeFileSync(join(dir, 'tsconfig.json'), readFileSync(join(ROOT, 'tsconfig.json'), 'utf8').replace(/"include": \[[^\]]*\]/, '"include": ["src/**/*.ts"]'));
  writeFileSync(join(dir, 'tsconfig.build.json'), readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8'));
  writeFileSync(join(dir, 'src', 'index.ts'), 'export const answer = 42;\n');
  writeFileSync(join(dir, 'src', 'cli', 'main.ts'), "import { answer } from '../index.js';\nexport const main = (): number => answer;\n");
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('scripts/prepare.mjs', () => {
  it('is what npm runs as prepare', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts['prepare']).toBe('node scripts/prepare.mjs');
  });

  it('builds a fresh tree, then does nothing while the sources stay the same, and builds again when one changes', () => {
    const stamp = join(dir, 'node_modules', '.cache', 'pinsim', 'build-stamp');
    rmSync(stamp, { force: true });
    const first = prepare();
    expect(first).toMatchObject({ status: 0 });
    expect(first.stderr).toMatch(/building dist\//);
    expect(existsSync(join(dir, 'dist', 'cli', 'main.js'))).toBe(true);
    // The bin entry is executable (tsc alone writes 0644), so npx can run it from the checkout.
    expect(statSync(join(dir, 'dist', 'cli', 'main.js')).mode & 0o111).toBe(0o111);
    expect(statSync(join(dir, 'dist', 'index.js')).mode & 0o111).toBe(0);
    const built = statSync(join(dir, 'dist', 'index.js')).mtimeMs;

    const again = prepare();
    expect(again).toMatchObject({ status: 0 });
    expect(again.stderr).toMatch(/up to date/);
    expect(statSync(join(dir, 'dist', 'index.js')).mtimeMs).toBe(built);

    writeFileSync(join(dir, 'src', 'index.ts'), 'export const answer = 43;\n');
    const changed = prepare();
    expect(changed.stderr).toMatch(/building dist\//);
    expect(readFileSync(join(dir, 'dist', 'index.js'), 'utf8')).toContain('43');

    rmSync(join(dir, 'dist'), { recursive: true });
    expect(prepare().stderr).toMatch(/building dist\//);
    expect(prepare('--force').stderr).toMatch(/building dist\//);
  }, 120_000);
});
