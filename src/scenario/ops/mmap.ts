/** mmap: map a file or anonymous memory. */
import { IS_ERR } from '../../mm/errno.js';
import { do_mmap } from '../../mm/mmap.js';
import { PROT } from './common.js';
import { F, processOp, word } from './op.js';

export const mmap = processOp({
  name: 'mmap',
  doc: 'mmap(2) of a file (`file`) or of anonymous memory; its `as` names the address',
  produces: 'address',
  results: ['ok', 'EINVAL', 'ENOMEM'],
  fields: {
    file: F.file('the file to map; anonymous memory without it'),
    addr: F.addr('where to map (with `fixed`: exactly there); top-down first fit from 0x7f0000000000 without it'),
    length: F.size('length of the mapping', { required: true }),
    prot: F.enum(PROT, 'protection', { required: true }),
    flags: F.flags([
      word('shared', 'MAP_SHARED'), word('private', 'MAP_PRIVATE'), word('populate', 'MAP_POPULATE: fault every page in'),
      word('fixed', 'MAP_FIXED'), word('hugetlb', 'MAP_HUGETLB: anonymous memory from the hugetlb pool (the length rounds up to the huge page size)'),
    ], 'mmap flags'),
    // mmap's offset is the file offset, as in mmap(2), not added to `addr`.
    offset: F.size('file offset, as mmap(2)\'s offset (not added to `addr`)'),
    hugePageSize: F.size('with `hugetlb`: the huge page size, "2M" (default) or "1G" (MAP_HUGE_2MB / MAP_HUGE_1GB; another size: EINVAL)'),
  },
  *exec(x, op) {
    const file = op.file ? (x.k.inodes.get(op.file) ?? null) : null;
    const r = yield* do_mmap(x.k, x.proc.mm, {
      addr: op.addr === undefined ? null : x.addrOf(op.addr, 0), length: op.length, prot: op.prot,
      shared: op.flags.includes('shared'), private: op.flags.includes('private'), fixed: op.flags.includes('fixed'),
      populate: op.flags.includes('populate'), file, offset: op.offset ?? 0,
      hugetlb: op.flags.includes('hugetlb'), ...(op.hugePageSize !== undefined ? { huge_size: op.hugePageSize } : {}),
    }, `shmem:${x.proc.name}:${x.name}`);
    if (IS_ERR(r)) return { result: r };
    x.st.setName(op.as, { kind: 'addr', addr: r });
    return { result: 'ok' };
  },
});
