/**
 * ensureBuilt() - build dist/ (tsc -p tsconfig.build.json) unless it is already newer than every
 * source file, for tests that spawn the built CLI. Skipping a needless rebuild matters because test
 * files run in parallel: tsc rewrites every output, and a CLI spawned by another file meanwhile may
 * read a half-written module.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const MAIN = join(ROOT, 'dist/cli/main.js');

/** Every .ts under src/ has its .js under dist/, written after both it and tsconfig.build.json. */
function upToDate(): boolean {
  const config = statSync(join(ROOT, 'tsconfig.build.json')).mtimeMs;
  for (const f of readdirSync(join(ROOT, 'src'), { recursive: true }) as string[]) {
    if (!f.endsWith('.ts') || f.endsWith('.d.ts')) continue;
    const out = join(ROOT, 'dist', f.replace(/\.ts$/, '.js'));
    if (!existsSync(out)) return false;
    const built = statSync(out).mtimeMs;
    if (built < config || built < statSync(join(ROOT, 'src', f)).mtimeMs) return false;
  }
  return true;
}

export function ensureBuilt(): void {
  if (existsSync(MAIN) && upToDate()) return;
  // Other files may not type-check mid-edit; tsc still emits, and main.js is what we need.
  spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8', shell: process.platform === 'win32' });
  if (!existsSync(MAIN)) throw new Error(`the build did not produce ${MAIN}`);
}

/** pinsim() - run the built CLI with @args in the repository root; its status and output. */
export function pinsim(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: ROOT, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
