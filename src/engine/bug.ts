/**
 * pinsim's own bugs: the one way to report one is PINSIM_BUG(), which throws a PinsimInternalError
 * whose message starts `[pinsim internal bug]`. A run that catches it ends with outcome `error`; the
 * CLI prints it once, with the stack, and exits 3. It lives in the engine, the lowest layer, so that
 * every layer (the scheduler included) reports its bugs the same way. A modelled kernel BUG is not
 * one of these: it is a finding about the kernel (mm/mmdebug.ts BUG_ON).
 */

/** The prefix every report of a pinsim bug starts with (loom's `[loom internal bug]`). */
export const PINSIM_BUG_PREFIX = '[pinsim internal bug]';

export class PinsimInternalError extends Error {
  /**
   * @msg: what went wrong. A message that already carries the prefix (a bug reported by a run and
   * raised again by its caller) keeps it once: a bug is never wrapped twice.
   */
  constructor(msg: string) {
    super(msg.startsWith(PINSIM_BUG_PREFIX) ? msg : `${PINSIM_BUG_PREFIX} ${msg}`);
    this.name = 'PinsimInternalError';
  }
}

/** PINSIM_BUG() - pinsim itself is wrong; never a finding about the kernel. */
export function PINSIM_BUG(msg: string): never {
  throw new PinsimInternalError(msg);
}
