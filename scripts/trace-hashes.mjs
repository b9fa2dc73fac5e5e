#!/usr/bin/env node
/**
 * npm run hashes: the outside of pinsim, recorded so that a change to its inside can be shown to keep
 * it. Runs every scenario file under the given paths (default: examples/ test/conformance/
 * test/regress/) under every built policy and prints one JSON line per (file, policy) with its
 * traceHash, outcome, violations, results, observed values and op timings.
 *
 *   node scripts/trace-hashes.mjs [--out FILE] [paths...]       record (over dist/: npm run build first)
 *   node scripts/trace-hashes.mjs --compare BEFORE AFTER        what changed, field by field
 *
 * --compare prints, for every (file, policy) present in either record, each field that differs
 * (traceHash, outcome, violations, results, observed, ops) and ends with a summary line
 * `N cells, N identical traceHash, N changed, N only before, N only after`. Exit 1 when a cell
 * differs or is missing on one side, else 0.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DEFAULT_PATHS = ['examples', 'test/conformance', 'test/regress'];

function parseArgs(argv) {
  const out = { paths: [], file: undefined, compare: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--out') out.file = argv[++i];
    else if (a === '--compare') out.compare = [argv[++i], argv[++i]];
    else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: trace-hashes.mjs [--out FILE] [paths...] | --compare BEFORE AFTER\n');
      process.exit(0);
    } else if (a.startsWith('--')) {
      process.stderr.write(`trace-hashes: unknown flag ${a}\n`);
      process.exit(2);
    } else out.paths.push(a);
  }
  return out;
}

async function record(paths, outFile) {
  const dist = pathToFileURL(resolve(ROOT, 'dist/index.js')).href;
  let api;
  try {
    api = await import(dist);
  } catch (e) {
    process.stderr.write(`trace-hashes: cannot load dist/ (npm run build first): ${e.message}\n`);
    process.exit(2);
  }
  const { collectScenarioFiles, loadScenarioInput, validateOrThrow, runValidated, defaultRegistry } = api;
  const registry = defaultRegistry();
  const policies = [...registry.policies.keys()];
  const files = collectScenarioFiles(paths.map((p) => resolve(ROOT, p)));
  const lines = [];
  for (const f of files) {
    const rel = relative(ROOT, f);
    let input;
    try {
      input = await loadScenarioInput(f);
    } catch {
      continue; // not a scenario (a replay file or package metadata); nothing to compare
    }
    if (!input || typeof input !== 'object' || !('actors' in input)) continue;
    let s;
    try {
      s = validateOrThrow(input, registry, f);
    } catch (e) {
      lines.push(JSON.stringify({ file: rel, policy: '*', invalid: e.message.split('\n')[0] }));
      continue;
    }
    for (const policy of policies) {
      const r = runValidated(s, { policy, registry });
      lines.push(JSON.stringify({
        file: rel, policy, traceHash: r.traceHash, outcome: r.outcome,
        violations: r.violations.map((v) => `${v.kind}@${v.pfn}:${v.actor}`).sort(),
        results: r.results, observed: r.observed, ops: r.ops,
      }));
    }
  }
  const text = lines.join('\n') + '\n';
  if (outFile) writeFileSync(outFile, text);
  else process.stdout.write(text);
  process.stderr.write(`trace-hashes: ${lines.length} cells from ${files.length} files under ${policies.length} policies\n`);
}

function load(file) {
  const m = new Map();
  for (const l of readFileSync(file, 'utf8').split('\n')) {
    if (!l.trim()) continue;
    const c = JSON.parse(l);
    m.set(`${c.file} ${c.policy}`, c);
  }
  return m;
}

function compare(a, b) {
  const before = load(a);
  const after = load(b);
  let same = 0, changed = 0, onlyBefore = 0, onlyAfter = 0;
  for (const [key, x] of before) {
    const y = after.get(key);
    if (!y) { onlyBefore++; process.stdout.write(`only before: ${key}\n`); continue; }
    const diffs = [];
    for (const f of ['invalid', 'traceHash', 'outcome', 'violations', 'results', 'observed', 'ops']) {
      const xs = JSON.stringify(x[f]);
      const ys = JSON.stringify(y[f]);
      if (xs !== ys) diffs.push(`  ${f}: ${xs} -> ${ys}`);
    }
    if (diffs.length === 0) same++;
    else { changed++; process.stdout.write(`changed: ${key}\n${diffs.join('\n')}\n`); }
  }
  for (const key of after.keys()) if (!before.has(key)) { onlyAfter++; process.stdout.write(`only after: ${key}\n`); }
  const total = new Set([...before.keys(), ...after.keys()]).size;
  process.stdout.write(`${total} cells, ${same} identical, ${changed} changed, ${onlyBefore} only before, ${onlyAfter} only after\n`);
  process.exit(changed || onlyBefore || onlyAfter ? 1 : 0);
}

const args = parseArgs(process.argv.slice(2));
if (args.compare) compare(...args.compare);
else await record(args.paths.length ? args.paths : DEFAULT_PATHS, args.file);
