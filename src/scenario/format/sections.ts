/**
 * The top-level sections besides actors and expectations: kernel, files, devices, processes, replay.
 * The fields of kernel, files and processes are described here as data (kind, default, whether
 * pinsim has built them), read by validation and by the generated reference.
 */
import type { ThpMode } from '../../mm/huge_memory.js';
import { formatSize } from '../../engine/clock.js';
import { dict } from '../../engine/dict.js';
import { PAGE_SIZE } from '../../mm/types.js';
import { PINSIM_MAX_FRAMES } from './limits.js';
import { DEFAULT_POLICY, policyIssue } from '../registry.js';
import { word, type WordSpec } from '../ops/op.js';
import { Check, pathIndex, pathKey } from './check.js';
import { closest } from './closest.js';
import type { DeviceSpec, FileSpec, KernelSpec, ProcessSpec, ReplaySpec } from './types.js';

/** The largest `kernel.memory` a run may have. */
export const MAX_MEMORY = PINSIM_MAX_FRAMES * PAGE_SIZE;

export const TOP_FIELDS = ['name', 'description', 'kernel', 'files', 'devices', 'processes', 'actors', 'expect', 'expectByPolicy', 'replay'];

/** A field of a section. `period` is an object `{ period }` (a time); `sizes` an object of page size → count. */
export interface SectionField {
  readonly kind: 'policy' | 'size' | 'time' | 'period' | 'bool' | 'enum' | 'sizes';
  readonly doc: string;
  readonly required?: boolean;
  /** The default as a user would write it, for the reference. */
  readonly default?: string;
  readonly words?: readonly WordSpec[];
  /** false: part of the format, not built yet (refused as not-implemented). */
  readonly built: boolean;
}

const field = (kind: SectionField['kind'], doc: string, more: Partial<Omit<SectionField, 'kind' | 'doc'>> = {}): SectionField => ({ kind, doc, built: true, ...more });

export const KERNEL_FIELDS: Readonly<Record<string, SectionField>> = {
  policy: field('policy', 'the kernel policy: an era (linux-4.20, linux-5.7, linux-6.12) or a proposal of the 2018 thread', { default: DEFAULT_POLICY }),
  memory: field('size', 'simulated RAM: a limit on allocation, not a preallocation', { default: '4G' }),
  movable: field('size', 'how much of it is ZONE_MOVABLE, where user pages go first', { default: '0' }),
  until: field('time', 'end the run at this time (background work stops too)'),
  livenessBound: field('time', 'an op blocked this long is a `hang`', { default: '1s' }),
  jitter: field('time', 'timing jitter: up to this much is added to each delay, drawn from the seed', { default: '0' }),
  leaseBreakTimeout: field('time', 'lease-break-dummy: how long truncate waits after breaking a lease', { default: '10ms' }),
  writeback: field('period', 'run the flusher threads every period'),
  compaction: field('period', 'run kcompactd every period'),
  reclaim: field('period', 'run kswapd every period'),
  thp: field('enum', 'the anonymous THP policy (most distributions ship "madvise"; upstream\'s Kconfig default is "always")', {
    default: 'madvise',
    words: [word('never', 'no THP'), word('madvise', 'THP where MADV_HUGEPAGE asks'), word('always', 'THP for every eligible VMA')],
  }),
  hugepages: field('sizes', 'the hugetlb pool, allocated at boot from `memory` (2M pages from ZONE_MOVABLE first): { "2M": n, "1G": n }', { default: 'none' }),
  khugepaged: field('period', 'run khugepaged every period: it collapses eligible 2 MiB ranges into THP (absent: khugepaged does not run)'),
  lateWarn: field('time', 'an op starting more than this after its `at` (or `after`) adds a note to `notes` naming what delayed it', { default: '10us' }),
};

export const FILE_FIELDS: Readonly<Record<string, SectionField>> = {
  fs: field('enum', 'the filesystem', {
    required: true,
    words: [
      word('ext4', 'ext4 (dax: fsdax)'), word('xfs', 'xfs (dax: fsdax)'), word('tmpfs', 'tmpfs (shmem)'),
      word('hugetlbfs', 'hugetlbfs: huge pages from the pool, no storage, no writeback, no write(); sizes in whole huge pages'),
    ],
  }),
  size: field('size', 'the file\'s size; it starts on storage with all content "zero" and nothing cached', { required: true }),
  dax: field('bool', 'fsdax: the file\'s blocks are the frames (ext4 and xfs only)', { default: 'false' }),
  pageSize: field('size', 'hugetlbfs: the huge page size, "2M" or "1G"', { default: '2M' }),
  folioSize: field('size', 'the size of the folios its page cache allocates, a power of two from "4K" to "2M", where the filesystem and era support it (else the sizes it does, and a note)', { default: '4K' }),
};

export const PROCESS_FIELDS: Readonly<Record<string, SectionField>> = {
  memlock: field('size', 'RLIMIT_MEMLOCK, enforced by reg_mr (ENOMEM)', { default: 'unlimited' }),
  capIpcLock: field('bool', 'CAP_IPC_LOCK: RLIMIT_MEMLOCK does not apply', { default: 'false' }),
};

/** checkRunPolicy() - a policy a run can use, or undefined with the issue recorded. */
export function checkRunPolicy(c: Check, v: unknown, path: string): string | undefined {
  const p = c.string(v, path);
  if (p === undefined) return undefined;
  const issue = policyIssue(p, c.ctx.policies, path);
  if (!issue) return p;
  c.issues.push(issue);
  return undefined;
}

/** Report every field of @o that @fields marks as not built; Return: the built field names. */
function builtFields(c: Check, o: Record<string, unknown>, fields: Readonly<Record<string, SectionField>>, path: string, what: string): string[] {
  for (const [f, spec] of Object.entries(fields)) {
    if (!spec.built && o[f] !== undefined) c.notBuilt(pathKey(path, f), `${what} field "${f}"`);
  }
  return Object.keys(fields);
}

export function checkKernel(c: Check, v: unknown): KernelSpec {
  const out: KernelSpec = {};
  const o = v === undefined ? undefined : c.object(v, 'kernel', 'an object');
  if (!o) return out;
  c.keys(o, builtFields(c, o, KERNEL_FIELDS, 'kernel', 'kernel'), 'kernel', 'kernel');
  for (const [f, spec] of Object.entries(KERNEL_FIELDS)) {
    const path = pathKey('kernel', f);
    if (o[f] === undefined || !spec.built) continue;
    if (f === 'policy') {
      const p = checkRunPolicy(c, o[f], path);
      if (p !== undefined) out.policy = p;
    } else if (f === 'memory' || f === 'movable') {
      const n = c.size(o[f], path);
      if (n !== undefined && f === 'memory' && n > MAX_MEMORY) {
        c.add('too-large', path, `kernel.memory ${formatSize(n)} is more than pinsim simulates (${formatSize(MAX_MEMORY)}: ${PINSIM_MAX_FRAMES} frames, each in use costs the host about 50 bytes, about 140 under two devices)`,
          { expected: `at most ${formatSize(MAX_MEMORY)} (pinsim's limit)` });
      } else if (n !== undefined) out[f] = n;
    } else if (f === 'thp') {
      const w = c.builtWord(o[f], spec.words ?? [], path, 'unknown-value', 'kernel.thp');
      if (w !== undefined) out.thp = w as ThpMode;
    } else if (f === 'writeback' || f === 'compaction' || f === 'reclaim' || f === 'khugepaged') {
      const po = c.object(o[f], path, 'an object { period }');
      if (!po) continue;
      c.keys(po, ['period'], path, `kernel.${f}`);
      const period = c.time(c.required(po, 'period', path), pathKey(path, 'period'));
      if (period !== undefined) out[f] = { period };
    } else if (f === 'until' || f === 'livenessBound' || f === 'jitter' || f === 'leaseBreakTimeout' || f === 'lateWarn') {
      const n = c.time(o[f], path);
      if (n !== undefined) out[f] = n;
    } else if (f === 'hugepages') {
      const hp = checkHugepages(c, o[f], path);
      if (hp) out.hugepages = hp;
    }
  }
  return out;
}

/** The huge page sizes hugetlb has on x86-64, as the format writes them. */
export const HUGE_PAGE_SIZES: Readonly<Record<string, number>> = { '2M': 2 * 1024 ** 2, '1G': 1024 ** 3 };

/** kernel.hugepages: `{ "2M": n, "1G": n }`, counts of huge pages per size. */
function checkHugepages(c: Check, v: unknown, path: string): Record<string, number> | undefined {
  const o = c.object(v, path, 'an object { "2M": n, "1G": n }');
  if (!o) return undefined;
  c.keys(o, Object.keys(HUGE_PAGE_SIZES), path, 'kernel.hugepages');
  const out: Record<string, number> = {};
  for (const size of Object.keys(HUGE_PAGE_SIZES)) {
    if (o[size] === undefined) continue;
    const n = c.int(o[size], pathKey(path, size));
    if (n !== undefined) out[size] = n;
  }
  return out;
}

const PAGE_4K = 4096;

/** A folioSize: a power of two from 4 KiB to 2 MiB, in bytes, or undefined with the issue. */
function checkFolioSize(c: Check, v: unknown, path: string): number | undefined {
  const n = c.size(v, path);
  if (n === undefined) return undefined;
  if (n >= PAGE_4K && n <= 2 * 1024 * 1024 && (n & (n - 1)) === 0) return n;
  c.add('unknown-value', path, `a folio of ${n} bytes: folios are a power of two from 4 KiB to 2 MiB`, { expected: 'a power of two from "4K" to "2M"' });
  return undefined;
}

/** A hugetlbfs pageSize: "2M" or "1G" (a size the format accepts, in bytes), or undefined with the issue. */
function checkPageSize(c: Check, v: unknown, path: string): number | undefined {
  const n = c.size(v, path);
  if (n === undefined) return undefined;
  if (Object.values(HUGE_PAGE_SIZES).includes(n)) return n;
  c.add('unknown-value', path, `no huge page size of ${n} bytes on x86-64`, { expected: '"2M" or "1G"' });
  return undefined;
}

/** Entries of an optional object-of-objects section, each checked to be an object. */
export function* entries(c: Check, v: unknown, section: string, expected: string): Generator<[string, Record<string, unknown>, string]> {
  const o = v === undefined ? undefined : c.object(v, section, `an object of ${section}`);
  for (const [name, spec] of Object.entries(o ?? {})) {
    const path = pathKey(section, name);
    const so = c.object(spec, path, expected);
    if (so) yield [name, so, path];
  }
}

export function checkFiles(c: Check, v: unknown): Record<string, FileSpec> {
  const out = dict<FileSpec>();
  for (const [name, o, path] of entries(c, v, 'files', 'a file { fs, size, dax?, pageSize?, folioSize? }')) {
    c.keys(o, builtFields(c, o, FILE_FIELDS, path, 'file'), path, 'a file');
    const fs = c.builtWord(c.required(o, 'fs', path), FILE_FIELDS['fs']?.words ?? [], pathKey(path, 'fs'), 'unknown-value', 'filesystem');
    const size = c.size(c.required(o, 'size', path), pathKey(path, 'size'));
    const dax = o['dax'] === undefined ? false : c.bool(o['dax'], pathKey(path, 'dax'));
    const pageSize = o['pageSize'] === undefined ? HUGE_PAGE_SIZES['2M'] : checkPageSize(c, o['pageSize'], pathKey(path, 'pageSize'));
    const folioSize = o['folioSize'] === undefined ? undefined : checkFolioSize(c, o['folioSize'], pathKey(path, 'folioSize'));
    if (dax && (fs === 'tmpfs' || fs === 'hugetlbfs')) {
      c.add('unknown-value', pathKey(path, 'dax'), `dax is a mode of ext4 and xfs; ${fs} has no DAX`, { expected: 'fs "ext4" or "xfs", or no dax' });
    } else if (folioSize !== undefined && fs === 'hugetlbfs') {
      c.add('unknown-field', pathKey(path, 'folioSize'), 'a hugetlbfs file\'s folios are its huge pages: pageSize says their size', { expected: 'pageSize, or no folioSize' });
    } else if (o['pageSize'] !== undefined && fs !== undefined && fs !== 'hugetlbfs') {
      c.add('unknown-field', pathKey(path, 'pageSize'), `pageSize is the huge page size of a hugetlbfs file; ${fs} has none`, { expected: 'fs "hugetlbfs", or no pageSize' });
    } else if (fs === 'hugetlbfs' && size !== undefined && pageSize !== undefined && size % pageSize !== 0) {
      // The file is made with ftruncate, which hugetlbfs refuses for a size it cannot hold.
      c.add('bad-size', pathKey(path, 'size'), `a hugetlbfs file's size is a multiple of its pageSize (${pageSize} bytes)`, { expected: 'a multiple of pageSize' });
    } else if ((fs === 'ext4' || fs === 'xfs' || fs === 'tmpfs' || fs === 'hugetlbfs') && size !== undefined && dax !== undefined && pageSize !== undefined) {
      if (o['folioSize'] !== undefined && folioSize === undefined) continue;
      out[name] = fs === 'hugetlbfs' ? { fs, dax, size, pageSize } : { fs, dax, size, ...(folioSize !== undefined && folioSize !== PAGE_4K ? { folioSize } : {}) };
    }
  }
  return out;
}

export function checkDevices(c: Check, v: unknown): Record<string, DeviceSpec> {
  const out = dict<DeviceSpec>();
  for (const [name, o, path] of entries(c, v, 'devices', 'a device { model, ...params }')) {
    const modelPath = pathKey(path, 'model');
    const model = c.string(c.required(o, 'model', path), modelPath);
    if (model === undefined) continue;
    const spec = c.ctx.models.get(model);
    const built = [...c.ctx.models.keys()];
    if (!spec) {
      if (c.ctx.knownModels.includes(model)) {
        c.add('not-implemented', modelPath, `device model "${model}" is part of the contract but not built yet`, { expected: `one of ${built.join(', ')}` });
      } else {
        c.add('unknown-model', modelPath, `unknown device model "${model}"`,
          { expected: `one of ${c.ctx.knownModels.join(', ')}`, didYouMean: closest(model, [...built, ...c.ctx.knownModels]) });
      }
      continue;
    }
    c.keys(o, ['model', ...Object.keys(spec.params)], path, `a ${model} device`);
    const parsed = dict<DeviceSpec['params'][string]>();
    for (const [p, ps] of Object.entries(spec.params)) {
      const x = o[p] === undefined ? undefined : c.param(o[p], ps, pathKey(path, p));
      if (x !== undefined) parsed[p] = x;
    }
    // A deprecated parameter and the one replacing it, given together, must mean the same thing.
    for (const [p, ps] of Object.entries(spec.params)) {
      const dep = ps.deprecated, v = parsed[p];
      if (!dep || v === undefined) continue;
      const now = parsed[dep.param];
      if (now !== undefined && now !== dep.value(v)) {
        c.add('conflict', pathKey(path, p), `${p}: ${JSON.stringify(v)} (deprecated) means ${dep.param}: ${JSON.stringify(dep.value(v))}, but ${dep.param} is ${JSON.stringify(now)}`,
          { expected: `${dep.param} alone` });
      }
    }
    out[name] = { model, params: parsed };
  }
  return out;
}

export function checkProcesses(c: Check, v: unknown): Record<string, ProcessSpec> {
  const out = dict<ProcessSpec>();
  for (const [name, o, path] of entries(c, v, 'processes', 'a process { memlock?, capIpcLock? }')) {
    c.keys(o, Object.keys(PROCESS_FIELDS), path, 'a process');
    const p: ProcessSpec = {};
    const memlock = c.size(o['memlock'], pathKey(path, 'memlock'));
    const cap = c.bool(o['capIpcLock'], pathKey(path, 'capIpcLock'));
    if (memlock !== undefined) p.memlock = memlock;
    if (cap !== undefined) p.capIpcLock = cap;
    out[name] = p;
  }
  return out;
}

export function checkReplay(c: Check, v: unknown): ReplaySpec | undefined {
  const o = c.object(v, 'replay', 'an object');
  if (!o) return undefined;
  c.keys(o, ['seed', 'policy', 'window', 'jitter', 'choices', 'traceHash', 'hashSchema', 'pinsimVersion'], 'replay', 'replay');
  const at = (f: string): string => pathKey('replay', f);
  const out: ReplaySpec = {};
  const seed = c.int(o['seed'], at('seed'));
  const policy = o['policy'] === undefined ? undefined : checkRunPolicy(c, o['policy'], at('policy'));
  const window = c.time(o['window'], at('window'));
  const jitter = c.time(o['jitter'], at('jitter'));
  const traceHash = c.string(o['traceHash'], at('traceHash'));
  const hashSchema = c.int(o['hashSchema'], at('hashSchema'));
  const pinsimVersion = c.string(o['pinsimVersion'], at('pinsimVersion'));
  if (seed !== undefined) out.seed = seed;
  if (policy !== undefined) out.policy = policy;
  if (window !== undefined) out.window = window;
  if (jitter !== undefined) out.jitter = jitter;
  if (traceHash !== undefined) out.traceHash = traceHash;
  if (hashSchema !== undefined) out.hashSchema = hashSchema;
  if (pinsimVersion !== undefined) out.pinsimVersion = pinsimVersion;
  if (o['choices'] !== undefined) {
    if (!Array.isArray(o['choices'])) {
      c.wrongType(o['choices'], at('choices'), 'an array of non-negative integers');
    } else {
      const choices = o['choices'].map((x, i) => c.int(x, pathIndex(at('choices'), i)));
      if (choices.every((x) => x !== undefined)) out.choices = choices;
    }
  }
  return out;
}
