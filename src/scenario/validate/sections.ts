/** Validation of the top-level sections: kernel, files, devices, processes, replay. */
import { linux_era } from '../../policy/linux-era.js';
import { closest } from '../closest.js';
import { FS_VALUES } from '../schema.js';
import type { DeviceSpec, FileSpec, KernelSpec, ProcessSpec, ReplaySpec } from '../types.js';
import { pathKey, pathIndex, Check } from './check.js';
// ---------------------------------------------------------------------------------------------
// Top level: kernel, files, devices, processes, replay

export const TOP_FIELDS = ['name', 'description', 'kernel', 'files', 'devices', 'processes', 'actors', 'expect', 'expectByPolicy', 'replay'];
export const KERNEL_FIELDS = ['policy', 'memory', 'movable', 'until', 'livenessBound', 'jitter', 'leaseBreakTimeout', 'writeback', 'compaction', 'reclaim'] as const;

/** A policy a run can use: built → the name; a contract name not built → not-implemented. */
export function checkRunPolicy(c: Check, v: unknown, path: string): string | undefined {
  const p = c.string(v, path);
  const built = c.ctx.builtPolicies;
  if (p === undefined || built.includes(p) || linux_era(p)) return p;
  if (c.ctx.policies.includes(p)) {
    c.add('not-implemented', path, `policy "${p}" is part of the contract but not built yet`, { expected: `one of ${built.join(', ')}` });
  } else {
    c.add('unknown-policy', path, `unknown policy "${p}"`,
      { expected: `one of ${built.join(', ')}, or linux-X.Y from 4.19`, didYouMean: closest(p, [...built, ...c.ctx.policies]) });
  }
  return undefined;
}

export function checkKernel(c: Check, v: unknown): KernelSpec {
  const out: KernelSpec = {};
  const o = v === undefined ? undefined : c.object(v, 'kernel', 'an object');
  if (!o) return out;
  c.keys(o, KERNEL_FIELDS, 'kernel', 'kernel');
  for (const f of KERNEL_FIELDS) {
    const path = pathKey('kernel', f);
    if (o[f] === undefined) continue;
    if (f === 'policy') {
      const p = checkRunPolicy(c, o[f], path);
      if (p !== undefined) out.policy = p;
    } else if (f === 'memory' || f === 'movable') {
      const n = c.size(o[f], path);
      if (n !== undefined) out[f] = n;
    } else if (f === 'writeback' || f === 'compaction' || f === 'reclaim') {
      const po = c.object(o[f], path, 'an object { period }');
      if (!po) continue;
      c.keys(po, ['period'], path, `kernel.${f}`);
      const period = c.time(c.required(po, 'period', path), pathKey(path, 'period'));
      if (period !== undefined) out[f] = { period };
    } else {
      const n = c.time(o[f], path);
      if (n !== undefined) out[f] = n;
    }
  }
  return out;
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
  const out: Record<string, FileSpec> = {};
  for (const [name, o, path] of entries(c, v, 'files', 'a file { fs, size, dax? }')) {
    c.keys(o, ['fs', 'size', 'dax'], path, 'a file');
    const fs = c.word(c.required(o, 'fs', path), FS_VALUES, pathKey(path, 'fs'), 'unknown-value');
    const size = c.size(c.required(o, 'size', path), pathKey(path, 'size'));
    const dax = o['dax'] === undefined ? false : c.bool(o['dax'], pathKey(path, 'dax'));
    if (dax && fs === 'tmpfs') {
      c.add('unknown-value', pathKey(path, 'dax'), 'dax is a mode of ext4 and xfs; tmpfs has no DAX', { expected: 'fs "ext4" or "xfs", or no dax' });
    } else if (fs !== undefined && size !== undefined && dax !== undefined) {
      out[name] = { fs: fs as FileSpec['fs'], dax, size };
    }
  }
  return out;
}

export function checkDevices(c: Check, v: unknown): Record<string, DeviceSpec> {
  const out: Record<string, DeviceSpec> = {};
  for (const [name, o, path] of entries(c, v, 'devices', 'a device { model, ...params }')) {
    const modelPath = pathKey(path, 'model');
    const model = c.string(c.required(o, 'model', path), modelPath);
    if (model === undefined) continue;
    const params = c.ctx.devices[model];
    if (!params) {
      if (c.ctx.knownModels.includes(model)) {
        c.add('not-implemented', modelPath, `device model "${model}" is part of the contract but not built yet`,
          { expected: `one of ${Object.keys(c.ctx.devices).join(', ')}` });
      } else {
        c.add('unknown-model', modelPath, `unknown device model "${model}"`,
          { expected: `one of ${c.ctx.knownModels.join(', ')}`, didYouMean: closest(model, [...Object.keys(c.ctx.devices), ...c.ctx.knownModels]) });
      }
      continue;
    }
    c.keys(o, ['model', ...Object.keys(params)], path, `a ${model} device`);
    const parsed: DeviceSpec['params'] = {};
    for (const [p, spec] of Object.entries(params)) {
      const x = o[p] === undefined ? undefined : c.param(o[p], spec, pathKey(path, p));
      if (x !== undefined) parsed[p] = x;
    }
    out[name] = { model, params: parsed };
  }
  return out;
}

export function checkProcesses(c: Check, v: unknown): Record<string, ProcessSpec> {
  const out: Record<string, ProcessSpec> = {};
  for (const [name, o, path] of entries(c, v, 'processes', 'a process { memlock?, capIpcLock? }')) {
    c.keys(o, ['memlock', 'capIpcLock'], path, 'a process');
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
  c.keys(o, ['seed', 'policy', 'window', 'jitter', 'choices', 'traceHash', 'pinsimVersion'], 'replay', 'replay');
  const at = (f: string): string => pathKey('replay', f);
  const out: ReplaySpec = {};
  const seed = c.int(o['seed'], at('seed'));
  const policy = o['policy'] === undefined ? undefined : checkRunPolicy(c, o['policy'], at('policy'));
  const window = c.time(o['window'], at('window'));
  const jitter = c.time(o['jitter'], at('jitter'));
  const traceHash = c.string(o['traceHash'], at('traceHash'));
  const pinsimVersion = c.string(o['pinsimVersion'], at('pinsimVersion'));
  if (seed !== undefined) out.seed = seed;
  if (policy !== undefined) out.policy = policy;
  if (window !== undefined) out.window = window;
  if (jitter !== undefined) out.jitter = jitter;
  if (traceHash !== undefined) out.traceHash = traceHash;
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

