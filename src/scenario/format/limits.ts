/**
 * (pinsim-only) The limits of what pinsim accepts, in one place. Input beyond one of them is refused
 * before the run (exit 2) with an issue that names the limit; everything under them is meant to work
 * (the tests run a scenario at each size). docs/limits.md explains each; keep the two in step.
 */
export { PINSIM_MAX_FRAMES } from '../../mm/page_alloc.js';

/** Bytes of a scenario file (JSON or module source): far above any hand-written one. */
export const MAX_FILE_BYTES = 256 * 1024 * 1024;

/**
 * Nesting of objects and arrays in a scenario (JSON, or what a module exports). A scenario needs
 * about 6 levels, plus 2 per nested onBreak list.
 */
export const MAX_DEPTH = 64;

/** Lease-break lists nested inside lease-break lists (a setlease inside an onBreak list). */
export const MAX_ONBREAK_DEPTH = 16;

/** Ops in a scenario, onBreak lists included (a 1 M-op run needs about 2 GiB of heap). */
export const MAX_OPS = 1_000_000;

/** How long a scenario module may take to load and produce its scenario, by default (ms). */
export const DEFAULT_LOAD_TIMEOUT_MS = 30_000;

/** Heap for evaluating one scenario module (MiB): a module allocating without end stops here. */
export const MODULE_HEAP_MB = 1024;
