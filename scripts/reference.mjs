#!/usr/bin/env node
/**
 * npm run docs: write docs/scenario-reference.md from the op table (over dist/: npm run build first).
 *
 *   node scripts/reference.mjs            write it
 *   node scripts/reference.mjs --check    exit 1 when the file differs from what the table says
 *
 * test/docs/scenario-reference.test.ts makes the same comparison from src/ on every npm test.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FILE = join(ROOT, 'docs/scenario-reference.md');
const load = (p) => import(pathToFileURL(join(ROOT, 'dist', p)).href);
let reference, registry;
try {
  reference = await load('report/reference.js');
  registry = await load('scenario/registry.js');
} catch (e) {
  process.stderr.write(`reference: cannot load dist/ (npm run build first): ${e.message}\n`);
  process.exit(2);
}
const text = reference.scenarioReference(registry.defaultRegistry());
if (process.argv.includes('--check')) {
  let old = '';
  try {
    old = readFileSync(FILE, 'utf8');
  } catch {
    // a missing file differs
  }
  if (old !== text) {
    process.stderr.write('reference: docs/scenario-reference.md is out of date; run npm run docs\n');
    process.exit(1);
  }
  process.stdout.write('reference: docs/scenario-reference.md is up to date\n');
} else {
  writeFileSync(FILE, text);
  process.stdout.write(`reference: wrote docs/scenario-reference.md (${text.split('\n').length} lines)\n`);
}
