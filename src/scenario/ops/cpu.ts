/** load / store: CPU accesses through the process's page tables. */
import { cpu_access } from '../../mm/cpu.js';
import { RANGE } from './common.js';
import { cpuOp } from './op.js';

export const load = cpuOp({
  name: 'load',
  doc: 'the CPU reads the range; its `as` records what it saw in `observed`',
  produces: 'read',
  observes: true,
  results: ['ok', 'SIGBUS', 'SIGSEGV'],
  fields: RANGE,
  *exec(x, op) {
    const r = yield* cpu_access(x.k, x.proc.mm, x.addrOf(op.addr, op.offset), op.length, -1);
    return { result: r.signal || 'ok', tokens: r.tokens };
  },
});

export const store = cpuOp({
  name: 'store',
  doc: 'the CPU writes new content (named by `as`) into the range',
  produces: 'write',
  results: ['ok', 'SIGBUS', 'SIGSEGV'],
  fields: RANGE,
  *exec(x, op) {
    const token = x.k.new_content(x.name);
    const r = yield* cpu_access(x.k, x.proc.mm, x.addrOf(op.addr, op.offset), op.length, token);
    return { result: r.signal || 'ok', tokens: r.tokens };
  },
});
