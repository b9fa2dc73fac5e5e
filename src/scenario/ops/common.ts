/** Fields and words several op descriptors share, and the errno-to-result helper. */
import type { Errno } from '../../mm/errno.js';
import { F, word } from './op.js';

/** An address range: `addr` + `offset`, `length`. */
export const RANGE = {
  addr: F.addr('start address: a number ("0x…" allowed) or the `as` of an mmap or mremap', { required: true }),
  offset: F.size('added to `addr`'),
  length: F.size('length of the range', { required: true }),
};

/** A range inside an MR, a mirror or a file. */
export const INNER = {
  offset: F.size('offset into the MR, mirror or file', { default: 0 }),
  length: F.size('length of the range', { required: true }),
};

export const PROT = [
  word('none', 'PROT_NONE'), word('r', 'PROT_READ'), word('rw', 'PROT_READ|PROT_WRITE'),
  word('rx', 'PROT_READ|PROT_EXEC'), word('rwx', 'PROT_READ|PROT_WRITE|PROT_EXEC'),
];

/** A kernel action's return value as an op result: "ok" or the errno name. */
export function errResult(x: 0 | Errno): string {
  return x === 0 ? 'ok' : x;
}
