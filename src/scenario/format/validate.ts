/**
 * validateScenario(): the input boundary. It turns what users write (untrusted) into a `Scenario`
 * (units resolved, defaults applied), or into every issue it finds in every section, each with a
 * JSON path and, for an unknown word, the closest valid one. Values the syscall ABI can carry but
 * the kernel refuses (length 0, unaligned addresses, conflicting flags, an unmapped range) pass
 * through: the simulated kernel answers them with its errno.
 *
 * Paths: dots for identifier keys, `[i]` for indices, `["x.y"]` for other keys, `""` for the root:
 * `actors.app[2].length`, `expectByPolicy["linux-6.12"].results["admin.0"]`.
 *
 * The work is in check.ts (the issue collector), sections.ts (kernel, files, devices, processes,
 * replay), actors.ts (ops and names, read from the op table) and expect.ts (expectations).
 */
import { defaultRegistry, type Registry } from '../registry.js';
import { OpWalker } from './actors.js';
import { Check, isObject, keysOf, pathKey } from './check.js';
import { closest } from './closest.js';
import { validationContext, type ValidationContext } from './context.js';
import { checkExpect, checkExpectByPolicy } from './expect.js';
import { TOP_FIELDS, checkDevices, checkFiles, checkKernel, checkProcesses, checkReplay } from './sections.js';
import { ScenarioError, type Scenario, type ValidationResult } from './types.js';
export { pathIndex, pathKey } from './check.js';

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
  const models = new Map(keysOf(top['devices']).map((d) => {
    const spec = isObject(top['devices']) ? top['devices'][d] : undefined;
    return [d, isObject(spec) ? spec['model'] : undefined] as const;
  }));
  const w = new OpWalker(c, keysOf(top['files']), models);
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

/** validateOrThrow() - the validated scenario, or a ScenarioError with every issue. */
export function validateOrThrow(input: unknown, registry: Registry = defaultRegistry(), file?: string): Scenario {
  const v = validateScenario(input, validationContext(registry));
  if (!v.ok) throw new ScenarioError(v.issues, file);
  return v.scenario;
}
