#!/usr/bin/env node
/**
 * npm's `prepare` for this checkout: build dist/ with tsc (tsconfig.build.json), unless dist/ was
 * built from exactly the sources that are here now.
 *
 * npm runs `prepare` after `npm ci` / `npm install` in a clone, before `npm pack` / `npm publish`,
 * and also when the first `npx pinsim` in a clone installs the checkout into npx's cache to link
 * its bin. That last one used to rebuild for 9–13 s though `npm ci` had just built the same tree.
 * A content hash of what the build reads (src/**\/*.ts and the two tsconfig files) is kept in
 * node_modules/.cache/pinsim/build-stamp after every successful build; when it matches and dist/
 * holds the entry points, there is nothing to do. (A hash rather than file times: a checkout or
 * an extracted archive can leave sources older than a dist/ built from other ones.)
 *
 *   node scripts/prepare.mjs [--root DIR] [--force]
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const argv = process.argv.slice(2);
const rootAt = argv.indexOf('--root');
const ROOT = rootAt >= 0 ? resolve(argv[rootAt + 1] ?? '.') : resolve(dirname(fileURLToPath(import.meta.url)), '..');
const force = argv.includes('--force');
const STAMP = join(ROOT, 'node_modules', '.cache', 'pinsim', 'build-stamp');
const ENTRY_POINTS = ['dist/index.js', 'dist/cli/main.js'];

/** Every .ts under @dir, relative to ROOT, sorted by code unit. */
function sources(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (e.name.endsWith('.ts')) out.push(relative(ROOT, p));
  }
  return out;
}

/** The hash of what tsc -p tsconfig.build.json reads from this tree. */
function sourceHash() {
  const h = createHash('sha256');
  const files = [...sources(join(ROOT, 'src')), 'tsconfig.json', 'tsconfig.build.json'].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const f of files) {
    const p = join(ROOT, f);
    h.update(`${f}\0`);
    h.update(existsSync(p) ? readFileSync(p) : '(none)');
    h.update('\0');
  }
  return h.digest('hex');
}

const want = sourceHash();
const stamped = existsSync(STAMP) ? readFileSync(STAMP, 'utf8').trim() : '';
if (!force && stamped === want && ENTRY_POINTS.every((f) => existsSync(join(ROOT, f)))) {
  process.stderr.write('pinsim prepare: dist/ is up to date with src/ (nothing to build)\n');
  process.exit(0);
}
const tsc = createRequire(join(ROOT, 'package.json')).resolve('typescript/bin/tsc');
process.stderr.write('pinsim prepare: building dist/ (tsc -p tsconfig.build.json)\n');
// A file moved or deleted in src/ must not survive in dist/ (it would ship in the package).
rmSync(join(ROOT, 'dist'), { recursive: true, force: true });
const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
if (r.status === 0) {
  // tsc writes files 0644, and dist/ was just removed: the package's bin entries must be executable
  // again, or `npx pinsim` in this checkout fails with "Permission denied".
  const bin = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).bin ?? {};
  for (const f of typeof bin === 'string' ? [bin] : Object.values(bin)) {
    if (existsSync(join(ROOT, f))) chmodSync(join(ROOT, f), 0o755);
  }
  mkdirSync(dirname(STAMP), { recursive: true });
  writeFileSync(STAMP, `${want}\n`);
}
process.exit(r.status ?? 1);
