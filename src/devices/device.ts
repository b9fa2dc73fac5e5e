/**
 * The device plugin contract. A device model is a const descriptor (`DeviceModel`) whose
 * `create()` gets everything through its `DeviceCtx`; the scenario runner turns device ops into
 * calls of the instance's optional methods, run by an actor named after the device. Helpers every
 * DMA engine shares (its parameters, one page transfer through a translation, the translation table
 * of ./translation_table.ts) are reached from here: a model's folder imports this file only.
 */
import type { Co } from '../engine/actor.js';
import { PINSIM_BUG } from '../engine/bug.js';
import { WaitQueueHead, wait_event } from '../engine/waitqueue.js';
import type { Prng } from '../engine/prng.js';
import { cpu_view } from '../mm/cpu.js';
import type { Errno } from '../mm/errno.js';
import type { IommuDomain } from '../mm/iommu.js';
import type { Kernel, Process } from '../mm/kernel.js';
import type { Translation } from './translation_table.js';

// The translations a device holds and the table every model keeps them in (part of the contract).
export {
  dma_map_translation, dma_unmap_translation, trace_dev_map, trace_dev_unmap, TranslationTable,
  type TableEntry, type TableOptions, type Translation, type TranslationCtx,
} from './translation_table.js';

/** A parameter a model accepts in a scenario's `devices.<name>` entry. */
export interface DeviceParamSpec {
  kind: 'time' | 'size' | 'bool' | 'int' | 'enum';
  values?: readonly string[];
  default: number | string | boolean;
  doc: string;
  /**
   * A parameter kept for old scenarios: when given, it sets @param to @value(given) (a scenario
   * giving both with different meanings is refused) and the result's `notes` say so.
   */
  deprecated?: { readonly param: string; readonly value: (v: number | string | boolean) => number | string | boolean; readonly note: string };
}

export type DeviceParams = Record<string, number | string | boolean>;

/**
 * resolveDeviceParams() - (pinsim-only) every parameter of @model for a device whose scenario entry
 * gave @given: the given value, else the default; a deprecated parameter given sets the one that
 * replaces it, with a note in @notes.
 * Context: any. Return: the parameters the model's create() reads.
 */
export function resolveDeviceParams(model: DeviceModel, given: Readonly<DeviceParams>, name: string, notes?: string[]): DeviceParams {
  const params: DeviceParams = {};
  for (const [pn, spec] of Object.entries(model.params)) params[pn] = given[pn] ?? spec.default;
  for (const [pn, spec] of Object.entries(model.params)) {
    const v = given[pn];
    if (v === undefined || !spec.deprecated) continue;
    const to = spec.deprecated.value(v);
    params[spec.deprecated.param] = to;
    notes?.push(`${name}: ${spec.deprecated.note} ${JSON.stringify(to)} (${pn}: ${JSON.stringify(v)})`);
  }
  return params;
}

export interface DeviceCtx {
  readonly k: Kernel;
  /** The device's name in the scenario (its actor name in traces). */
  readonly name: string;
  readonly params: DeviceParams;
  /** The device's own PRNG stream (fault injection). */
  readonly prng: Prng;
  /** The device's IOMMU domain when it sits behind one (`"iommu": true`), else null. */
  readonly iommu: IommuDomain | null;
}

/**
 * numberParam() - (pinsim-only) the `time`, `size` or `int` parameter @name of the device. The runner
 * fills every declared parameter (the scenario's value or the spec's default), so a missing or
 * mistyped one is pinsim's bug.
 * Context: any. Return: its value. Kernel: none (a module parameter, in spirit).
 */
export function numberParam(ctx: DeviceCtx, name: string): number {
  const v = ctx.params[name];
  return typeof v === 'number' ? v : PINSIM_BUG(`${ctx.name}: parameter ${name} is ${JSON.stringify(v)}, not a number`);
}

/**
 * stringParam() - (pinsim-only) the `enum` parameter @name of the device.
 * Context: any. Return: its value. Kernel: none.
 */
export function stringParam(ctx: DeviceCtx, name: string): string {
  const v = ctx.params[name];
  return typeof v === 'string' ? v : PINSIM_BUG(`${ctx.name}: parameter ${name} is ${JSON.stringify(v)}, not a string`);
}

/**
 * boolParam() - (pinsim-only) the `bool` parameter @name of the device.
 * Context: any. Return: true only when set true. Kernel: none.
 */
export function boolParam(ctx: DeviceCtx, name: string): boolean {
  return ctx.params[name] === true;
}

/** Parameters every device model has: the IOMMU and how it takes a PCIe error. */
export const COMMON_DEVICE_PARAMS: Readonly<Record<string, DeviceParamSpec>> = {
  iommu: { kind: 'bool', default: false, doc: 'DMA goes through an IOMMU domain (IOVA per mapped page)' },
  pcieErrorHandling: { kind: 'enum', values: ['abort', 'hang'], default: 'abort', doc: 'on an IOMMU fault: abort the DMA (remote-access-error) or hang' },
};

/**
 * dma_iommu_fault() - the device took an IOMMU fault: abort (the DMA completes with
 * remote-access-error) or, with pcieErrorHandling "hang", never complete.
 * Context: the device's own actor; with "hang" it sleeps forever.
 * Return: 'remote-access-error' (when it returns at all).
 * Kernel: drivers/iommu/ (the fault itself); what the device does next is its firmware's choice.
 */
export function* dma_iommu_fault(ctx: DeviceCtx): Co<DmaStatus> {
  if (ctx.params['pcieErrorHandling'] === 'hang') {
    // The device never completes the transfer: whoever waits for it blocks forever.
    yield* wait_event(new WaitQueueHead(`${ctx.name}.pcie_hang`), () => false, 'device:pcie_hang');
  }
  return 'remote-access-error';
}

/** A DMA-engine completion status. */
export type DmaStatus = 'ok' | 'remote-access-error' | 'device-error';

/** What a registered memory region is to the runner: opaque, owned by its device. */
export interface MemoryRegion {
  readonly device: string;
  readonly length: number;
}

export interface DmaRequest {
  mr: MemoryRegion;
  write: boolean;
  offset: number;
  length: number;
  /** The content token a write puts in memory. */
  token: number;
  /** The op's name for traces (its `as`, or actor.index). */
  wr: string;
}

export interface DmaResult {
  status: DmaStatus;
  /** Content tokens read, one per page (reads). */
  tokens: number[];
}

/** Access flags of a registration beyond r / rw. */
export interface RegMrFlags {
  /** IB_ACCESS_HUGETLB: the MR is hugetlb memory; an ODP MR maps it with huge MTT entries. */
  readonly hugetlb?: boolean;
}

export interface DeviceInstance {
  /** ibv_reg_mr(): a model that does not know a flag of @flags ignores it, as a driver does. */
  reg_mr?(proc: Process, addr: number, length: number, access: 'r' | 'rw', name: string, flags?: RegMrFlags): Co<MemoryRegion | Errno>;
  dereg_mr?(mr: MemoryRegion): Co<0 | Errno>;
  dma?(req: DmaRequest): Co<DmaResult>;
  /** ibv_advise_mr(): prefetch a range of an ODP MR. */
  advise_mr?(mr: MemoryRegion, advice: 'prefetch' | 'prefetch_write' | 'prefetch_no_fault', offset: number, length: number): Co<0 | Errno>;
  /** GPU mirror ops (dmirror's ioctls); results are errno names with per-op counters. */
  mirror?(proc: Process, addr: number, length: number, name: string): Co<MemoryRegion | Errno>;
  unmirror?(m: MemoryRegion): Co<0 | Errno>;
  mirror_op?(m: MemoryRegion, op: MirrorOpName, offset: number, length: number, token: number, wr: string): Co<MirrorOpResult>;
  /** The process @proc is exiting: release what it owns on this device (uverbs fd close). */
  release_process?(proc: Process): Co;
  /**
   * A hash of the device's state (its translation tables), for the explorer's state cache. With
   * @fromScratch, every table's digest is computed again from its entries (the reference).
   */
  fingerprint?(fromScratch?: boolean): number;
  /**
   * The instance as create() made it, for the next execution of a machine that is reused: its
   * kernel has just been reset (so what it registered with the kernel is gone), and its context's
   * PRNG and IOMMU domain are reset by the caller. A model whose instances lack it is created anew
   * for every execution.
   */
  reset?(): void;
}

export type MirrorOpName = 'gpu_read' | 'gpu_write' | 'migrate_to_device' | 'migrate_to_host' | 'make_exclusive' | 'check_exclusive' | 'snapshot';

export interface MirrorOpResult {
  result: 0 | Errno;
  tokens: number[];
  /** dmirror's counters: pages copied/migrated/reported, device-fault rounds. */
  cpages: number;
  faults: number;
  /** SNAPSHOT: one name per page (ERROR, NONE, READ, WRITE, ZERO|READ, …), comma-separated. */
  snapshot?: string;
}

export interface DeviceModel {
  readonly name: string;
  readonly description: string;
  readonly params: Readonly<Record<string, DeviceParamSpec>>;
  /** Device ops this model executes (the runner refuses the others for it with EINVAL). */
  readonly ops: readonly string[];
  /**
   * Whether @params make this device behave as no merged driver code does (a what-if of the
   * hardware): the reason, worded to follow the device's name, else null. `pinsim compare` shows
   * such scenarios but leaves them out of who is punished.
   */
  readonly hypothetical?: (params: DeviceParams) => string | null;
  create(ctx: DeviceCtx): DeviceInstance;
}

/**
 * page_bytes() - (pinsim-only) how many bytes of [@start, @start + @length) fall in the page at
 * @page_va. Context: any. Return: the count (0..PAGE_SIZE). Kernel: none.
 */
export function page_bytes(start: number, length: number, page_va: number): number {
  return Math.max(0, Math.min(start + length, page_va + 4096) - Math.max(start, page_va));
}

/**
 * dma_transfer_page() - (pinsim-only) the device moves one page through @x at this instant: a write
 * stores @token in the frame, a read returns the frame's token. Traced as `dma_access` with the
 * device op (@op), the bytes of this page it moves (@length) and what a CPU sees there now.
 * Context: atomic (no yield): one page of a transfer happens at one instant.
 * Return: the token seen, or -1 when the IOMMU faulted the access (nothing was transferred).
 * Kernel: none (the device's DMA engine); the IOMMU check stands for drivers/iommu/ translation.
 */
export function dma_transfer_page(ctx: DeviceCtx, x: Translation, write: boolean, token: number, wr: string, op: string, length: number): number {
  const k = ctx.k;
  const m = k.mem;
  if (ctx.iommu && x.iova >= 0 && ctx.iommu.translate(x.iova) < 0) {
    k.emit({ type: 'iommu_fault', time: k.now, actor: ctx.name, device: ctx.name, iova: x.iova, pfn: x.pfn, wr });
    return -1;
  }
  if (write) m.content[x.pfn] = token;
  const seen = m.contentOf(x.pfn);
  const cpu = x.mm ? cpu_view(k, x.mm, x.va) : { pfn: -1, token: -1 };
  k.emit({
    type: 'dma_access', time: k.now, actor: ctx.name, wr, device: ctx.name, op, length, mm: x.mm, va: x.va, pfn: x.pfn, gen: x.gen,
    file: x.file, index: x.index, write, token: seen, ok: true, cpuPfn: cpu.pfn, cpuToken: cpu.token,
  });
  return seen;
}
