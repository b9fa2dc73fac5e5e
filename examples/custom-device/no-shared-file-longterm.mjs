// @ts-check
/**
 * no-shared-file-longterm: a user-written policy. linux-4.20, plus one rule: a long-term DMA
 * reference (get_user_pages_longterm, or FOLL_PIN|FOLL_LONGTERM later) to the pages of a *shared*
 * file mapping is refused with EOPNOTSUPP, whatever the filesystem and whether or not the pin
 * writes: 4.15's fsdax refusal applied to every shared file. Private mappings are still pinned (as
 * anonymous COW copies), and so are ODP and HMM devices, which hold no long-term reference.
 *
 * A policy is a const ops table (as pinsim's own policies are): a name, a description, the kernel version it is built on
 * (which selects the era's features), and the hooks of KernelPolicyOps it implements. Here the one
 * hook is `longterm_pin_admit(k, vma)`, asked before a long-term reference to a file VMA's pages:
 * 0 admits, an errno refuses, null leaves the decision to the era's own rules.
 */
import { EOPNOTSUPP, VM_SHARED } from './kit.mjs';

/** @type {import('pinsim').KernelPolicy} */
export const no_shared_file_longterm = {
  name: 'no-shared-file-longterm',
  description: 'linux-4.20, but long-term DMA references to shared file mappings are refused (EOPNOTSUPP), as fsdax ones are',
  version: [4, 20],
  ops: {
    longterm_pin_admit(_k, vma) {
      return vma.vm_flags & VM_SHARED ? EOPNOTSUPP : null;
    },
  },
};
