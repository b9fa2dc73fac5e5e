/**
 * Sleeping locks: rw_semaphore (mmap_lock, i_rwsem) and mutex (umem_mutex, a device's driver lock),
 * with the kernel's verbs. Waiting is a wait on the lock's wait queue, so a blocked task shows up in
 * the state fingerprint and in `hang` wait chains.
 * Kernel: kernel/locking/rwsem.c, kernel/locking/mutex.c. Simplified: no optimistic spinning,
 * no writer preference, no lockdep beyond lockdep_assert_held().
 */
import type { Co } from '../engine/actor.js';
import { WaitQueueHead, wait_event, wake_up_all } from '../engine/waitqueue.js';

export class RwSemaphore {
  readers = 0;
  writer: string | null = null;
  readonly wq: WaitQueueHead;
  constructor(name: string) {
    this.wq = new WaitQueueHead(name);
  }

  /** reset() - unlocked, no waiter (a machine reused by the next execution). */
  reset(): void {
    this.readers = 0;
    this.writer = null;
    this.wq.reset();
  }
}

/** down_read() - take @sem shared. Context: may sleep. Pairs with up_read(). */
export function* down_read(sem: RwSemaphore, site: string): Co {
  yield* wait_event(sem.wq, () => sem.writer === null, site);
  sem.readers++;
}

/** down_read_trylock() - take @sem shared without sleeping. Return: true when taken. Pairs with up_read(). */
export function down_read_trylock(sem: RwSemaphore): boolean {
  if (sem.writer !== null) return false;
  sem.readers++;
  return true;
}

/** up_read() - Pairs with down_read(). */
export function up_read(sem: RwSemaphore): void {
  sem.readers--;
  if (sem.readers === 0) wake_up_all(sem.wq);
}

/** down_write() - take @sem exclusive for @who. Context: may sleep. Pairs with up_write(). */
export function* down_write(sem: RwSemaphore, who: string, site: string): Co {
  yield* wait_event(sem.wq, () => sem.writer === null && sem.readers === 0, site);
  sem.writer = who;
}

/** up_write() - Pairs with down_write(). */
export function up_write(sem: RwSemaphore): void {
  sem.writer = null;
  wake_up_all(sem.wq);
}

export class Mutex {
  owner: string | null = null;
  readonly wq: WaitQueueHead;
  constructor(name: string) {
    this.wq = new WaitQueueHead(name);
  }

  /** reset() - unlocked, no waiter (a machine reused by the next execution). */
  reset(): void {
    this.owner = null;
    this.wq.reset();
  }
}

/** mutex_lock() - Context: may sleep. Pairs with mutex_unlock(). */
export function* mutex_lock(m: Mutex, who: string, site: string): Co {
  yield* wait_event(m.wq, () => m.owner === null, site);
  m.owner = who;
}

/** mutex_trylock() - Return: true when taken without sleeping. */
export function mutex_trylock(m: Mutex, who: string): boolean {
  if (m.owner !== null) return false;
  m.owner = who;
  return true;
}

/** mutex_unlock() - Pairs with mutex_lock()/mutex_trylock(). */
export function mutex_unlock(m: Mutex): void {
  m.owner = null;
  wake_up_all(m.wq);
}
