/**
 * What validation needs to know about this build (built policies, models and their parameters,
 * implemented ops), and the finer not-implemented checks that depend on values inside an op.
 */
import { MADVISE_IMPLEMENTED } from '../mm/madvise.js';
import { CONTRACT_MODELS, CONTRACT_POLICIES, IMPLEMENTED_OPS, INVARIANT_KINDS, type Registry } from './registry.js';
import type { Issue, Op, Scenario } from './types.js';
import type { ParamSpec, ValidationContext } from './validate.js';

export function validationContext(reg: Registry): ValidationContext {
  const devices: Record<string, Record<string, ParamSpec>> = {};
  for (const [name, m] of reg.devices) {
    const ps: Record<string, ParamSpec> = {};
    for (const [pn, p] of Object.entries(m.params)) ps[pn] = p.values ? { kind: p.kind, values: p.values } : { kind: p.kind };
    devices[name] = ps;
  }
  return {
    policies: [...new Set([...CONTRACT_POLICIES, ...reg.policies.keys()])],
    builtPolicies: [...reg.policies.keys()],
    knownModels: [...new Set([...CONTRACT_MODELS, ...reg.devices.keys()])],
    devices,
    implementedOps: IMPLEMENTED_OPS,
    invariantKinds: INVARIANT_KINDS,
  };
}

/**
 * featureIssues() - contract features inside valid input that this build does not run yet:
 * madvise advice other than dontneed, device ops a model does not execute.
 */
export function featureIssues(s: Scenario, reg: Registry): Issue[] {
  const issues: Issue[] = [];
  const visit = (ops: Op[], path: string) => {
    ops.forEach((op, i) => {
      const p = `${path}[${i}]`;
      if (op.op === 'madvise' && !MADVISE_IMPLEMENTED.includes(op.advice)) {
        issues.push({ code: 'not-implemented', path: `${p}.advice`, message: `madvise advice "${op.advice}" is part of the contract but not built yet`, expected: MADVISE_IMPLEMENTED.join(', ') });
      }
      if (op.op === 'reg_mr') {
        const d = s.devices[op.device];
        const model = d && reg.devices.get(d.model);
        if (model && !model.ops.includes('reg_mr')) issues.push({ code: 'not-implemented', path: `${p}.op`, message: `device model ${d.model} does not execute reg_mr` });
      }
    });
  };
  for (const [name, a] of Object.entries(s.actors)) visit(a.ops, `actors.${name}`);
  return issues;
}
