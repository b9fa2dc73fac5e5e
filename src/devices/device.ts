/**
 * The device plugin contract. A device model is a const descriptor (`DeviceModel`) whose
 * `create()` gets everything through its `DeviceCtx`; the scenario runner turns device ops into
 * calls of the instance's optional methods, run by an actor named after the device. Helpers every
 * DMA engine shares (one page transfer through a translation) live here.
 */
import type { Co } from '../engine/actor.js';
import type { Prng } from '../engine/prng.js';
import { cpu_view } from '../mm/cpu.js';
import type { Errno } from '../mm/errno.js';
import type { Kernel, Process } from '../mm/kernel.js';

/** A parameter a model accepts in a scenario's `devices.<name>` entry. */
export interface DeviceParamSpec {
  kind: 'time' | 'size' | 'bool' | 'int' | 'enum';
  values?: readonly string[];
  default: number | string | boolean;
  doc: string;
}

export type DeviceParams = Record<string, number | string | boolean>;

export interface DeviceCtx {
  readonly k: Kernel;
  /** The device's name in the scenario (its actor name in traces). */
  readonly name: string;
  readonly params: DeviceParams;
  /** The device's own PRNG stream (fault injection). */
  readonly prng: Prng;
}

/** A DMA-engine completion status (DESIGN §5). */
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

export interface DeviceInstance {
  reg_mr?(proc: Process, addr: number, length: number, access: 'r' | 'rw', name: string): Co<MemoryRegion | Errno>;
  dereg_mr?(mr: MemoryRegion): Co<0 | Errno>;
  dma?(req: DmaRequest): Co<DmaResult>;
  /** The process @proc is exiting: release what it owns on this device (uverbs fd close). */
  release_process?(proc: Process): Co;
}

export interface DeviceModel {
  readonly name: string;
  readonly description: string;
  readonly params: Readonly<Record<string, DeviceParamSpec>>;
  /** Device ops this model executes (the runner refuses the others for it with EINVAL). */
  readonly ops: readonly string[];
  create(ctx: DeviceCtx): DeviceInstance;
}

/** One page a device reaches through a translation: where it points and what it was obtained for. */
export interface Translation {
  pfn: number;
  /** The frame's allocation generation when the pfn was obtained. */
  gen: number;
  file: string;
  index: number;
  mm: string;
  va: number;
}

/**
 * dma_transfer_page() - the device moves one page through @x at this instant: a write stores
 * @token in the frame, a read returns the frame's token. Traced as `dma_access`.
 */
export function dma_transfer_page(ctx: DeviceCtx, x: Translation, write: boolean, token: number, wr: string): number {
  const k = ctx.k;
  const m = k.mem;
  if (write) m.content[x.pfn] = token;
  const seen = m.content[x.pfn] as number;
  const cpu = x.mm ? cpu_view(k, x.mm, x.va) : { pfn: -1, token: -1 };
  k.emit({
    type: 'dma_access', time: k.now, actor: ctx.name, wr, device: ctx.name, mm: x.mm, va: x.va, pfn: x.pfn, gen: x.gen,
    file: x.file, index: x.index, write, token: seen, ok: true, cpuPfn: cpu.pfn, cpuToken: cpu.token,
  });
  return seen;
}
