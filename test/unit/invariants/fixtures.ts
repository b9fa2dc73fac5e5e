/** Scenarios more than one checker's tests run. */

/** munmap of a buffer a classic MR pins, then a new buffer: had munmap freed the pinned frames, the LIFO free list would hand them to buf2. */
export const MUNMAP_PINNED = {
  name: 'munmap-pinned-buffer',
  kernel: { memory: '64M' },
  devices: { nic0: { model: 'gup-nic' } },
  actors: {
    app: [
      { op: 'mmap', length: '16K', prot: 'rw', flags: ['private', 'populate'], as: 'buf' },
      { op: 'store', addr: 'buf', length: '16K', as: 's1' },
      { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '16K', access: 'rw', as: 'mr' },
      { op: 'munmap', addr: 'buf', length: '16K', at: '20us' },
      { op: 'mmap', length: '16K', prot: 'rw', flags: ['private'], as: 'buf2' },
      { op: 'store', addr: 'buf2', length: '16K', as: 's2' },
      { op: 'dma_read', mr: 'mr', offset: 0, length: '16K', at: '30us', as: 'r' },
      { op: 'dma_write', mr: 'mr', offset: 0, length: '4K', as: 'w' },
      { op: 'load', addr: 'buf2', length: '4K', as: 'cpusaw' },
      { op: 'dereg_mr', mr: 'mr', at: '50us' },
    ],
  },
};
