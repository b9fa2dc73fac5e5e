/**
 * Inodes and their address spaces: `i_size`, the page cache (`i_pages`: index → folio), the VMAs
 * mapping the file (`i_mmap`), and the storage view (what writeback made durable; an index absent
 * from it reads as zeros). Filesystems: ext4 and xfs (buffer heads, dirty tracking through
 * page_mkwrite, DAX optional), tmpfs (shmem: no writeback, no dirty tracking) and hugetlbfs (huge
 * pages from the pool: one page-cache entry per huge page, at its first page index; no storage, no
 * writeback; its reservations in a region map of huge page indexes).
 * Kernel: include/linux/fs.h struct inode, struct address_space.
 */
import { DigestMap } from '../../engine/hash.js';
import { Radix } from '../radix.js';
import { RwSemaphore } from '../locking.js';
import type { VmAreaStruct } from '../mm_types.js';

export type FsType = 'ext4' | 'xfs' | 'tmpfs' | 'hugetlbfs';

export class AddressSpace {
  readonly host: Inode;
  /** index → pfn + 1 (0 = no folio). */
  readonly i_pages = new Radix();
  /** The VMAs that map this file (shared and private). */
  readonly i_mmap = new Set<VmAreaStruct>();
  constructor(host: Inode) {
    this.host = host;
  }
}

export class Inode {
  readonly id: number;
  readonly name: string;
  readonly fs: FsType;
  readonly dax: boolean;
  i_size: number;
  readonly i_mapping: AddressSpace;
  /** Durable content by page index: a content token; absent = zeros. */
  readonly storage = new DigestMap();
  /** The inode lock (i_rwsem), taken by truncate. */
  readonly i_rwsem: RwSemaphore;
  /** hugetlbfs: the order of its huge pages (9: 2 MiB, 18: 1 GiB); 0 for other filesystems. */
  readonly huge_order: number;
  /** hugetlbfs: the huge page indexes reserved or allocated (the region map of its resv_map). */
  readonly resv_regions = new Set<number>();
  /**
   * The order of the folios its page cache allocates on a read or a fault (`folioSize`, as far as
   * the filesystem and era allow: mapping_set_large_folios()); 0 for 4 KiB folios.
   */
  folio_order = 0;
  /** ... and on a buffered write (xfs before 6.6: 0). */
  folio_order_write = 0;

  constructor(id: number, name: string, fs: FsType, dax: boolean, size: number, huge_order = 0) {
    this.id = id;
    this.name = name;
    this.fs = fs;
    this.dax = dax;
    this.i_size = size;
    this.huge_order = huge_order;
    this.i_mapping = new AddressSpace(this);
    this.i_rwsem = new RwSemaphore(`${name}.i_rwsem`);
  }

  /**
   * reset() - the inode as `new Inode(id, name, fs, dax, @size, huge_order)` makes it (a machine reused by the next execution)):
   * an empty page cache (its leaves kept), no mapping, no storage, no reservation.
   */
  reset(size: number): void {
    this.i_size = size;
    this.i_mapping.i_pages.reset();
    if (this.i_mapping.i_mmap.size) this.i_mapping.i_mmap.clear();
    if (this.storage.size) this.storage.clear();
    this.i_rwsem.reset();
    if (this.resv_regions.size) this.resv_regions.clear();
    this.folio_order = 0;
    this.folio_order_write = 0;
  }

  /** The filesystem writes back and tracks dirtying through page_mkwrite (not tmpfs). */
  get has_writeback(): boolean {
    return this.fs !== 'tmpfs' && this.fs !== 'hugetlbfs';
  }

  /** The filesystem uses buffer heads whose absence on a dirty folio it checks (ext4). */
  get checks_buffers(): boolean {
    return this.fs === 'ext4';
  }
}
