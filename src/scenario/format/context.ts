/**
 * What validation may accept, read from a registry: the policies it can run and the names input may
 * mention, the device models with their parameters and the ops each accepts, and the invariant
 * kinds. Which ops, fields and words pinsim has built is read from the op table itself.
 */
import type { DeviceParamSpec } from '../../devices/device.js';
import { CONTRACT_MODELS, INVARIANT_KINDS, policyNames, type PolicyNames, type Registry } from '../registry.js';

/** How a device model's parameter is parsed (the model declares these). */
export interface ParamSpec {
  kind: 'time' | 'size' | 'bool' | 'int' | 'enum';
  values?: readonly string[];
  /** a parameter kept for old scenarios, and what it means in terms of its replacement */
  deprecated?: DeviceParamSpec['deprecated'];
}

/** A device model as validation sees it. */
export interface ModelSpec {
  readonly params: Readonly<Record<string, ParamSpec>>;
  /** the device ops it accepts */
  readonly ops: readonly string[];
}

export interface ValidationContext {
  readonly policies: PolicyNames;
  /** every model name input may mention (built-in names included, built or not) */
  readonly knownModels: readonly string[];
  /** the built models, by name; a known model not in here is refused as not-implemented */
  readonly models: ReadonlyMap<string, ModelSpec>;
  /** the invariant kinds, for expect.violations / forbid / allow */
  readonly invariantKinds: readonly string[];
}

/** validationContext() - what @reg lets a scenario use. */
export function validationContext(reg: Registry): ValidationContext {
  const models = new Map<string, ModelSpec>();
  for (const [name, m] of reg.devices) {
    const params: Record<string, ParamSpec> = {};
    for (const [pn, p] of Object.entries(m.params)) {
      params[pn] = { kind: p.kind, ...(p.values ? { values: p.values } : {}), ...(p.deprecated ? { deprecated: p.deprecated } : {}) };
    }
    models.set(name, { params, ops: m.ops });
  }
  return {
    policies: policyNames(reg),
    knownModels: [...new Set([...CONTRACT_MODELS, ...reg.devices.keys()])],
    models,
    invariantKinds: INVARIANT_KINDS,
  };
}
