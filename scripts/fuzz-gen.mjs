/**
 * The model fuzzer's scenario generator (issue 9): from one seed, a random but always *valid*
 * scenario — random op sequences over every built process op, device op and piece of
 * background work, with random sizes (page multiples, 0, unaligned, oversized), times, flags,
 * device parameters and a random policy — plus how to run it (seed, window, a random chooser).
 *
 * Valid by construction: every name an op refers to is produced by an op generated earlier in one
 * global order, so the wait graph has no cycle; every `as` is new; a forked child's actor is
 * created after its fork; onBreak lists produce no names. Values the ABI carries but the kernel
 * refuses (length 0, unaligned, unmapped, conflicting flags) are generated on purpose.
 *
 * Plain JS with no import of its own: the caller passes pinsim's Prng and registry (soak.mjs those
 * of dist/, via distEnv(); the vitest test those of src/), so one generator serves both.
 */

/** The ops this generator knows how to build; soak.mjs checks that it covers every built op. */
export const GENERATED_OPS = [
  'mmap', 'munmap', 'mremap', 'madvise', 'mprotect', 'fork', 'exit', 'oom_kill', 'load', 'store', 'msync', 'ftruncate', 'truncate',
  'fallocate', 'fsync', 'pread', 'pwrite', 'drop_caches', 'setlease', 'sleep', 'gup', 'unpin', 'pin_read', 'pin_write',
  'reg_mr', 'dereg_mr', 'dma_read', 'dma_write', 'poll', 'advise_mr', 'mirror', 'unmirror', 'gpu_read', 'gpu_write', 'snapshot',
  'migrate_to_device', 'migrate_to_host', 'make_exclusive', 'check_exclusive', 'writeback_now', 'reclaim', 'migrate', 'pagemap',
];

const PAGE = 4096;
const MMAP_BASE = 0x7f0000000000;

/**
 * Names users may choose that a plain object would mistake for its own machinery (issue 16): an
 * actor, a file, a device or an `as` named so must run exactly as an ordinary name does.
 */
export const HOSTILE_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'x y', 'ünï'];

/** put() - @o[@key] = @v as an own property, whatever @key is (`__proto__` included). */
function put(o, key, v) {
  Object.defineProperty(o, key, { value: v, enumerable: true, writable: true, configurable: true });
}

/** A name: now and then one of HOSTILE_NAMES not used yet in this scenario, else @plain. */
function nameFor(d, used, plain) {
  const free = HOSTILE_NAMES.filter((n) => !used.has(n));
  const name = free.length && d.chance(0.04) ? d.pick(free) : plain;
  used.add(name);
  return name;
}

/** distEnv() - pinsim's Prng, registry and built ops from dist/ (build first: npm run build). */
export async function distEnv() {
  const { Prng } = await import('../dist/engine/prng.js');
  const { defaultRegistry } = await import('../dist/scenario/registry.js');
  const { builtOps } = await import('../dist/scenario/ops/table.js');
  return { Prng, registry: defaultRegistry(), implementedOps: new Set(builtOps()) };
}

/** Random draws over one Prng stream. */
class Draw {
  constructor(prng) {
    this.p = prng;
    /** How often a field is drawn hostile (any valid value) rather than sane (inside what exists). */
    this.hostility = 0.1;
  }
  /** Draw this field hostile? */
  hostile() { return this.chance(this.hostility); }
  int(n) { return this.p.nextInt(n); }
  /** An integer in [lo, hi]. */
  range(lo, hi) { return lo + this.p.nextInt(hi - lo + 1); }
  chance(p) { return this.p.nextFloat() < p; }
  pick(a) { return a[this.p.nextInt(a.length)]; }
  /** One key of @weights, with probability proportional to its weight. */
  weighted(weights) {
    const entries = Object.entries(weights).filter(([, w]) => w > 0);
    let x = this.p.nextFloat() * entries.reduce((s, [, w]) => s + w, 0);
    for (const [k, w] of entries) if ((x -= w) < 0) return k;
    return entries[entries.length - 1][0];
  }
  /** A random subset of @words, in their order. */
  subset(words, p = 0.3) { return words.filter(() => this.chance(p)); }

  /** A size as users write it: mostly 1..@pages pages, sometimes 0, unaligned or oversized. */
  size(pages = 8) {
    const kind = this.weighted({ pages: 70, zero: 6, unaligned: 12, big: 8, small: 4 });
    if (kind === 'zero') return this.pick([0, '0', '0p']);
    if (kind === 'unaligned') return this.range(1, pages * PAGE + PAGE);
    if (kind === 'small') return this.range(1, 64);
    const n = kind === 'big' ? this.range(pages, pages * 4) : this.range(1, pages);
    return this.pick([n * PAGE, `${n}p`, `${n * 4}K`, `${n * 4}K`]);
  }
  /** An offset inside a region of @pages pages: mostly page-aligned, sometimes not, sometimes past its end. */
  offset(pages = 8) {
    const kind = this.weighted({ zero: 40, aligned: 40, unaligned: 10, past: 10 });
    if (kind === 'zero') return 0;
    if (kind === 'aligned') return this.pick([this.range(0, pages - 1) * PAGE, `${this.range(0, pages - 1)}p`]);
    if (kind === 'unaligned') return this.range(1, pages * PAGE);
    return this.range(pages, pages * 3) * PAGE;
  }
  /** A time as users write it, up to about @maxNs. */
  time(maxNs) {
    const ns = this.range(0, maxNs);
    const form = this.int(4);
    if (form === 0 || ns < 1000) return ns;
    if (form === 1) return `${ns}ns`;
    if (form === 2) return `${Math.max(1, Math.round(ns / 1000))}us`;
    // Halves only: "16.1us" is refused by parseTime today (16.1 * 1000 is not an integer in
    // floating point; see test/regress/pending/decimal-time-refused.json).
    return `${(Math.round(ns / 500) / 2).toFixed(1)}us`;
  }
}

/**
 * generateScenario() - the scenario of fuzz seed @seed, and how to run it.
 * @env: `{ Prng, registry, implementedOps }` (distEnv(), or src's for tests); only built ops are
 * generated (a contract op not built yet is refused as not-implemented: bad input).
 * Return: `{ scenario, run: { policy, seed, window, chooserSeed } }`; with a window the run takes
 * a random chooser seeded by `chooserSeed` (see makeChooser()).
 */
export function generateScenario(seed, env) {
  const d = new Draw(new env.Prng(seed, 'fuzz-gen'));
  const policies = [...env.registry.policies.keys()];
  const models = [...env.registry.devices.keys()];
  const policy = d.pick(policies);
  d.hostility = d.pick([0.02, 0.1, 0.1, 0.3]);
  const s = { name: `fuzz-${seed}`, kernel: { policy }, files: {}, devices: {}, actors: {} };
  /** Every name given so far: names of files, devices, actors and results never collide. */
  const used = new Set();

  // Files: 0..3, DAX on ext4/xfs sometimes, sizes 0..32 pages (sometimes unaligned).
  const nFiles = d.weighted({ 0: 1, 1: 5, 2: 3, 3: 1 });
  for (let i = 0; i < Number(nFiles); i++) {
    const fs = d.pick(['ext4', 'ext4', 'xfs', 'tmpfs', 'hugetlbfs']);
    // A hugetlbfs file is made in whole huge pages (ftruncate refuses anything else).
    const f = fs === 'hugetlbfs' ? { fs, size: `${2 * d.range(0, 2)}M` } : { fs, size: d.hostile() ? d.size(16) : `${d.range(4, 32)}p` };
    if (fs === 'hugetlbfs') { if (d.chance(0.2)) f.pageSize = '2M'; }
    else if (fs !== 'tmpfs' && d.chance(0.25)) f.dax = true;
    else if (d.chance(0.05)) f.dax = false;
    put(s.files, nameFor(d, used, `f${i}`), f);
  }

  // Devices: 0..3, any model, random parameters from the model's own table.
  const nDev = d.weighted({ 0: 2, 1: 5, 2: 3, 3: 1 });
  for (let i = 0; i < Number(nDev); i++) {
    const model = d.pick(models);
    const dev = { model };
    for (const [pn, spec] of Object.entries(env.registry.devices.get(model).params)) {
      // A deprecated parameter is only its replacement spelled the old way: never both.
      if (!d.chance(0.3) || spec.deprecated) continue;
      dev[pn] = param(d, spec);
    }
    put(s.devices, nameFor(d, used, `${model === 'gpu-hmm' ? 'gpu' : 'nic'}${i}`), dev);
  }
  const deviceModels = Object.fromEntries(Object.entries(s.devices).map(([n, v]) => [n, v.model]));
  const regDevices = Object.keys(deviceModels).filter((n) => env.registry.devices.get(deviceModels[n]).ops.includes('reg_mr'));
  const mirrorDevices = Object.keys(deviceModels).filter((n) => env.registry.devices.get(deviceModels[n]).ops.includes('mirror'));

  kernel(d, s.kernel);

  // Actors and the ops, in one global order (so that every reference points backwards).
  const nActors = d.range(1, 4);
  const actors = [];
  for (let i = 0; i < nActors; i++) {
    const name = nameFor(d, used, `a${i}`);
    // A thread of an earlier actor's process, or a process of its own.
    const process = i > 0 && d.chance(0.25) ? d.pick(actors).process : name;
    actors.push({ name, process, ops: [], explicit: process !== name, dead: false });
  }
  const implemented = env.implementedOps ?? new Set(GENERATED_OPS);
  const g = {
    weights: Object.fromEntries(Object.entries(OP_WEIGHTS).filter(([op]) => implemented.has(op))),
    d, files: Object.keys(s.files), regDevices, mirrorDevices, allDevices: Object.keys(s.devices),
    /** Does the model of device @dev accept @op? (a device op on one that does not is bad input) */
    accepts: (dev, op) => env.registry.devices.get(deviceModels[dev]).ops.includes(op),
    names: { address: [], mr: [], pins: [], mirror: [], wr: [] }, counter: 0, actors, used,
  };
  const nOps = d.range(1, 24);
  for (let i = 0; i < nOps; i++) {
    const live = actors.filter((a) => !a.dead);
    if (live.length === 0) break;
    const a = d.pick(live);
    const op = makeOp(g, a);
    if (!op) continue;
    timing(d, op);
    a.ops.push(op);
    if (op.op === 'exit' || (op.op === 'oom_kill' && op.process === a.process)) a.dead = true;
  }
  // A process an oom_kill names must stay in the scenario, so its actor is not left out.
  const killed = new Set(actors.flatMap((a) => a.ops.filter((op) => op.op === 'oom_kill').map((op) => op.process)));
  for (const a of actors) {
    if (a.ops.length === 0 && !a.explicit && actors.length > 1 && !killed.has(a.process) && d.chance(0.5)) continue; // an actor may be left out
    put(s.actors, a.name, a.explicit ? { process: a.process, ops: a.ops } : a.ops);
  }
  if (Object.keys(s.actors).length === 0) s.actors.a0 = [];

  // Declared processes: RLIMIT_MEMLOCK and CAP_IPC_LOCK now and then.
  const procs = [...new Set(actors.filter((a) => Object.hasOwn(s.actors, a.name)).map((a) => a.process))];
  for (const p of procs) {
    if (!d.chance(0.15)) continue;
    s.processes ??= {};
    const spec = {};
    if (d.chance(0.7)) spec.memlock = d.size(8);
    if (d.chance(0.5)) spec.capIpcLock = d.chance(0.5);
    put(s.processes, p, spec);
  }
  if (Object.keys(s.files).length === 0 && d.chance(0.5)) delete s.files;
  if (Object.keys(s.devices).length === 0 && d.chance(0.5)) delete s.devices;

  const window = d.chance(0.3) ? d.pick([100, 500, 1000, 5000, 20000]) : 0;
  const run = { policy, seed: d.range(1, 1000), window, chooserSeed: seed };
  // Large folios from a stream of their own, so that every seed's scenario stays what it was and
  // only gains these fields.
  folios(new Draw(new env.Prng(seed, 'fuzz-gen-folios')), s);
  return { scenario: s, run };
}

/**
 * folios() - THP and large page-cache folios over a generated scenario: kernel.thp and khugepaged,
 * folioSize on files whose filesystem may have them, THP advice in place of some madvise advice, and
 * some anonymous mappings 2 MiB or more so that a PMD can map them.
 */
function folios(e, s) {
  if (e.chance(0.4)) s.kernel.thp = e.pick(['never', 'madvise', 'always', 'always']);
  if (e.chance(0.1)) {
    s.kernel.khugepaged = { period: e.pick(['5us', '50us', 200_000]) };
    s.kernel.livenessBound ??= 2_000_000;
  }
  for (const f of Object.values(s.files ?? {})) {
    if (!f.dax && ['tmpfs', 'xfs', 'ext4'].includes(f.fs) && e.chance(0.3)) f.folioSize = e.pick(['16K', '64K', '2M']);
  }
  for (const a of Object.values(s.actors)) {
    for (const op of Array.isArray(a) ? a : a.ops) {
      if (op.op === 'madvise' && e.chance(0.3)) op.advice = e.pick(['hugepage', 'nohugepage', 'collapse']);
      if (op.op === 'mmap' && op.file === undefined && e.chance(0.3)) op.length = e.pick(['2M', '4M', '3M']);
    }
  }
}

/** makeChooser() - a random pick at every choice point, from its own seeded stream. */
export function makeChooser(env, chooserSeed) {
  const p = new env.Prng(chooserSeed, 'fuzz-chooser');
  return (point) => p.nextInt(point.candidates.length);
}

function param(d, spec) {
  switch (spec.kind) {
    case 'time': return d.time(d.pick([2000, 20_000, 200_000]));
    case 'size': return d.size(8);
    case 'bool': return d.chance(0.5);
    case 'int': return d.range(0, 8);
    case 'enum': return d.pick(spec.values ?? [spec.default]);
    default: return spec.default;
  }
}

/** Random kernel settings; background work always with a short liveness bound, so runs stay short. */
function kernel(d, k) {
  if (d.chance(0.2)) k.memory = d.pick([`${d.range(8, 256)}p`, `${d.range(1, 4)}M`, d.range(16, 256) * PAGE]);
  // A hugetlb pool now and then (2 MiB pages: a 1 GiB one costs a quarter-million frame rows).
  if (d.chance(0.2)) k.hugepages = { '2M': d.range(0, 4) };
  if (d.chance(0.15)) k.jitter = d.time(2000);
  if (d.chance(0.2)) k.leaseBreakTimeout = d.time(d.pick([20_000, 2_000_000]));
  let background = false;
  for (const w of ['writeback', 'compaction', 'reclaim']) {
    if (!d.chance(0.15)) continue;
    // Now and then far shorter than a device fault (kcompactd stops when there is nothing to gain).
    k[w] = { period: d.pick([`${d.range(20, 500)}us`, d.range(20_000, 500_000), `${d.range(1, 10)}us`]) };
    background = true;
  }
  if (background || d.chance(0.1)) k.livenessBound = d.time(d.pick([200_000, 2_000_000]));
  if (d.chance(0.08)) k.until = d.time(500_000);
}

/** `at` (since the start) or `after` (since the previous op), never both. */
function timing(d, op) {
  const t = d.weighted({ none: 75, at: 15, after: 10 });
  if (t === 'at') op.at = d.time(d.pick([20_000, 200_000]));
  else if (t === 'after') op.after = d.time(d.pick([5_000, 50_000]));
}

function newName(g, prefix = 'n') {
  let plain = `${prefix}${g.counter++}`;
  while (g.used.has(plain)) plain = `${prefix}${g.counter++}`;
  return nameFor(g.d, g.used, plain);
}

/** A name entry of @kind produced so far (`{ name, proc, pages }`), preferring @proc's own. */
/** A name of @kind (mostly one of @proc's); with @op, only one whose device accepts @op. */
function entryOf(g, kind, proc, op) {
  const list = op === undefined ? g.names[kind] : g.names[kind].filter((n) => n.dev === undefined || g.accepts(n.dev, op));
  if (list.length === 0) return undefined;
  const own = list.filter((n) => n.proc === proc);
  return own.length && !g.d.hostile() ? g.d.pick(own) : g.d.pick(list);
}

function nameOf(g, kind, proc, op) {
  return entryOf(g, kind, proc, op)?.name;
}

/** The size in pages a size field stands for (for the names it produces). */
function pagesOf(v) {
  if (typeof v === 'number') return Math.ceil(v / PAGE);
  const m = /^(\d+)(p|K)$/.exec(v);
  if (!m) return 0;
  return m[2] === 'p' ? Number(m[1]) : Math.ceil((Number(m[1]) * 1024) / PAGE);
}

/** A raw address: near the mmap base, 0, low, or unaligned. */
function rawAddr(d) {
  const page = d.range(1, 64) * PAGE;
  return d.pick([MMAP_BASE - page, MMAP_BASE - page, `0x${(MMAP_BASE - page).toString(16)}`, 0, page, MMAP_BASE - page + 123]);
}

function addr(g, proc) {
  const name = nameOf(g, 'address', proc);
  return name && !g.d.hostile() ? name : rawAddr(g.d);
}

/**
 * offset + length inside a region of @pages pages: sane, a page-aligned slice of it; hostile,
 * anything valid (0, unaligned, past its end).
 */
function inner(d, pages, maxPages = 8) {
  if (pages > 0 && !d.hostile()) {
    const k = d.chance(0.5) ? 0 : d.range(0, pages - 1);
    const n = d.range(1, Math.min(pages - k, maxPages));
    const r = { length: d.pick([n * PAGE, `${n}p`]) };
    if (k > 0 || d.chance(0.2)) r.offset = d.pick([k * PAGE, `${k}p`]);
    return r;
  }
  const r = { length: d.size(maxPages) };
  if (d.chance(0.5)) r.offset = d.offset(maxPages);
  return r;
}

/** addr + offset + length fields of a range op: mostly inside one of @proc's mappings. */
function range(g, proc, maxPages = 8) {
  const d = g.d;
  const e = entryOf(g, 'address', proc);
  if (e && !d.hostile()) return { addr: e.name, ...inner(d, e.pages, maxPages) };
  return { addr: e && d.chance(0.5) ? e.name : rawAddr(d), ...inner(d, 0, maxPages) };
}

function pickFile(g) {
  return g.d.pick(g.files);
}

const OP_WEIGHTS = {
  mmap: 14, munmap: 4, mremap: 3, madvise: 3, mprotect: 3, fork: 2, exit: 0.5, oom_kill: 0.5, load: 6, store: 6, msync: 2,
  ftruncate: 3, truncate: 1, fallocate: 2, fsync: 1.5, pread: 2, pwrite: 2, drop_caches: 1, setlease: 2, sleep: 2,
  gup: 4, unpin: 3, pin_read: 2, pin_write: 2, reg_mr: 7, dereg_mr: 3, dma_read: 5, dma_write: 6, poll: 2, advise_mr: 2, mirror: 5, unmirror: 2,
  gpu_read: 4, gpu_write: 4, snapshot: 2, migrate_to_device: 3, migrate_to_host: 2, make_exclusive: 2, check_exclusive: 1,
  writeback_now: 2, reclaim: 2, migrate: 2, pagemap: 1,
};

const RANGE_OPS = new Set(['munmap', 'mremap', 'madvise', 'mprotect', 'load', 'store', 'msync', 'gup', 'reg_mr', 'mirror', 'migrate']);

/** makeOp() - one random op for actor @a, or null when its kind cannot be built here. */
function makeOp(g, a, nested = false) {
  const d = g.d;
  const proc = a.process;
  let kind = d.weighted(g.weights);
  // An op on an address range before anything is mapped mostly maps something first.
  if (RANGE_OPS.has(kind) && !g.names.address.some((n) => n.proc === proc) && !d.hostile()) kind = 'mmap';
  const withAs = (op, kindOfName, p = 0.8, pages = 0) => {
    if (nested || !d.chance(p)) return op;
    op.as = newName(g);
    if (kindOfName) g.names[kindOfName].push({ name: op.as, proc, pages, dev: op.device });
    return op;
  };
  /** A device op: sometimes posted with wait:false, its `as` then a wr for poll. */
  const device = (op, kindOfName, pWait = 0.05, pages = 0) => {
    if (!nested && d.chance(pWait)) {
      op.wait = false;
      op.as = newName(g);
      if (kindOfName) g.names[kindOfName].push({ name: op.as, proc, pages, dev: op.device });
      g.names.wr.push({ name: op.as, proc, pages });
      return op;
    }
    if (!nested && d.chance(0.02)) op.wait = true;
    return withAs(op, kindOfName, 0.8, pages);
  };
  switch (kind) {
    case 'mmap': {
      const op = { op: 'mmap', length: d.hostile() ? d.size(16) : `${d.range(1, 16)}p`, prot: d.hostile() ? d.pick(['none', 'r', 'rw', 'rx', 'rwx']) : d.weighted({ rw: 10, r: 1, rwx: 1 }) };
      if (g.files.length && d.chance(0.6)) {
        op.file = pickFile(g);
        if (d.chance(0.2)) op.offset = d.offset(8);
      }
      const f = [];
      const share = d.hostile() ? d.pick(['shared', 'private', 'none', 'both']) : d.pick(['shared', 'private']);
      if (share === 'shared' || share === 'both') f.push('shared');
      if (share === 'private' || share === 'both') f.push('private');
      if (d.chance(0.3)) f.push('populate');
      if (d.chance(0.08)) {
        f.push('hugetlb');
        if (d.chance(0.2)) op.hugePageSize = d.pick(['2M', '2M', '1G', '4M']);
      }
      if (d.chance(0.1)) {
        f.push('fixed');
        op.addr = addr(g, proc);
      } else if (d.chance(0.05)) op.addr = addr(g, proc);
      if (f.length || d.chance(0.5)) op.flags = f;
      return withAs(op, 'address', 0.9, pagesOf(op.length));
    }
    case 'munmap': return { op: 'munmap', ...range(g, proc) };
    case 'mremap': {
      const op = { op: 'mremap', ...range(g, proc), newLength: d.size(16), flags: d.subset(['maymove', 'fixed', 'dontunmap'], 0.4) };
      if (op.flags.includes('fixed') || d.chance(0.05)) op.newAddr = addr(g, proc);
      return withAs(op, 'address', 0.7, pagesOf(op.newLength));
    }
    case 'madvise': return { op: 'madvise', ...range(g, proc), advice: d.weighted({ dontneed: 6, free: 3, remove: 2, dontfork: 2, dofork: 1 }) };
    case 'mprotect': return { op: 'mprotect', ...range(g, proc), prot: d.pick(['none', 'r', 'rw', 'rx', 'rwx']) };
    case 'fork': {
      if (nested) return null;
      const child = newName(g, 'kid');
      // The child runs ops of its own now and then: a new actor in the forked process.
      if (d.chance(0.5) && g.actors.length < 6) g.actors.push({ name: nameFor(d, g.used, `a${g.actors.length}`), process: child, ops: [], explicit: true, dead: false });
      return { op: 'fork', as: child };
    }
    case 'exit': return nested ? null : { op: 'exit' };
    case 'oom_kill': return nested ? null : { op: 'oom_kill', process: d.pick(g.actors).process };
    case 'load':
    case 'store': {
      const op = { op: kind, ...range(g, proc, 4) };
      if (d.chance(0.6)) op.onSignal = d.pick(['continue', 'continue', 'die']);
      return withAs(op, null, 0.6);
    }
    case 'msync': {
      const op = { op: 'msync', ...range(g, proc) };
      if (d.chance(0.6)) op.flags = d.subset(['sync', 'async', 'invalidate'], 0.4);
      return op;
    }
    case 'ftruncate':
    case 'truncate':
      if (!g.files.length) return null;
      return { op: kind, file: pickFile(g), length: d.chance(0.3) ? 0 : d.size(24) };
    case 'fallocate':
      if (!g.files.length) return null;
      return { op: 'fallocate', file: pickFile(g), mode: 'punch_hole', ...inner(d, 16, 8) };
    case 'fsync':
      if (!g.files.length) return null;
      return { op: 'fsync', file: pickFile(g) };
    case 'pread':
    case 'pwrite':
      if (!g.files.length) return null;
      return withAs({ op: kind, file: pickFile(g), ...inner(d, 16, 4) }, null, 0.5);
    case 'drop_caches': return { op: 'drop_caches' };
    case 'setlease': {
      if (!g.files.length) return null;
      const op = { op: 'setlease', file: pickFile(g), type: d.weighted({ read: 1, write: 1, layout: 3 }) };
      if (!nested && d.chance(0.5)) {
        const ops = [];
        for (let i = d.range(1, 3); i > 0; i--) {
          const o = makeOp(g, a, true);
          if (o) ops.push(o);
        }
        if (ops.length) op.onBreak = ops;
      }
      return op;
    }
    case 'sleep': return { op: 'sleep', duration: d.time(d.pick([2_000, 50_000])) };
    case 'gup': {
      const flags = d.chance(0.7)
        ? d.pick([['pin', 'longterm', 'write'], ['pin', 'longterm'], ['pin', 'write'], ['get', 'write'], ['get'], ['pin']])
        : d.subset(['get', 'pin', 'longterm', 'write', 'force'], 0.4);
      const r = range(g, proc);
      return withAs({ op: 'gup', ...r, flags }, 'pins', 0.9, pagesOf(r.length));
    }
    case 'unpin': {
      const pins = nameOf(g, 'pins', proc);
      if (!pins) return null;
      const op = { op: 'unpin', pins };
      if (d.chance(0.5)) op.dirty = d.chance(0.5);
      return op;
    }
    case 'pin_read':
    case 'pin_write': {
      const pins = entryOf(g, 'pins', proc);
      if (!pins) return null;
      return withAs({ op: kind, pins: pins.name, ...inner(d, pins.pages) }, null, 0.6);
    }
    case 'reg_mr': {
      if (!g.regDevices.length || nested) return null;
      const r = range(g, proc, 16);
      const op = { op: 'reg_mr', device: d.pick(g.regDevices), ...r, access: d.pick(['r', 'rw', 'rw']) };
      if (d.chance(0.1)) op.hugetlb = d.chance(0.8);
      return device(op, 'mr', 0.05, pagesOf(r.length));
    }
    case 'dereg_mr': {
      const mr = nameOf(g, 'mr', proc, 'dereg_mr');
      return mr ? device({ op: 'dereg_mr', mr }, null, 0.03) : null;
    }
    case 'dma_read':
    case 'dma_write': {
      const mr = entryOf(g, 'mr', proc, kind);
      if (!mr) return null;
      return device({ op: kind, mr: mr.name, ...inner(d, mr.pages) }, null, 0.25);
    }
    case 'poll': {
      const wr = nameOf(g, 'wr', proc);
      return wr ? withAs({ op: 'poll', wr }, null, 0.3) : null;
    }
    case 'advise_mr': {
      const mr = entryOf(g, 'mr', proc, 'advise_mr');
      if (!mr) return null;
      const op = { op: 'advise_mr', mr: mr.name, advice: d.pick(['prefetch', 'prefetch_write', 'prefetch_no_fault']), ...inner(d, mr.pages) };
      if (d.chance(0.3)) op.flush = d.chance(0.5);
      return device(op, null, 0.03);
    }
    case 'mirror': {
      // Only a GPU: a device model that does not accept an op is bad input.
      if (!g.mirrorDevices.length || nested) return null;
      const dev = d.pick(g.mirrorDevices);
      const r = range(g, proc, 16);
      return device({ op: 'mirror', device: dev, ...r }, 'mirror', 0.05, pagesOf(r.length));
    }
    case 'unmirror': {
      const mirror = nameOf(g, 'mirror', proc, 'unmirror');
      return mirror ? device({ op: 'unmirror', mirror }, null, 0.03) : null;
    }
    case 'gpu_read':
    case 'gpu_write':
    case 'snapshot':
    case 'migrate_to_device':
    case 'migrate_to_host':
    case 'make_exclusive':
    case 'check_exclusive': {
      const mirror = entryOf(g, 'mirror', proc, kind);
      if (!mirror) return null;
      return device({ op: kind, mirror: mirror.name, ...inner(d, mirror.pages) }, null, 0.05);
    }
    case 'pagemap': {
      const op = { op: 'pagemap', addr: addr(g, proc) };
      if (d.chance(0.3)) op.offset = d.offset(8);
      return withAs(op, null, 0.7);
    }
    case 'writeback_now': {
      const op = { op: 'writeback_now' };
      if (g.files.length && d.chance(0.5)) op.file = pickFile(g);
      return op;
    }
    case 'reclaim': return { op: 'reclaim', target: d.chance(0.4) ? 'buffers' : d.size(16) };
    case 'migrate': return { op: 'migrate', ...range(g, proc) };
    default: return null;
  }
}

/**
 * The classes of bad input the soak feeds pinsim (issue 16), each made from a generated scenario
 * (or its JSON text): every one must be refused as bad input, never crash pinsim, never pass.
 */
export const BAD_INPUT_CLASSES = [
  'unit-proto', 'bigint-size', 'infinite-time', 'nan-time', 'function-value', 'symbol-name', 'onbreak-cycle', 'onbreak-deep',
  'model-proto', 'policy-proto', 'op-proto', 'opstats-misspelt', 'duplicate-as', 'memory-beyond-limit', 'expect-unknown-proto-key',
  'json-duplicate-key', 'json-bom-twice', 'json-nul', 'json-1e400', 'json-deep',
];

/**
 * generateBadInput() - from fuzz seed @seed, one class of BAD_INPUT_CLASSES applied to a generated
 * scenario. Return: `{ cls, input }` (an object for runScenario) or `{ cls, text }` (JSON text for
 * the loader's reader).
 */
export function generateBadInput(seed, env) {
  const { scenario } = generateScenario(seed, env);
  const d = new Draw(new env.Prng(seed, 'fuzz-bad'));
  const cls = d.pick(BAD_INPUT_CLASSES);
  const s = scenario;
  const hostile = d.pick(HOSTILE_NAMES.slice(0, 5));
  const firstList = () => {
    const a = Object.values(s.actors)[0];
    return Array.isArray(a) ? a : a.ops;
  };
  const lease = () => ({ op: 'setlease', file: Object.keys(s.files ?? {})[0] ?? 'nofile', type: 'read' });
  switch (cls) {
    case 'unit-proto': s.kernel.memory = `4${hostile}`; break;
    case 'bigint-size': s.kernel.memory = BigInt(4096); break;
    case 'infinite-time': s.kernel.livenessBound = Infinity; break;
    case 'nan-time': s.kernel.jitter = NaN; break;
    case 'function-value': s.kernel.until = () => 5; break;
    case 'symbol-name': s.name = Symbol('fuzz'); break;
    case 'onbreak-cycle': { const op = lease(); op.onBreak = [op]; firstList().push(op); break; }
    case 'onbreak-deep': {
      const top = lease();
      let cur = top;
      for (let i = 0; i < 20; i++) { const n = lease(); cur.onBreak = [n]; cur = n; }
      firstList().push(top);
      break;
    }
    case 'model-proto': put(s, 'devices', { ...(s.devices ?? {}), zz: { model: hostile } }); break;
    case 'policy-proto': s.kernel.policy = hostile; break;
    case 'op-proto': firstList().push({ op: hostile }); break;
    case 'opstats-misspelt': firstList().push({ op: 'sleep', duration: 1, as: 'zz_sleep' }); s.expect = { opStats: { zz_sleep: { faluts: 1 } } }; break;
    case 'duplicate-as': firstList().push({ op: 'sleep', duration: 1, as: 'zz' }, { op: 'sleep', duration: 1, as: 'zz' }); break;
    case 'memory-beyond-limit': s.kernel.memory = d.pick(['17G', '64G', '1T']); break;
    case 'expect-unknown-proto-key': s.expect = { results: Object.fromEntries([[`${hostile}.99`, 'ok']]) }; break;
    default: return { cls, text: badJsonText(cls, JSON.stringify(s), d) };
  }
  return { cls, input: s };
}

function badJsonText(cls, text, d) {
  switch (cls) {
    case 'json-duplicate-key': return text.replace('{"name":', `{"name":"dup-${d.range(0, 9)}","name":`);
    case 'json-bom-twice': return `\ufeff${text}`;
    case 'json-nul': return text.replace(/"/g, '"\0');
    case 'json-1e400': return text.replace(/"kernel":\{/, '"kernel":{"until":1e400,');
    default: return `${'['.repeat(70)}${']'.repeat(70)}`; // json-deep
  }
}
