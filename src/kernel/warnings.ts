/**
 * What the model warns about while it replays: either a WARN the kernel itself would have printed
 * (the model mirrors the check), or a place where the kernel stays silent but the model had to
 * choose (the trace and the snapshot disagree, or the kernel does something worth knowing).
 *
 * These are not kernel counters: the kernel counts nothing of this, and `dmesg` of the captured
 * machine has a WARN only for kinds with `kernelWarn` set. They are kept per kind with a count and
 * the first few messages (bounded, whatever the trace's length) and reported on their own.
 */
import type {Kva} from '../model/address.js'

export interface WarningKind {
  /** What happened, in one line a kernel developer reads. */
  title: string
  /** The WARN the kernel prints here, cited (check, function, file, version); absent: the kernel prints nothing. */
  kernelWarn?: string
  /** What the kernel does and what the model did instead. */
  explanation: string
}

const RFC_6_6 = 'https://lore.kernel.org/r/ajvqh8Ac0Sj5UzP_@google.com/T/'

/** Every kind the model can warn about; `kernelWarn(ctx, kind, …)` in ./context.ts takes one of these keys. */
export const WARNING_KINDS = {
  // ---- the kernel WARNs here too --------------------------------------------------------------
  'pageattr-partial-block': {
    title: 'permission change covers part of a block mapping',
    kernelWarn: 'WARN_ON_ONCE((next - addr) != P?D_SIZE) in pageattr_pud_entry()/pageattr_pmd_entry() (arch/arm64/mm/pageattr.c, v6.18+), then -EINVAL',
    explanation: 'the block was not split first (no BBML2, or split_kernel_leaf_mapping() skipped it); the change stops there with -EINVAL, as in the kernel',
  },
  'apply-to-page-range-block': {
    title: 'PTE-level permission change meets a block mapping',
    kernelWarn: 'WARN_ON_ONCE(pmd_leaf(*pmd)) / WARN_ON_ONCE(pud_leaf(*pud)) in apply_to_pmd_range()/apply_to_pud_range() (mm/memory.c, v6.1), then -EINVAL',
    explanation: '≤6.17 change_memory_common() goes through apply_to_page_range(), which walks PTEs only; the change stops there with -EINVAL, as in the kernel',
  },
  'update-range-prot-split-failed': {
    title: 'split_kernel_leaf_mapping() failed before a permission change',
    kernelWarn: 'WARN_ON_ONCE(ret) in update_range_prot() (arch/arm64/mm/pageattr.c, v6.18+)',
    explanation: 'the split returned an error (-ENOMEM under a table budget, -EINVAL); the permission change is not made, as in the kernel',
  },
  'change-memory-common-unaligned': {
    title: 'set_memory_*() on an address that is not page-aligned',
    kernelWarn: 'WARN_ON_ONCE(1) after !PAGE_ALIGNED(addr) in change_memory_common() (arch/arm64/mm/pageattr.c, v6.1–v7.3)',
    explanation: 'the kernel rounds the start down to its page and goes on; so does the model',
  },
  'vmap-pte-busy': {
    title: 'vmap over PTEs that are already mapped',
    kernelWarn: 'WARN_ON(!pte_none(ptep_get(pte))) in vmap_pages_pte_range() (mm/vmalloc.c, v7.3), then -EBUSY',
    explanation: 'the trace maps a vm area over pages the model has mapped (mapped before the snapshot, or an unmap the trace did not record); the model maps it anyway',
  },
  'vunmap-cuts-block': {
    title: 'vunmap of a range that cuts a block or a contiguous group',
    kernelWarn: 'WARN_ON(next - addr < PMD_SIZE) in vunmap_pmd_range() / WARN_ON(end - addr < size) in vunmap_pte_range() (mm/vmalloc.c, v7.3)',
    explanation: 'the kernel clears the whole block or group; so does the model',
  },
  'collapse-unaligned': {
    title: 'try_collapse_kernel_pmd() on an address that is not PMD-aligned (proposed code)',
    kernelWarn: `WARN_ON(ALIGN_DOWN(addr, PMD_SIZE) != addr) in try_collapse_kernel_pmd() (RFC 6/6, ${RFC_6_6})`,
    explanation: 'the first backing page of the area is not PMD-aligned (the review point about page_order); nothing is collapsed',
  },
  'linear-map-split-failed': {
    title: 'the boot-time repaint of the linear map to PTEs failed',
    kernelWarn: 'panic("Failed to split linear map") in linear_map_split_to_ptes() (arch/arm64/mm/mmu.c, v6.19.9)',
    explanation: 'range_split_to_ptes() returned an error (a table budget); the kernel would not boot',
  },
  // ---- the kernel is silent; the model notes what it did ----------------------------------------
  'permission-change-on-unmapped': {
    title: 'permission change on memory the snapshot does not map',
    explanation:
      'the range was mapped after the snapshot was taken (a module or vm area loaded later) or was unmapped; apply_to_page_range() (≤6.17) would allocate the missing tables and write the PTEs, the 6.18+ pageattr walk skips holes; the model leaves the hole',
  },
  'pageattr-invalid-block': {
    title: 'invalid block inside a permission change, left unchanged',
    explanation: 'pageattr_pud_entry()/pageattr_pmd_entry() (v6.19.9) rewrite only valid blocks and there is no table below one to descend into; the model leaves it',
  },
  'cont-partial-rewrite': {
    title: 'permission change on part of a contiguous (PTE_CONT) group',
    explanation:
      'apply_to_page_range() (≤6.17) rewrites only the covered PTEs and leaves PTE_CONT set on the group, so one contiguous group holds different attributes (a misprogramming in the Arm ARM); the kernel does not warn; the model clears PTE_CONT on that group',
  },
  'split-present-invalid': {
    title: 'a present-invalid block split into valid entries',
    explanation:
      'split_pmd()/split_pud() (arch/arm64/mm/mmu.c, v6.19.9) build the new entries with PTE_TYPE_PAGE/PMD_TYPE_SECT, which sets PTE_VALID: memory made invalid by set_direct_map_invalid_noflush() is mapped again (Ryan Roberts\' fix keeps it invalid, https://lore.kernel.org/r/20260323130317.1737522-2-ryan.roberts@arm.com); no WARN',
  },
  'split-to-ptes-not-present': {
    title: 'not-present block left unsplit by the linear-map repaint',
    explanation: 'range_split_to_ptes() (v6.19.9) calls its callbacks only on p?d_leaf() entries, which a not-present block is not; the model leaves it',
  },
  'split-to-ptes-top-level-leaf': {
    title: 'P4D/PGD-level leaf left unsplit by the linear-map repaint',
    explanation: 'p4d_leaf()/pgd_leaf() are false on arm64, so the walker has no callback for it (only a damaged dump holds one); the model leaves it',
  },
  'vmap-pte-over-block': {
    title: 'vmap of PTEs where the model has a block mapping',
    explanation: 'the snapshot shows a block where the trace maps pages (the area was remapped after the snapshot was taken); the model does not apply this mapping',
  },
  'vmap-block-over-block': {
    title: 'vmap of a block where the model already has a present block',
    explanation:
      'pmd_set_huge()/pud_set_huge() (arch/arm64/mm/mmu.c, v7.3) refuse unless only permissions change (pgattr_change_is_safe()), pmd_free_pte_page() has VM_WARN_ON(1) (CONFIG_DEBUG_VM only); the trace maps an area the snapshot already shows mapped; the model replaces the block',
  },
  'collapse-pages-unknown': {
    title: 'collapse skipped: the trace does not name the backing pages (proposed code)',
    explanation: `try_collapse_kernel_pmd() (RFC 6/6, ${RFC_6_6}) collapses the linear alias of area->pages[0]; the trace has no inner __change_memory_common/update_range_prot hit naming it, so the model does not collapse`,
  },
} as const satisfies Record<string, WarningKind>

export type WarningKindId = keyof typeof WARNING_KINDS

export interface KernelWarning {
  kind: WarningKindId
  /** The kernel function the model was in. */
  fn: string
  addr: Kva
  /** `fn(addr): detail`. */
  message: string
  /** The context's event tag at the time (the replay engine sets the trace event). */
  event?: unknown
}

/** Messages kept per kind (the first ones): bounded memory whatever the trace's length. */
export const EXAMPLES_PER_KIND = 5

/** The warnings of one replay: a count per kind and the first messages of each. */
export class WarningLog {
  private readonly perKind = new Map<WarningKindId, {count: number; examples: KernelWarning[]}>()

  add(w: KernelWarning): void {
    let k = this.perKind.get(w.kind)
    if (!k) {
      k = {count: 0, examples: []}
      this.perKind.set(w.kind, k)
    }
    k.count++
    if (k.examples.length < EXAMPLES_PER_KIND) k.examples.push(w)
  }

  /** Warnings recorded (all kinds). */
  get count(): number {
    let n = 0
    for (const k of this.perKind.values()) n += k.count
    return n
  }

  countOf(kind: WarningKindId): number {
    return this.perKind.get(kind)?.count ?? 0
  }

  /** Per kind, most frequent first (then by name): count and the first messages. */
  kinds(): {kind: WarningKindId; count: number; examples: readonly KernelWarning[]}[] {
    return [...this.perKind.entries()]
      .map(([kind, k]) => ({kind, count: k.count, examples: k.examples}))
      .sort((a, b) => b.count - a.count || a.kind.localeCompare(b.kind))
  }

  clear(): void {
    this.perKind.clear()
  }
}
