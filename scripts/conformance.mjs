#!/usr/bin/env node
/**
 * npm run conformance: every case of the oracle (../shared/oracle/kernel-selftests.md: hmm-tests
 * HMM-nn, gup_longterm GLT-nn, cow COW-nn, gup_test GUPT-nn, rdma-core ODP-nn / MR-nn / FORK-nn and
 * the design cases DES-nn), and the project's own ports of khugepaged.c KHP-nn and
 * split_huge_page_test.c SHP-nn (PROJECT_CASES below) × the era presets linux-4.20, linux-5.7, linux-5.9, linux-5.19 and
 * linux-6.12 (or any linux-X.Y given with --eras), as a table of
 *
 *   pass            every scenario of the case under test/conformance/ (named with its ID) meets
 *                   its `expect` / `expectByPolicy` in that era
 *   FAIL            one of them does not (or pinsim failed, or it states no expectation)
 *   n/e             not expressible in pinsim, with the reason (the legend below the table)
 *   not ported      expressible, but no scenario names the case yet
 *
 * It runs over dist/ (npm run build first). Exit status: 1 if any expressible case fails (with
 * --strict also if one is not ported), 2 on bad usage or a missing build, else 0.
 *
 *   node scripts/conformance.mjs [--oracle FILE] [--dir DIR] [--eras a,b,c] [--json] [--strict]
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DEFAULT_ERAS = ['linux-4.20', 'linux-5.7', 'linux-5.9', 'linux-5.19', 'linux-6.12'];

// ---------------------------------------------------------------------------------------------
// Why a case cannot be expressed. Keys are short (they go in the table's cells); the legend prints
// the text. A case maps to keys for every era ('*') or per era; an era it does not name is
// expressible, and without a scenario it is "not ported".

const REASONS = {
  'thp-devpriv': 'device-private THP (migrating a THP to device memory whole, 6.19): pinsim migrates 4 KiB pages to the device',
  'migrate-file-private': 'migrate_vma collects the pages of anonymous VMAs only: the COW\'d anonymous pages of a private file VMA are not migrated (nor is the 2026 WARN at their unmap modelled)',
  'dmirror-release': 'dmirror RELEASE (a device evicting its pages by physical range, 6.1) is not a gpu-hmm op',
  mixedmap: 'VM_MIXEDMAP: an mmap of the device file itself (a driver-inserted kernel page) has no counterpart; pinsim maps files and anonymous memory',
  'io_uring-absent': 'io_uring arrived in 5.1: the case does not exist in this era',
  'io_uring-check': 'io_uring\'s own pre-6.5 check (file-backed fixed buffers other than hugetlbfs refused with EOPNOTSUPP) is not modelled',
  atomics: 'RDMA atomics (compare-and-swap, fetch-and-add, ATOMIC_WRITE): the NIC models do DMA reads and writes only',
  flush: 'the RDMA FLUSH verb (persistence flush of an MR range) is not modelled',
  transport: 'QP transports are not modelled: XRC\'s own part (shared receive queues across processes) has no counterpart; its memory traffic is ODP-01\'s',
  rereg: 'ibv_rereg_mr (new translation, access or PD for a registered MR) is not an op, and QP states (error, back to RTS) are not modelled',
  'access-flags': 'verbs access flags beyond r / rw (LOCAL_WRITE, REMOTE_WRITE, REMOTE_ATOMIC) and their registration checks are not modelled',
  dmabuf: 'dma-buf backed MRs (ibv_reg_dmabuf_mr, fd-based registration) are not modelled',
  'debugfs-split': 'the split goes through debugfs split_huge_pages (a THP split by pid and address range or by file path and page offsets, to any order), for which pinsim has no op; its splits come from munmap, mprotect, madvise, mremap, fork and truncate',
  'fork-init': 'ibv_fork_init()\'s status is a libibverbs / netlink query with no memory-management observable; its kernel side, copy-on-fork of pinned pages, is COW-08',
};

/** Case ID → reason keys: `{ '*': [...] }` for every era, or per era. */
const INEXPRESSIBLE = {
  'HMM-13': { '*': ['migrate-file-private'] },
  'HMM-15': { '*': ['dmirror-release'] },
  'HMM-21': { '*': ['mixedmap'] },
  'HMM-30': { '*': ['thp-devpriv'] },
  'HMM-31': { '*': ['thp-devpriv'] },
  'HMM-32': { '*': ['thp-devpriv'] },
  'HMM-33': { '*': ['thp-devpriv'] },
  'HMM-34': { '*': ['thp-devpriv'] },
  'HMM-35': { '*': ['thp-devpriv'] },
  'HMM-36': { '*': ['thp-devpriv'] },
  'HMM-37': { '*': ['thp-devpriv'] },
  'HMM-38': { '*': ['thp-devpriv'] },
  'GLT-09': { 'linux-4.20': ['io_uring-absent'], 'linux-5.7': ['io_uring-check'] },
  'GLT-10': { 'linux-4.20': ['io_uring-absent'], 'linux-5.7': ['io_uring-check'] },
  'ODP-03': { '*': ['atomics'] },
  'ODP-04': { '*': ['flush'] },
  'ODP-05': { '*': ['atomics'] },
  'ODP-06': { '*': ['atomics'] },
  'ODP-11': { '*': ['transport'] },
  'ODP-23': { '*': ['flush'] },
  'MR-01': { '*': ['rereg'] },
  'MR-02': { '*': ['rereg'] },
  'MR-03': { '*': ['rereg'] },
  'MR-04': { '*': ['rereg'] },
  'MR-05': { '*': ['rereg'] },
  'MR-06': { '*': ['access-flags'] },
  'MR-07': { '*': ['dmabuf'] },
  'MR-08': { '*': ['dmabuf'] },
  'FORK-01': { '*': ['fork-init'] },
  'SHP-01': { '*': ['debugfs-split'] },
  'SHP-02': { '*': ['debugfs-split'] },
  'SHP-03': { '*': ['debugfs-split'] },
  'SHP-04': { '*': ['debugfs-split'] },
  'SHP-05': { '*': ['debugfs-split'] },
};

/**
 * Cases the project ports beyond the oracle file: the selftests of tools/testing/selftests/mm/ (vm/
 * before 6.3) that bear on page references, pins, sharing or mapcount. Each: ID, suite prefix, the
 * selftest function, and where it lives.
 */
const PROJECT_CASES = [
  ['KHP-01', 'collapse_fork', 'khugepaged.c collapse_fork(): a page shared over fork, collapsed in the child'],
  ['KHP-02', 'collapse_fork_compound', 'khugepaged.c collapse_fork_compound(): a THP shared over fork, split and collapsed in the child'],
  ['KHP-03', 'collapse_max_ptes_shared', 'khugepaged.c collapse_max_ptes_shared(): max_ptes_shared exceeded, then met'],
  ['SHP-01', 'split_pmd_thp_to_order', 'split_huge_page_test.c split_pmd_thp_to_order(): PMD-mapped anonymous THPs split by range'],
  ['SHP-02', 'split_pte_mapped_thp', 'split_huge_page_test.c split_pte_mapped_thp(): THPs PTE-mapped by mremap, then split'],
  ['SHP-03', 'split_file_backed_thp', 'split_huge_page_test.c split_file_backed_thp(): a tmpfs huge=always THP split by file offset'],
  ['SHP-04', 'split_thp_in_pagecache_to_order', 'split_huge_page_test.c split_thp_in_pagecache_to_order(): a PMD-mapped page-cache folio split'],
  ['SHP-05', 'split_pmd_zero_pages', 'split_huge_page_test.c split_pmd_zero_pages(): zero-filled THPs split, RssAnon drops'],
].map(([id, title, source]) => ({ id, suite: id.startsWith('KHP') ? 'khugepaged' : 'split_huge_page_test', title, source }));

/**
 * Cases that are another case in pinsim's terms: the 2025 extended registration API (ibv_reg_mr_ex)
 * is the same registration to the model. Used only while the case has no scenario of its own.
 */
const SAME_AS = { 'ODP-20': 'ODP-01', 'ODP-21': 'ODP-12', 'ODP-22': 'ODP-09' };

/** What a case that is expressible but not ported would take (printed under the table). */
const PORT_NOTES = {
  // Every expressible case has a scenario now; a newly listed oracle case gets its note here until ported.
};

/** Used when the oracle file is not there: the ID ranges of kernel-selftests.md. */
const EMBEDDED_RANGES = [['HMM', 38], ['GLT', 10], ['COW', 21], ['GUPT', 4], ['ODP', 23], ['MR', 8], ['FORK', 1], ['DES', 6]];
// (PROJECT_CASES are added to the oracle's or these in either case.)

const SUITES = {
  HMM: 'hmm-tests', GLT: 'gup_longterm', COW: 'cow', GUPT: 'gup_test', ODP: 'rdma-core ODP', MR: 'rdma-core MR', FORK: 'rdma-core fork', DES: 'design',
  KHP: 'khugepaged', SHP: 'split_huge_page_test',
};

// ---------------------------------------------------------------------------------------------

const USAGE = 'usage: node scripts/conformance.mjs [--oracle FILE] [--dir DIR] [--eras a,b,c] [--json] [--strict]\n';

function usage(msg) {
  process.stderr.write(`conformance: ${msg}\n${USAGE}`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { oracle: undefined, dir: join(ROOT, 'test', 'conformance'), eras: DEFAULT_ERAS, json: false, strict: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) usage(`${a} needs a value`);
      return v;
    };
    if (a === '--oracle') o.oracle = resolve(val());
    else if (a === '--dir') o.dir = resolve(val());
    else if (a === '--eras') o.eras = val().split(',').filter(Boolean);
    else if (a === '--json') o.json = true;
    else if (a === '--strict') o.strict = true;
    else if (a === '--help' || a === '-h') {
      process.stdout.write(USAGE);
      process.exit(0);
    }
    else usage(`unknown argument "${a}"`);
  }
  return o;
}

const ID_CELL = /^(HMM|GLT|COW|GUPT|ODP|MR|FORK|DES)-(\d+)(?:\.\.(\d+))?$/;
const pad2 = (n) => String(n).padStart(2, '0');

/** The oracle's cases in document order, from the first cell of its table rows; titles from the second. */
function parseOracle(text) {
  const cases = [];
  const seen = new Set();
  for (const line of text.split('\n')) {
    if (!line.startsWith('|')) continue;
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    const m = ID_CELL.exec(cells[0] ?? '');
    if (!m) continue;
    const [, prefix, from, to] = m;
    const width = from.length;
    const title = (cells[1] ?? '').replace(/`/g, '');
    // A row for a range (`ODP-20..23 | test_mrex_odp_* (rc_traffic, …)`) names one test per ID.
    const each = /^(.*)\*\s*\((.*)\)$/.exec(title);
    const parts = each ? each[2].split(',').map((x) => x.trim()) : [];
    for (let n = Number(from), i = 0; n <= Number(to ?? from); n++, i++) {
      const id = `${prefix}-${String(n).padStart(width, '0')}`;
      if (seen.has(id)) continue;
      seen.add(id);
      const one = to && each && parts.length === Number(to) - Number(from) + 1 ? `${each[1]}${parts[i]}` : title;
      cases.push({ id, suite: SUITES[prefix], title: one });
    }
  }
  return cases;
}

function embeddedCases() {
  return EMBEDDED_RANGES.flatMap(([p, n]) => Array.from({ length: n }, (_, i) => ({ id: `${p}-${pad2(i + 1)}`, suite: SUITES[p], title: '' })));
}

function findOracle(explicit) {
  const candidates = explicit ? [explicit] : [
    process.env.PINSIM_ORACLE, join(ROOT, '..', 'shared', 'oracle', 'kernel-selftests.md'), '/work/shared/oracle/kernel-selftests.md',
  ].filter(Boolean);
  for (const c of candidates) if (existsSync(c)) return c;
  if (explicit) usage(`no oracle file at ${explicit}`);
  return null;
}

const CASE_OF_FILE = /^([A-Z]+-\d+)(?=[-_. ]|$)/;

function truncate(s, n) {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

/** One scenario file under one era: pass, fail (with why) or skip (with the scenario's reason). */
async function runOne(api, file, era) {
  const shown = relative(ROOT, file);
  let input;
  try {
    input = await api.loadScenarioInput(file, { policy: era });
  } catch (e) {
    return { status: 'fail', file: shown, why: [e instanceof api.ScenarioError ? api.formatIssues(e.issues, file) : String(e?.message ?? e)] };
  }
  const s = input ?? {};
  const pe = s.expectByPolicy?.[era];
  if (!s.expect && !(pe && !('skip' in pe))) return { status: 'fail', file: shown, why: ['states no expectation (`expect` / `expectByPolicy`)'] };
  let r;
  try {
    r = api.runScenario(s, { policy: era });
  } catch (e) {
    return { status: 'fail', file: shown, why: [e instanceof api.ScenarioError ? api.formatIssues(e.issues, file) : String(e?.message ?? e)] };
  }
  if (r.outcome === 'skip') return { status: 'skip', file: shown, why: [r.skipped ?? 'skipped'] };
  if (r.outcome === 'error') return { status: 'fail', file: shown, why: [r.error ?? 'pinsim internal error'] };
  if (!r.expectations.met) return { status: 'fail', file: shown, why: r.expectations.failures };
  return { status: 'pass', file: shown, why: [] };
}

function reasonKeys(id, era) {
  const t = INEXPRESSIBLE[id];
  if (!t) return null;
  return t[era] ?? t['*'] ?? null;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const dist = join(ROOT, 'dist', 'index.js');
  if (!existsSync(dist)) usage('dist/ is not built: run `npm run build` first');
  const api = await import(pathToFileURL(dist).href);
  const registry = api.defaultRegistry();
  for (const e of o.eras) if (!api.lookupPolicy(registry, e)) usage(`unknown era "${e}" (presets: ${[...registry.policies.keys()].join(', ')}, or linux-X.Y from 4.19)`);

  const oraclePath = findOracle(o.oracle);
  const listed = oraclePath ? parseOracle(readFileSync(oraclePath, 'utf8')) : embeddedCases();
  const cases = [...listed, ...PROJECT_CASES.filter((p) => !listed.some((c) => c.id === p.id))];
  if (!cases.length) usage(`no case IDs found in ${oraclePath}`);
  const known = new Set(cases.map((c) => c.id));

  // Scenario files by case ID (a case may have variants: one per backing filesystem, per device).
  const files = existsSync(o.dir) ? api.collectScenarioFiles([o.dir]) : [];
  const byCase = new Map();
  const stray = [];
  for (const f of files) {
    const m = CASE_OF_FILE.exec(basename(f));
    const id = m?.[1];
    if (!id || !known.has(id)) { stray.push(relative(ROOT, f)); continue; }
    byCase.set(id, [...(byCase.get(id) ?? []), f]);
  }

  const rows = [];
  for (const c of cases) {
    const own = byCase.get(c.id) ?? [];
    const via = own.length ? null : SAME_AS[c.id] && byCase.get(SAME_AS[c.id]) ? SAME_AS[c.id] : null;
    const scen = own.length ? own : via ? byCase.get(via) : [];
    const cells = {};
    for (const era of o.eras) {
      if (!scen.length) {
        const keys = reasonKeys(c.id, era);
        cells[era] = keys ? { status: 'n/e', reasons: keys } : { status: 'not ported' };
        continue;
      }
      const runs = [];
      for (const f of scen) runs.push(await runOne(api, f, era));
      const failed = runs.filter((r) => r.status === 'fail');
      const passed = runs.filter((r) => r.status === 'pass');
      if (failed.length) cells[era] = { status: 'fail', runs: failed, variants: runs.length };
      else if (passed.length) cells[era] = { status: 'pass', variants: passed.length, skipped: runs.length - passed.length, ...(via ? { via } : {}) };
      else cells[era] = { status: 'n/e', skips: [...new Set(runs.map((r) => r.why.join('; ')))].map((why) => {
        const files = runs.filter((r) => r.why.join('; ') === why).map((r) => r.file.replace(/^.*\//, ''));
        return `${why} (${files.join(', ')})`;
      }), reasons: [] };
    }
    rows.push({ ...c, scenarios: own.map((f) => relative(ROOT, f)), ...(via ? { via } : {}), cells });
  }

  const totals = { pass: 0, fail: 0, 'n/e': 0, 'not ported': 0 };
  const perEra = Object.fromEntries(o.eras.map((e) => [e, { pass: 0, fail: 0, 'n/e': 0, 'not ported': 0 }]));
  for (const r of rows) for (const e of o.eras) { totals[r.cells[e].status]++; perEra[e][r.cells[e].status]++; }
  const failing = rows.filter((r) => o.eras.some((e) => r.cells[e].status === 'fail'));
  const notPorted = rows.filter((r) => o.eras.some((e) => r.cells[e].status === 'not ported'));
  const exit = failing.length || (o.strict && notPorted.length) ? 1 : 0;

  if (o.json) {
    process.stdout.write(`${JSON.stringify({ oracle: oraclePath, eras: o.eras, reasons: REASONS, cases: rows, totals, perEra, stray }, null, 2)}\n`);
    process.exit(exit);
  }

  const out = [];
  const cellText = (cell) => {
    switch (cell.status) {
      case 'pass': return `pass${cell.variants > 1 ? ` ×${cell.variants}` : ''}${cell.via ? ` (${cell.via})` : ''}`;
      case 'fail': return `FAIL ${cell.runs.length}/${cell.variants}`;
      case 'n/e': return cell.reasons.length ? `n/e: ${cell.reasons.join(', ')}` : 'n/e: skipped';
      default: return 'not ported';
    }
  };
  // Cells are as wide as the widest one (five eras still fit in about 160 columns).
  const W = { id: 8, title: 34, cell: Math.max(...rows.flatMap((r) => o.eras.map((e) => cellText(r.cells[e]).length)), ...o.eras.map((e) => e.length)) };
  const line = (id, title, cells) => `${id.padEnd(W.id)} ${title.padEnd(W.title)} ${cells.map((c) => c.padEnd(W.cell)).join(' ')}`.trimEnd();
  out.push(`pinsim conformance: ${cases.length} cases (${listed.length} of ${oraclePath ? relative(process.cwd(), oraclePath) : 'the embedded case list (oracle file not found)'}, ${cases.length - listed.length} ported from khugepaged.c and split_huge_page_test.c) × ${o.eras.length} eras, scenarios from ${relative(process.cwd(), o.dir) || '.'}`);
  out.push('');
  out.push(line('case', 'test', o.eras));
  out.push(line('-'.repeat(W.id), '-'.repeat(W.title), o.eras.map(() => '-'.repeat(W.cell))));
  let suite = '';
  for (const r of rows) {
    if (r.suite !== suite) {
      suite = r.suite;
      out.push(`  ${suite}`);
    }
    out.push(line(r.id, truncate(r.title, W.title), o.eras.map((e) => cellText(r.cells[e]))));
  }
  out.push('');
  out.push('not expressible (n/e):');
  const used = new Set(rows.flatMap((r) => o.eras.flatMap((e) => (r.cells[e].status === 'n/e' ? r.cells[e].reasons : []))));
  for (const [k, text] of Object.entries(REASONS)) if (used.has(k)) out.push(`  ${k.padEnd(16)} ${text}`);
  for (const r of rows) for (const e of o.eras) if (r.cells[e].status === 'n/e' && r.cells[e].skips) out.push(`  ${r.id} [${e}] skipped by its scenarios: ${r.cells[e].skips.join(' | ')}`);
  const aliased = rows.filter((r) => r.via);
  if (aliased.length) {
    out.push('');
    out.push('run through another case\'s scenarios (the same thing to pinsim):');
    for (const r of aliased) out.push(`  ${r.id} = ${r.via}: ibv_reg_mr_ex is the same registration as ibv_reg_mr to the model`);
  }
  if (notPorted.length) {
    out.push('');
    out.push('expressible but not ported (no scenario under test/conformance/ names the case):');
    for (const r of notPorted) {
      const eras = o.eras.filter((e) => r.cells[e].status === 'not ported');
      out.push(`  ${r.id} [${eras.length === o.eras.length ? 'all eras' : eras.join(', ')}]${PORT_NOTES[r.id] ? `: ${PORT_NOTES[r.id]}` : ''}`);
    }
  }
  if (stray.length) {
    out.push('');
    out.push(`scenario files naming no oracle case (ignored): ${stray.join(', ')}`);
  }
  if (failing.length) {
    out.push('');
    out.push('failures:');
    for (const r of failing) {
      for (const e of o.eras) {
        const c = r.cells[e];
        if (c.status !== 'fail') continue;
        for (const run of c.runs) out.push(`  ${r.id} [${e}] ${run.file}:`, ...run.why.map((w) => `      ${w}`));
      }
    }
  }
  out.push('');
  const cellsN = rows.length * o.eras.length;
  const sum = (t) => `${t.pass} pass, ${t.fail} fail, ${t['n/e']} not expressible, ${t['not ported']} not ported`;
  for (const e of o.eras) out.push(`${e.padEnd(12)} ${sum(perEra[e])}`);
  const withScenario = rows.filter((r) => r.scenarios.length).length;
  out.push(`total        ${cases.length} cases × ${o.eras.length} eras = ${cellsN} cells: ${sum(totals)}; ${withScenario} cases have scenarios (${files.length - stray.length} files)${aliased.length ? `, ${aliased.length} run as another case` : ''}`);
  out.push(exit ? (failing.length ? `conformance: FAILED (${failing.length} case(s) fail)` : `conformance: FAILED (--strict: ${notPorted.length} case(s) not ported)`) : 'conformance: every expressible case that has a scenario passes');
  process.stdout.write(`${out.join('\n')}\n`);
  process.exit(exit);
}

main().catch((e) => {
  process.stderr.write(`[pinsim internal bug] conformance: ${e?.stack ?? e}\n`);
  process.exit(3);
});
