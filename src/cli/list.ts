/**
 * `pinsim list`: what this build knows: policies, device models with their parameters, invariant
 * kinds, example scenarios, and what is out of scope. Contract names not built yet are listed too,
 * marked, so a user sees the whole vocabulary of policies and models and what runs today.
 */
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { EARLIEST_ERA, ERA_TIMELINE, formatVersion } from '../mm/features.js';
import { opsListing, paramDefault } from '../report/reference.js';
import { collectScenarioFiles, loadScenarioInput } from '../scenario/format/load.js';
import { CONTRACT_MODELS, CONTRACT_POLICIES, DEFAULT_POLICY, INVARIANT_KINDS, defaultRegistry } from '../scenario/registry.js';
import { ScenarioError } from '../scenario/format/types.js';
import { COLUMNS, parseArgs, wrapText } from './args.js';
import type { CommandSpec } from './args.js';

export const LIST_SPEC: CommandSpec = {
  name: 'list',
  operands: '',
  minOperands: 0,
  maxOperands: 0,
  summary: 'policies, device models, invariant kinds, example scenarios (--ops: every op and its fields)',
  flags: {
    ops: { value: false, doc: 'every op of the scenario format with its fields, units and defaults (docs/scenario-reference.md in full)' },
  },
};

/** One-liners for the named policies and models this build does not have a plugin for yet. */
const CONTRACT_DESCRIPTIONS: Record<string, string> = {
  'linux-5.7': 'FOLL_PIN and unpin_user_page* with the 1024-bias tracking; otherwise 4.20 behaviour',
  'linux-5.9': 'refcount-based COW reuse; fork copies pinned anonymous pages for the child',
  'linux-5.19': 'PageAnonExclusive; R/O pins unshare',
  'block-truncate': "the thread's S1: truncate unmaps, then waits until no device holds a long-term DMA reference on the range",
  'lease-break-dummy': "the thread's S2: truncate breaks the pinner's lease, waits, then redirects the device to a dummy page",
  'layout-lease': "Ira Weiny's 2019 RFC: long-term pins of file pages need a layout lease; truncate of pinned pages fails ETXTBSY",
  revoke: "Jason Gunthorpe's forcibly terminate: truncate revokes the referencing MR, later DMA completes device-error",
  'iommu-backstop': 'truncate unmaps the IOVA of devices behind an IOMMU; their later DMA faults (remote-access-error)',
  'odp-nic': 'mlx5 ODP: interval notifier per MR, device page faults via hmm_range_fault, synchronous UMR zap',
  'gpu-hmm': "a GPU mirroring through HMM, as lib/test_hmm.c's dmirror",
};

const NOT_BUILT = '(not built yet)';

/** Name and description columns, the descriptions wrapped to COLUMNS under their own column. */
function rows(items: [string, string][], indent = '  '): string[] {
  const w = Math.max(0, ...items.map(([n]) => n.length));
  // A name column so wide that little room is left puts the description on the lines below it.
  if (indent.length + w + 2 > COLUMNS / 2) return items.flatMap(([n, d]) => [`${indent}${n}`, ...wrapText(d, COLUMNS, `${indent}    `)]);
  return items.flatMap(([n, d]) => wrapText(d, COLUMNS, `${indent}${n.padEnd(w)}  `));
}

/** cmdList() - Return: the exit status (0). */
export async function cmdList(argv: readonly string[]): Promise<number> {
  const p = parseArgs(argv, LIST_SPEC);
  const reg = defaultRegistry();
  if (p.flags['ops'] === true) {
    process.stdout.write(opsListing(reg).join('\n') + '\n');
    return 0;
  }
  const out: string[] = [];

  out.push('policies:');
  const policies = [...new Set([...CONTRACT_POLICIES, ...reg.policies.keys()])];
  out.push(...rows(policies.map((name) => {
    const p = reg.policies.get(name);
    const label = name === DEFAULT_POLICY ? `${name} (default)` : name;
    return [label, p ? p.description : `${NOT_BUILT} ${CONTRACT_DESCRIPTIONS[name] ?? ''}`];
  })));

  out.push('', ...eraTimeline());

  out.push('', 'device models:');
  for (const name of [...new Set([...CONTRACT_MODELS, ...reg.devices.keys()])]) {
    const m = reg.devices.get(name);
    out.push(...rows([[name, m ? m.description : `${NOT_BUILT} ${CONTRACT_DESCRIPTIONS[name] ?? ''}`]]));
    if (m) out.push(...rows(Object.entries(m.params).map(([pn, p]) => [`${pn} = ${paramDefault(p)}`, p.doc]), '      '));
  }

  out.push('', 'invariant kinds:');
  const kinds = [...new Set([...INVARIANT_KINDS, ...reg.invariants.keys()])];
  out.push(...rows(kinds.map((k) => [k, reg.invariants.get(k)?.description ?? '(no checker yet)'])));

  out.push('', 'example scenarios:', ...(await examples()));
  out.push('', 'out of scope: THP and hugetlb (all folios are order-0), swap, NUMA');
  process.stdout.write(out.join('\n') + '\n');
  return 0;
}

/**
 * The era timeline: every kernel boundary pinsim models, oldest first, with its commit and subject.
 * Any linux-X.Y from the earliest era on runs with the features of every boundary up to it.
 */
function eraTimeline(): string[] {
  const out = [`era timeline (any linux-X.Y from ${formatVersion(EARLIEST_ERA)} takes every boundary up to X.Y):`];
  for (const b of ERA_TIMELINE) {
    const what = b.commit ? `${b.commit} "${b.subject}"` : `(commit not recorded) ${b.subject}`;
    out.push(...wrapText(what, COLUMNS, `  ${formatVersion(b.version).padEnd(5)}  `, ' '.repeat(9)));
    out.push(...wrapText(`${b.where}: ${b.effect}`, COLUMNS, ' '.repeat(9)));
  }
  return out;
}

/** The scenarios under the package's examples/ directory, each with its name and description. */
async function examples(): Promise<string[]> {
  const dir = fileURLToPath(new URL('../../examples/', import.meta.url));
  if (!existsSync(dir)) return ['  (no examples directory)'];
  const lines: string[] = [];
  for (const file of collectScenarioFiles([dir])) {
    const shown = relative(fileURLToPath(new URL('../../', import.meta.url)), file);
    try {
      const s = (await loadScenarioInput(file)) as { name?: unknown; description?: unknown } | null;
      const name = typeof s?.name === 'string' ? s.name : shown;
      lines.push(`  ${name}  (${shown})`);
      if (typeof s?.description === 'string') lines.push(...wrapText(s.description, COLUMNS, '      '));
    } catch (e) {
      if (!(e instanceof ScenarioError)) throw e;
      lines.push(`  ${shown}  (cannot load: ${e.issues[0]?.message ?? 'bad input'})`);
    }
  }
  return lines.length ? lines : ['  (none)'];
}
