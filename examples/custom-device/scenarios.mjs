// @ts-check
/**
 * Two scenarios for the user-written plugins beside them, built with pinsim's typed builder. They
 * are modules, not `.json` / `.scenario.mjs` files, so `pinsim check examples/` (which knows only
 * the built-in device models and policies) does not pick them up; run.mjs runs them with a
 * registry that has the plugins.
 */
import { scenario } from 'pinsim';

/**
 * The 2018 thread's truncate case with the per-transfer pinning engine instead of a classic MR:
 * the first transfer lands in the page cache (pread sees it); after the truncate the second
 * transfer cannot pin a page beyond EOF and fails, so nothing is written into a page the file
 * lost, in every era.
 */
export const dmaEngineTruncate = scenario('dma-engine-truncate')
  .description('A per-transfer pinning DMA engine (examples/custom-device/dma-engine.mjs) writes a shared ext4 mapping; another process truncates the file between two transfers.')
  .file('f', { fs: 'ext4', size: '64K' })
  .device('dma0', { model: 'dma-engine' })
  .actor('app', [
    { op: 'mmap', file: 'f', length: '64K', prot: 'rw', flags: ['shared'], as: 'buf' },
    { op: 'reg_mr', device: 'dma0', addr: 'buf', length: '64K', access: 'rw', as: 'win' },
    { op: 'dma_write', mr: 'win', offset: 0, length: '4K', at: '10us', as: 'w1' },
    { op: 'dma_write', mr: 'win', offset: 0, length: '4K', at: '30us', as: 'w2' },
    { op: 'dereg_mr', mr: 'win', at: '50us', as: 'closed' },
  ])
  .actor('admin', [
    { op: 'pread', file: 'f', offset: 0, length: '4K', at: '15us', as: 'seen' },
    { op: 'ftruncate', file: 'f', length: 0, at: '20us', as: 'trunc' },
  ])
  .expect({
    violations: [],
    results: { win: 'ok', w1: 'ok', trunc: 'ok', w2: 'remote-access-error', closed: 'ok' },
    observed: { seen: 'w1' },
  })
  .build();

/**
 * The README's gup-nic-truncate: under linux-4.20 the classic MR's write after the truncate is a
 * lost-write; under the user-written policy no-shared-file-longterm the registration is refused,
 * so the MR never exists and nothing is lost.
 */
export const gupNicTruncate = scenario('gup-nic-truncate-no-shared-file-longterm')
  .description('A classic MR on a shared ext4 mapping, truncated by another process, under the user-written policy no-shared-file-longterm.')
  .kernel({ policy: 'no-shared-file-longterm' })
  .file('f', { fs: 'ext4', size: '64K' })
  .device('nic0', { model: 'gup-nic' })
  .actor('app', [
    { op: 'mmap', file: 'f', length: '64K', prot: 'rw', flags: ['shared'], as: 'buf' },
    { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '64K', access: 'rw', as: 'mr' },
    { op: 'dma_write', mr: 'mr', offset: 0, length: '4K', at: '30us', as: 'w2' },
  ])
  .actor('admin', [{ op: 'ftruncate', file: 'f', length: 0, at: '20us', as: 'trunc' }])
  .expect({ violations: [], results: { mr: 'EOPNOTSUPP', trunc: 'ok', w2: 'EINVAL' } })
  .expectByPolicy('linux-4.20', { violations: ['lost-write'], results: { mr: 'ok', trunc: 'ok', w2: 'ok' } })
  .build();

/**
 * The OOM reaper against two classic MMU-notifier subscribers of the victim's mm (shadow-mmu.mjs):
 * kvm0 accepts every range, drv0 refuses non-blockable ones. The reaper's start over the victim's
 * memory fails, so it skips the VMA and calls no _end. Before 5.13 kvm0, whose start succeeded, is
 * left without its end (notifier-unpaired); from 5.13 the core calls every subscriber's end after
 * the refusal, which pairs kvm0 — and, when drv0 has an end too (@refuserHasEnd, which the API
 * forbids), gives drv0 an end after its own failed start (notifier-unpaired, and a WARN).
 * @param {boolean} refuserHasEnd
 */
export function shadowMmuOomKill(refuserHasEnd) {
  return scenario(`shadow-mmu-oom-kill${refuserHasEnd ? '-refuser-has-end' : ''}`)
    .description('The OOM reaper\'s non-blockable invalidation against two classic mmu_notifier subscribers, one of which refuses it.')
    .device('kvm0', { model: 'shadow-mmu' })
    .device('drv0', { model: 'shadow-mmu', refuseNonblock: true, hasEnd: refuserHasEnd })
    .actor('victim', [
      { op: 'mmap', length: '16K', prot: 'rw', flags: ['private'], as: 'buf' },
      { op: 'store', addr: 'buf', length: '16K', as: 's' },
      { op: 'reg_mr', device: 'kvm0', addr: 'buf', length: '16K', access: 'rw', as: 'kvm' },
      { op: 'reg_mr', device: 'drv0', addr: 'buf', length: '16K', access: 'rw', as: 'drv' },
      { op: 'sleep', duration: '1ms' },
    ])
    .actor('oom', [{ op: 'oom_kill', process: 'victim', at: '100us', as: 'kill' }])
    .expect({ violations: ['notifier-unpaired'], results: { kill: 'ok' } })
    .expectByPolicy('linux-6.12', { violations: refuserHasEnd ? ['notifier-unpaired', 'kernel-warn'] : [], results: { kill: 'ok' } })
    .build();
}
