/**
 * validateScenario(): the input boundary of the scenario format. It turns what users write (untrusted) into a
 * `Scenario` (units resolved, defaults applied), or into every issue it finds, each with a JSON path
 * and, for an unknown word, the closest valid one. Values the syscall ABI can carry but the kernel
 * refuses (length 0, unaligned addresses, conflicting flags, an unmapped range) pass through: the
 * simulated kernel answers them with its errno.
 *
 * Paths: dots for identifier keys, `[i]` for indices, `["x.y"]` for other keys, `""` for the root:
 * `actors.app[2].length`, `expectByPolicy["linux-6.12"].results["admin.0"]`.
 *
 * The work is in validate/: check.ts (the issue collector), sections.ts (top level), ops.ts (ops
 * and names), expect.ts (expectations).
 */
import { closest } from './closest.js';
import type { Scenario, ValidationResult } from './types.js';
import { pathKey, keysOf, Check } from './validate/check.js';
import { TOP_FIELDS, checkKernel, checkFiles, checkDevices, checkProcesses, checkReplay } from './validate/sections.js';
import { OpWalker } from './validate/ops.js';
import { checkExpectByPolicy, checkExpect } from './validate/expect.js';
export { pathIndex, pathKey } from './validate/check.js';

/** How a device model's parameter is parsed (the model declares these). */
export interface ParamSpec { kind: 'time' | 'size' | 'bool' | 'int' | 'enum'; values?: readonly string[] }

/** What validation may accept: the contract's names and which of them are built (from the registry). */
export interface ValidationContext {
  /** every policy name usable in expectByPolicy keys (contract names incl. not-built ones) */
  policies: readonly string[];
  /** kernel.policy / replay.policy must be one of these */
  builtPolicies: readonly string[];
  /** all contract device model names ('gup-nic', 'odp-nic', 'gpu-hmm') */
  knownModels: readonly string[];
  /** BUILT models → their params; a known-but-unbuilt model → 'not-implemented' */
  devices: Readonly<Record<string, Readonly<Record<string, ParamSpec>>>>;
  /** an op of ALL_OPS not in here → 'not-implemented'; not in ALL_OPS → 'unknown-op' */
  implementedOps: ReadonlySet<string>;
  /** the invariant kinds, for expect.violations / forbid / allow */
  invariantKinds: readonly string[];
}

/** validateScenario() - a normalized Scenario, or every issue found in `input`. */
export function validateScenario(input: unknown, ctx: ValidationContext): ValidationResult {
  const c = new Check(ctx);
  const top = c.object(input, '', 'a scenario object');
  if (!top) return { ok: false, issues: c.issues };
  c.keys(top, TOP_FIELDS, '', 'a scenario');
  const name = c.string(c.required(top, 'name', ''), 'name');
  const description = top['description'] === undefined ? undefined : c.string(top['description'], 'description');
  const kernel = checkKernel(c, top['kernel']);
  const files = checkFiles(c, top['files']);
  const devices = checkDevices(c, top['devices']);
  const processes = checkProcesses(c, top['processes']);
  const w = new OpWalker(c, keysOf(top['files']), keysOf(top['devices']));
  const actors = w.actors(c.required(top, 'actors', ''));
  w.resolve();
  for (const p of Object.keys(processes)) {
    if (w.processNames.has(p)) continue;
    c.add('unknown-name', pathKey('processes', p), `no actor runs in process "${p}" and no fork creates it`,
      { expected: 'the process of an actor or the "as" of a fork', didYouMean: closest(p, [...w.processNames]) });
  }
  const expect = top['expect'] === undefined ? undefined : checkExpect(c, w, top['expect'], 'expect');
  const byPolicy = top['expectByPolicy'] === undefined ? undefined : checkExpectByPolicy(c, w, top['expectByPolicy']);
  const replay = top['replay'] === undefined ? undefined : checkReplay(c, top['replay']);

  if (c.issues.length > 0 || name === undefined) return { ok: false, issues: c.issues };
  const scenario: Scenario = { name, kernel, files, devices, processes, actors };
  if (description !== undefined) scenario.description = description;
  if (expect) scenario.expect = expect;
  if (byPolicy) scenario.expectByPolicy = byPolicy;
  if (replay) scenario.replay = replay;
  return { ok: true, scenario };
}

