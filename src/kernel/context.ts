/**
 * The state every kernel mechanism in src/kernel takes: the page tables, the kernel version and
 * configuration being modelled, counters named after the kernel functions, and the errors and
 * warnings the kernel would have produced.
 *
 * Attribution of costs to trace events is the replay engine's job: it snapshots `counters`,
 * `tablePagesAllocated`/`tablePagesFreed` (or `pt.tables`) before an event and diffs after. The
 * engine may set `ctx.event` to any tag; errors and warnings copy it so they can be reported
 * against the event that hit them.
 */
import {type Kva, formatKva} from '../model/address.js'
import type {Geometry} from '../model/geometry.js'
import {type PageTables} from '../model/pagetable.js'
import {HOLE} from '../model/run.js'
import {P_NG, P_VALID, type Prot} from '../model/prot.js'
import {type KernelVersion, versionHas} from './version.js'
import {WarningLog, type WarningKindId} from './warnings.js'

export {type KernelWarning, WARNING_KINDS, type WarningKind, type WarningKindId, WarningLog} from './warnings.js'

/** errno values as the kernel returns them (negated). */
export const EINVAL = 22
export const ENOMEM = 12

/** How a collapse is attempted (everything here is *proposed*, not mainline: docs/collapse-proposals.md). */
export type CollapseMode =
  /** mainline: nothing ever merges back. */
  | 'none'
  /** Adrian Barnaś' RFC 6/6 as posted (https://lore.kernel.org/r/ajvqh8Ac0Sj5UzP_@google.com/T/): linear alias of area->pages[0], set_memory_ro on VM_ALLOW_HUGE_VMAP only. */
  | 'rfc'
  /** Ryan Roberts' review (https://lore.kernel.org/r/799181c3-a1a1-4de7-bc6a-576d3282efb0@arm.com): collapse the vmalloc range too, and use page_order to find the PMD (docs/collapse-proposals.md points 2, 3). */
  | 'both'
  /** 'both' plus a page_order-aware linear-alias loop (docs/collapse-proposals.md point 4). */
  | 'order-aware'
  /** A general collapse (PMD then PUD) after every permission change (docs/collapse-proposals.md point 5). */
  | 'general'

/** The kernel version and configuration a replay models. */
export interface KernelConfig {
  /** [major, minor], e.g. [6, 19]; what each version brings: VERSION_GATES in ./version.ts. */
  version: KernelVersion
  /**
   * The system capability that lets live block mappings be split: system_supports_bbml2_noabort()
   * (6.18–7.1) / system_supports_bbml3() (7.2+, ARM64_HAS_BBML3): every CPU has it.
   */
  bbml2: boolean
  /** cpu_supports_bbml2_noabort() / cpu_supports_bbml3() on the boot CPU: map_mem() uses blocks, then a repaint if the system lacks it. */
  bootCpuBbml2: boolean
  /** rodata_full (rodata=full ≤6.12 / rodata=on 6.19, the default in both). */
  rodataFull: boolean
  /** debug_pagealloc_enabled() */
  debugPagealloc: boolean
  /**
   * KFENCE: 'off' = not built; 'early' = built and kfence.sample_interval≠0 at boot (pool mapped
   * page-level early); 'late' = built, sample_interval=0 (arm64_kfence_can_set_direct_map()).
   */
  kfence: 'off' | 'early' | 'late'
  /** CONFIG_KFENCE_NUM_OBJECTS (Kconfig default 255): KFENCE_POOL_SIZE = (n + 1) * 2 * PAGE_SIZE (include/linux/kfence.h). */
  kfenceNumObjects?: number
  /** is_realm_world() */
  realm: boolean
  /**
   * ≤6.1: crash_mem_map (crashkernel= given) and defer_reserve_crashkernel() (CONFIG_ZONE_DMA ||
   * CONFIG_ZONE_DMA32): map_mem() maps the whole linear map page-level.
   */
  crashMemMapDeferred?: boolean
  /** PTE_MAYBE_GP is PTE_GP (CONFIG_ARM64_BTI_KERNEL on a BTI CPU): set_memory_x/nx touch GP. */
  bti: boolean
  collapse: CollapseMode
  /**
   * Permission changes on VM_ALLOW_HUGE_VMAP areas allowed with BBML2 (RFC 2/6, "arm64: mm: allow
   * huge vmap permission adjustments with bbml2_no_abort", https://lore.kernel.org/r/ajvqh8Ac0Sj5UzP_@google.com/T/).
   * Default: on whenever a collapse variant is modelled (they build on 2/6); mainline refuses since
   * commit fcf8dda8cc48 ("arm64: pageattr: Explicitly bail out when changing permissions for
   * vmalloc_huge mappings") (in v6.16).
   */
  hugeVmapPerms?: boolean
  /**
   * 'x86': the x86 CPA comparison policy (src/kernel/x86-cpa.ts), not an arm64 behaviour.
   * makeContext() (src/kernel/dispatch.ts) turns it into the context's `cpa` mechanism.
   */
  cpa: 'arm64' | 'x86'
  /** Page-table pages that may still be allocated; beyond it split_pud/split_pmd return -ENOMEM. Unlimited if undefined. */
  tableBudget?: number
}

/**
 * Counters, named exactly after the kernel function (or vmstat item) they count: only what the
 * kernel counts or a probe on it would count. What the model itself notes goes elsewhere
 * (KernelContext.warnings, aliasUpdatesUnknown).
 */
export interface Counters {
  set_memory_ro: number
  set_memory_rw: number
  set_memory_x: number
  set_memory_nx: number
  set_memory_valid: number
  set_direct_map_invalid_noflush: number
  set_direct_map_default_noflush: number
  set_direct_map_valid_noflush: number
  change_memory_common: number
  __change_memory_common: number
  update_range_prot: number
  /** ≤6.17: apply_to_page_range(&init_mm, …) calls from pageattr.c. */
  apply_to_page_range: number
  split_kernel_leaf_mapping: number
  split_kernel_leaf_mapping_locked: number
  split_pud: number
  split_pmd: number
  split_contpmd: number
  split_contpte: number
  range_split_to_ptes: number
  flush_tlb_kernel_range: number
  vm_unmap_aliases: number
  /** Proposed collapse (RFC try_collapse_kernel_pmd, general variant, x86 collapse_pmd_page). */
  try_collapse_kernel_pmd: number
  collapse_pmd: number
  collapse_pud: number
  /** x86 CPA comparison: vmstat direct_map_level{2,3}_{splits,collapses}. */
  direct_map_level2_splits: number
  direct_map_level3_splits: number
  direct_map_level2_collapses: number
  direct_map_level3_collapses: number
}

export function emptyCounters(): Counters {
  return {
    set_memory_ro: 0,
    set_memory_rw: 0,
    set_memory_x: 0,
    set_memory_nx: 0,
    set_memory_valid: 0,
    set_direct_map_invalid_noflush: 0,
    set_direct_map_default_noflush: 0,
    set_direct_map_valid_noflush: 0,
    change_memory_common: 0,
    __change_memory_common: 0,
    update_range_prot: 0,
    apply_to_page_range: 0,
    split_kernel_leaf_mapping: 0,
    split_kernel_leaf_mapping_locked: 0,
    split_pud: 0,
    split_pmd: 0,
    split_contpmd: 0,
    split_contpte: 0,
    range_split_to_ptes: 0,
    flush_tlb_kernel_range: 0,
    vm_unmap_aliases: 0,
    try_collapse_kernel_pmd: 0,
    collapse_pmd: 0,
    collapse_pud: 0,
    direct_map_level2_splits: 0,
    direct_map_level3_splits: 0,
    direct_map_level2_collapses: 0,
    direct_map_level3_collapses: 0,
  }
}

export type CounterName = keyof Counters

/** counters after − before, only the non-zero ones (for the engine's per-event attribution). */
export function diffCounters(after: Counters, before: Counters): Partial<Counters> {
  const out: Partial<Counters> = {}
  for (const k of Object.keys(after) as CounterName[]) {
    const d = after[k] - before[k]
    if (d !== 0) out[k] = d
  }
  return out
}

export interface KernelError {
  /** -EINVAL / -ENOMEM */
  errno: number
  /** The kernel function that returned it. */
  fn: string
  addr: Kva
  message: string
  /** ctx.event at the time. */
  event?: unknown
}


/** [start, end) of the linear map and how its VAs map to physical addresses. */
export interface LinearMap {
  /** _PAGE_OFFSET(vabits_actual) as a Kva. */
  start: Kva
  /** PAGE_END (exclusive) as a Kva. */
  end: Kva
}

export interface KernelContext {
  pt: PageTables
  geo: Geometry
  cfg: KernelConfig
  counters: Counters
  errors: KernelError[]
  /** What the model warned about, per kind (./warnings.ts): kernel WARNs it mirrors and its own notes. Not counters. */
  warnings: WarningLog
  /**
   * rodata_full linear-alias updates of change_memory_common() whose backing page is unknown (the
   * trace gave only set_memory_* on a vmalloc address): counted, never invented.
   */
  aliasUpdatesUnknown: number
  /** Table pages allocated (split_pud/split_pmd/x86 split) and freed (collapse) by these mechanisms. */
  tablePagesAllocated: number
  tablePagesFreed: number
  /** The linear map: PA follows VA there (__virt_to_phys(), arch/arm64/include/asm/memory.h), so PFN contiguity and alignment follow from VA. */
  linear?: LinearMap
  /** KFENCE pool [start, end) in the linear map (is_kfence_address()). */
  kfencePool?: {start: Kva; end: Kva}
  /** Tag of the event being replayed; copied into errors and warnings. */
  event?: unknown
  /**
   * Another architecture's change_page_attr in place of arm64's, for a comparison policy (set by
   * makeContext() from cfg.cpa); undefined: arm64's own pageattr.c.
   */
  cpa?: ComparisonCpa
}

/** The hooks a comparison policy's page-attribute mechanism gives pageattr.c's callers. */
export interface ComparisonCpa {
  /** In place of update_range_prot() / apply_to_page_range() over [start, end): 0 or -errno. */
  changeRange(ctx: KernelContext, start: Kva, end: Kva, set: Prot, clear: Prot): number
  /**
   * In place of change_memory_common() (set_memory_ro/rw/x/nx): the comparison's whole path for
   * [addr, addr + numpages pages) with the arm64 hardware masks, given the vm area the trace
   * revealed (its linear-alias pages and page order), if any. 0 or -errno.
   */
  changeMemoryCommon(ctx: KernelContext, addr: Kva, numpages: number, setMask: bigint, clearMask: bigint, area?: {addr: Kva; pages?: readonly Kva[]; pageOrder?: number}): number
}

// -----------------------------------------------------------------------------------------------
// Version and configuration predicates (each cites the code it follows).

/**
 * 6.18+ has the pagewalk-based update_range_prot() and split_kernel_leaf_mapping()
 * (VERSION_GATES.leafSplit: commits a660194dd101 and a166563e7ec3, in v6.18).
 */
export function hasLeafSplit(cfg: KernelConfig): boolean {
  return versionHas(cfg.version, 'leafSplit')
}

/** arm64_kfence_can_set_direct_map(): KFENCE built in and initialised late (arch/arm64/include/asm/kfence.h, 6.1+). */
export function arm64KfenceCanSetDirectMap(cfg: KernelConfig): boolean {
  return cfg.kfence === 'late' && versionHas(cfg.version, 'canSetDirectMapMapMem')
}

/**
 * can_set_direct_map() (arch/arm64/mm/pageattr.c): rodata_full || debug_pagealloc ||
 * arm64_kfence_can_set_direct_map() (6.1+) || is_realm_world() (after 6.12; present in 6.19.9).
 */
export function canSetDirectMap(cfg: KernelConfig): boolean {
  return (
    cfg.rodataFull ||
    cfg.debugPagealloc ||
    arm64KfenceCanSetDirectMap(cfg) ||
    (cfg.realm && versionHas(cfg.version, 'realmDirectMap'))
  )
}

/**
 * force_pte_mapping() (arch/arm64/mm/mmu.c, v6.19.9 and v7.3.4, same order): debug_pagealloc →
 * true; BBML2_NOABORT / BBML3 (the system cap once finalized — the runtime view modelled here) →
 * false; else rodata_full || late KFENCE || realm. `atBoot` evaluates it before caps are
 * finalized (the boot CPU's cpu_supports_bbml*()), as map_mem() does.
 */
export function forcePteMapping(cfg: KernelConfig, atBoot = false): boolean {
  if (cfg.debugPagealloc) return true
  if (atBoot ? cfg.bootCpuBbml2 : cfg.bbml2) return false
  return cfg.rodataFull || arm64KfenceCanSetDirectMap(cfg) || cfg.realm
}

/**
 * The condition under which map_mem() maps the linear map (outside the kernel alias) with
 * NO_BLOCK_MAPPINGS | NO_CONT_MAPPINGS, per version (map_mem(), arch/arm64/mm/mmu.c):
 * ≤5.10 rodata_full || debug_pagealloc; 5.12–5.15 can_set_direct_map() || IS_ENABLED(CONFIG_KFENCE)
 * (5.15 mmu.c map_mem); 6.1–6.17 can_set_direct_map(); 6.18+ force_pte_mapping() at boot.
 */
export function linearMapPteForced(cfg: KernelConfig): boolean {
  if (hasLeafSplit(cfg)) return forcePteMapping(cfg, true)
  // v6.1.119 map_mem(): `if (crash_mem_map) { if (defer_reserve_crashkernel()) flags |= NO_BLOCK_MAPPINGS | NO_CONT_MAPPINGS; … }`.
  if (cfg.crashMemMapDeferred && !versionHas(cfg.version, 'crashMemMapRemoved')) return true
  if (versionHas(cfg.version, 'canSetDirectMapMapMem')) return canSetDirectMap(cfg)
  if (versionHas(cfg.version, 'kfenceForcesPteMap')) return cfg.rodataFull || cfg.debugPagealloc || cfg.kfence !== 'off'
  return cfg.rodataFull || cfg.debugPagealloc
}

/**
 * linear_map_requires_bbml2 / linear_map_requires_bbml3 (mmu.c map_mem(), v6.19.9 and v7.3.4):
 * `!force_pte_mapping() && can_set_direct_map()` on the boot CPU — the linear map was
 * block-mapped and relies on splitting later.
 */
export function linearMapRequiresBbml(cfg: KernelConfig): boolean {
  return !forcePteMapping(cfg, true) && canSetDirectMap(cfg)
}

/** is_kfence_address() */
export function isKfenceAddress(ctx: KernelContext, addr: Kva): boolean {
  const p = ctx.kfencePool
  return p !== undefined && addr >= p.start && addr < p.end
}

export function inLinearMap(ctx: KernelContext, addr: Kva): boolean {
  const l = ctx.linear
  return l !== undefined && addr >= l.start && addr < l.end
}

/**
 * p?d_present() for a leaf of our model (arch/arm64/include/asm/pgtable.h, 6.10+):
 * pte_valid() || pte_present_invalid(), where PTE_PRESENT_INVALID is PTE_NG on an invalid entry.
 * A HOLE (none entry) is never present.
 */
export function leafPresent(prot: Prot): boolean {
  if (prot === HOLE) return false
  return (prot & P_VALID) !== 0 || (prot & P_NG) !== 0
}

/** p?d_sect() / a valid leaf: the test pageattr_p?d_entry() apply in v6.19.9 (pud_sect/pmd_sect). */
export function leafValid(prot: Prot): boolean {
  return prot !== HOLE && (prot & P_VALID) !== 0
}

export function kernelError(ctx: KernelContext, errno: number, fn: string, addr: Kva, message: string): number {
  ctx.errors.push({errno: -errno, fn, addr, message: `${fn}(${formatKva(addr)}): ${message}`, event: ctx.event})
  return -errno
}

/**
 * A model warning of `kind` (./warnings.ts): a kernel WARN()/WARN_ON_ONCE() the model mirrors
 * (recorded per hit: the kernel prints a _ONCE the first time only) or a note of the model's own.
 */
export function kernelWarn(ctx: KernelContext, kind: WarningKindId, fn: string, addr: Kva, message: string): void {
  ctx.warnings.add({kind, fn, addr, message: `${fn}(${formatKva(addr)}): ${message}`, event: ctx.event})
}

/** One more page-table page, or -ENOMEM when a table budget is set and spent. */
export function allocTablePage(ctx: KernelContext): boolean {
  const b = ctx.cfg.tableBudget
  if (b !== undefined && ctx.tablePagesAllocated - ctx.tablePagesFreed >= b) return false
  ctx.tablePagesAllocated++
  return true
}
