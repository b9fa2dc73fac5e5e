/**
 * Errno values as string literals, as results report them. A kernel action returns `0 | Errno`
 * (`if (err) return err;` works because 0 is falsy); a lookup returns `T | Errno`, narrowed by
 * IS_ERR() (the ERR_PTR idiom).
 */
export const EPERM = 'EPERM';
export const ENOENT = 'ENOENT';
export const EINTR = 'EINTR';
export const EIO = 'EIO';
export const EAGAIN = 'EAGAIN';
export const ENOMEM = 'ENOMEM';
export const EFAULT = 'EFAULT';
export const EBUSY = 'EBUSY';
export const EEXIST = 'EEXIST';
export const EINVAL = 'EINVAL';
export const ETXTBSY = 'ETXTBSY';
export const EFBIG = 'EFBIG';
export const EOPNOTSUPP = 'EOPNOTSUPP';
export const ENODEV = 'ENODEV';
export const EACCES = 'EACCES';
export const ESRCH = 'ESRCH';

export type Errno =
  | typeof EPERM | typeof ENOENT | typeof EINTR | typeof EIO | typeof EAGAIN | typeof ENOMEM
  | typeof EFAULT | typeof EBUSY | typeof EEXIST | typeof EINVAL | typeof ETXTBSY | typeof EFBIG
  | typeof EOPNOTSUPP | typeof ENODEV | typeof EACCES | typeof ESRCH;

export function IS_ERR<T>(x: T | Errno): x is Errno {
  return typeof x === 'string' && x.length > 1 && x.charCodeAt(0) === 69 /* 'E' */;
}
