#!/usr/bin/env node
/**
 * npm run mutants: a mutation score for pinsim's checkers and scenarios. Each mutant is a
 * deliberate bug in the kernel model or a device, applied as a source patch to a copy of the built
 * tree (only the mutated file is re-transpiled), so no mutant switch exists in the shipped code.
 * A mutant is killed when a killer command fails against the mutated build: by default
 * `pinsim check examples/ test/conformance/ --policy all`; races add `pinsim explore` runs that must
 * say Never. Prints killed/total and every survivor; exits 1 if any mutant survived.
 *
 * Usage: node scripts/mutants.mjs [--only ID,ID] [--list]
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CHECK = ['check', join(ROOT, 'examples'), join(ROOT, 'test', 'conformance'), '--policy', 'all'];
const explore = (f) => ['explore', join(ROOT, 'examples', 'explore', f)];

/**
 * The mutants: `patches` are [find, replace] pairs applied to `file` (each `find` must occur; with
 * `all` every occurrence is replaced); `killers` default to CHECK.
 */
const MUTANTS = [
  {
    id: 'mremap-no-notifier', file: 'src/mm/mremap.ts', why: 'mremap moves PTEs and drops the old VMA without any MMU notifier',
    patches: [
      ['  yield* mmu_notifier_invalidate_range_start(k, range);\n  // The old PTEs are still in place here.', '  // The old PTEs are still in place here.'],
      ['  yield* mmu_notifier_invalidate_range_end(k, range);\n}', '}'],
      ['  yield* unmap_locked(k, mm, old, old + old_len);', '  mm.vmas = mm.vmas.filter((v) => !(v.vm_start >= old && v.vm_end <= old + old_len));'],
    ],
  },
  {
    id: 'munmap-free-before-notifier', file: 'src/mm/mmap.ts', why: 'munmap zaps and frees the pages before invalidate_range_start',
    patches: [['  yield* mmu_notifier_invalidate_range_start(k, range);\n  // Every page is still mapped here.', '  { const g0 = []; for (const v of victims) zap_pte_range(k, mm, v.vm_start, v.vm_end, g0); tlb_finish_mmu(k, g0); }\n  yield* mmu_notifier_invalidate_range_start(k, range);']],
  },
  {
    id: 'odp-install-without-read-retry', file: 'src/devices/odp-nic/odp-nic.ts', why: 'the ODP fault path installs without mmu_interval_read_retry under umem_mutex',
    patches: [['if (mmu_interval_read_retry(u.notifier, seq)) {', 'if (false) {']], killers: [explore('odp-fault-vs-truncate.json')],
  },
  {
    id: 'gpu-install-without-read-retry', file: 'src/devices/gpu-hmm/gpu-hmm.ts', why: 'the GPU fault path installs without mmu_interval_read_retry under its mutex',
    patches: [["if (p['skipReadRetry'] !== true && mmu_interval_read_retry(d.notifier, seq)) {", 'if (false) {']], killers: [explore('gpu-fault-vs-munmap.json')],
  },
  {
    id: 'truncate-skips-unmap', file: 'src/mm/truncate.ts', why: 'truncate removes pages from the page cache without unmapping them first',
    patches: [['    yield* unmap_mapping_range(k, inode.i_mapping, holebegin, 0, true);\n', '']], all: true,
  },
  { id: 'truncate-keeps-i_size', file: 'src/mm/truncate.ts', why: 'truncate forgets to update i_size', patches: [['  inode.i_size = length;\n', '']] },
  {
    id: 'fork-forgets-pinned-copy', file: 'src/mm/fork.ts', why: 'fork shares a pinned anonymous page COW under 6.12 instead of copying it for the child',
    patches: [['if (anon && folio_needs_cow_for_dma(k, parent, pfn)) {', 'if (false) {']],
  },
  {
    id: 'writeback-keeps-pte-writable', file: 'src/mm/page-writeback.ts', why: 'folio_mkclean leaves the PTE writable, so the next store skips page_mkwrite',
    patches: [['vma.vm_mm.pgtable.set(va / PAGE_SIZE, mk_pte(pfn, 0));', 'vma.vm_mm.pgtable.set(va / PAGE_SIZE, pte);']],
  },
  { id: 'unpin-without-dirty', file: 'src/mm/gup.ts', why: 'unpin_user_pages_dirty_lock ignores make_dirty', patches: [['if (make_dirty && pfn !== ZERO_PFN', 'if (false && make_dirty && pfn !== ZERO_PFN']] },
  { id: 'pin-bias-off-by-one', file: 'src/mm/gup.ts', why: 'gup_put_folio drops one reference less than the pin took', patches: [['if (refs) k.folio_put_refs(pfn, refs);', 'if (refs) k.folio_put_refs(pfn, refs > 1 ? refs - 1 : refs);']] },
  { id: 'no-longterm-file-write-refusal', file: 'src/mm/gup.ts', why: 'writable long-term pins of dirty-tracked file mappings are not refused (6.5)', patches: [['&& vma_needs_dirty_tracking(vma)) return EFAULT;', '&& false) return EFAULT;']] },
  { id: 'no-fsdax-refusal', file: 'src/mm/gup.ts', why: 'long-term pins of fsdax are not refused', patches: [['if (admit === null && gup_flags & FOLL_LONGTERM && vma_is_fsdax(vma)) return EOPNOTSUPP;', 'if (false) return EOPNOTSUPP;']] },
  { id: 'dax-never-busy', file: 'src/mm/fs/dax.ts', why: 'DAX break-layouts never finds a busy page', patches: [['if (busy < 0 && (k.mem._refcount[v - 1] as number) > 1) busy = v - 1;', ';']] },
  { id: 'odp-invalidate-no-zap', file: 'src/devices/odp-nic/odp-nic.ts', why: 'the ODP invalidate sets the seq but keeps its MTT entries', patches: [['if (!keep) for (const v of victims) unmap_entry(u, v, true);', ';']] },
  { id: 'gpu-invalidate-no-erase', file: 'src/devices/gpu-hmm/gpu-hmm.ts', why: 'the GPU invalidate sets the seq but keeps its device PTEs', patches: [['for (const v of victims) erase(d, v);', ';']] },
  { id: 'itree-seq-stays-odd', file: 'src/mm/mmu_interval_notifier.ts', why: 'the last inv_end forgets to make invalidate_seq even', patches: [['  subs.invalidate_seq++;\n', '']] },
  { id: 'dontneed-no-zap', file: 'src/mm/madvise.ts', why: 'MADV_DONTNEED does not zap the range', patches: [['    yield* zap_page_range_single(k, vma, Math.max(start, vma.vm_start), Math.min(end, vma.vm_end));', '    ;']] },
  { id: 'ext4-dirty-no-warn', file: 'src/mm/page-writeback.ts', why: "ext4's set_page_dirty WARN on a page without buffers is gone", patches: [["WARN_ON_ONCE(k, !buffers, 'fs/ext4/inode.c:ext4_dirty_folio'", "WARN_ON_ONCE(k, false, 'fs/ext4/inode.c:ext4_dirty_folio'"]] },
  { id: 'truncate-no-orphan', file: 'src/mm/filemap.ts', why: 'a folio removed from the page cache keeps its mapping', patches: [['  m.mapping[pfn] = MAPPING_NONE;\n', '']] },
  { id: 'lease-break-no-wait', file: 'src/policy/lease-break-dummy.ts', why: 'lease-break-dummy redirects at once even when a lease was broken', patches: [['if (leased) {', 'if (false) {']] },
  { id: 'block-truncate-no-wait', file: 'src/policy/block-truncate.ts', why: 'block-truncate never waits', patches: [['if (!held().length) return 0;', 'return 0;']] },
  { id: 'revoke-dma-keeps-going', file: 'src/devices/gup-nic/gup-nic.ts', why: 'a DMA in flight keeps going after its MR was revoked', patches: [['if (mr.revoked || mr.deregistered) {', 'if (false) {']] },
];

function run(dist, args) {
  return spawnSync(process.execPath, [join(dist, 'cli', 'main.js'), ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

async function main() {
  const argv = process.argv.slice(2);
  const onlyI = argv.indexOf('--only');
  const only = onlyI >= 0 ? new Set((argv[onlyI + 1] ?? '').split(',')) : null;
  if (argv.includes('--list')) {
    for (const m of MUTANTS) console.log(`${m.id.padEnd(32)} ${m.file}: ${m.why}`);
    return 0;
  }
  const ts = (await import('typescript')).default;
  const dist = join(ROOT, 'dist');
  if (!existsSync(join(dist, 'cli', 'main.js'))) {
    const b = spawnSync('npx', ['tsc', '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
    if (b.status !== 0) return 2;
  }
  // The unmutated build must pass every killer, or the score means nothing.
  for (const k of [CHECK, ...new Set(MUTANTS.flatMap((m) => (m.killers ?? []).map((x) => x.join('\0'))))].map((k) => (Array.isArray(k) ? k : k.split('\0')))) {
    const r = run(dist, k);
    if (r.status !== 0) {
      console.error(`the unmutated build fails its killer \`pinsim ${k.join(' ')}\` (exit ${r.status}):\n${r.stdout.slice(-2000)}${r.stderr.slice(-2000)}`);
      return 2;
    }
  }
  const work = mkdtempSync(join(tmpdir(), 'pinsim-mutants-'));
  const survivors = [];
  let total = 0;
  try {
    for (const m of MUTANTS) {
      if (only && !only.has(m.id)) continue;
      total++;
      const src = readFileSync(join(ROOT, m.file), 'utf8');
      let mutated = src;
      for (const [find, replace] of m.patches) {
        if (!mutated.includes(find)) throw new Error(`mutant ${m.id}: "${find.slice(0, 60)}" is not in ${m.file} (the source moved: update the mutant)`);
        mutated = m.all ? mutated.split(find).join(replace) : mutated.replace(find, replace);
      }
      const tree = join(work, m.id);
      cpSync(dist, tree, { recursive: true });
      cpSync(join(ROOT, 'package.json'), join(work, 'package.json'));
      const js = ts.transpileModule(mutated, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 }, fileName: m.file }).outputText;
      writeFileSync(join(tree, relative('src', m.file).replace(/\.ts$/, '.js')), js);
      const killers = [CHECK, ...(m.killers ?? [])];
      let killedBy = null;
      for (const k of killers) {
        const r = run(tree, k);
        if (r.status !== 0) { killedBy = `pinsim ${k[0]} → exit ${r.status}`; break; }
      }
      console.log(`${killedBy ? 'killed  ' : 'SURVIVED'} ${m.id.padEnd(32)} ${killedBy ?? m.why}`);
      if (!killedBy) survivors.push(m);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const killed = total - survivors.length;
  console.log(`\nmutation score: ${killed}/${total} killed (${total ? Math.round((100 * killed) / total) : 0} %)`);
  for (const s of survivors) console.log(`  survived: ${s.id} (${s.file}): ${s.why}`);
  return survivors.length ? 1 : 0;
}

process.exitCode = await main();
