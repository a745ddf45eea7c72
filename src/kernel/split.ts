/**
 * Splitting kernel leaf mappings, as arch/arm64/mm/mmu.c does from v6.18 on: commit a166563e7ec3
 * ("arm64: mm: support large block mapping when rodata=full") (in v6.18), on top of commit
 * a660194dd101 ("arm64: Enable permission change on arm64 kernel block mappings") (in v6.18).
 * Read in v6.19.9 (split_contpte(), split_contpmd(), split_pmd(), split_pud(),
 * split_kernel_leaf_mapping(), range_split_to_ptes()) and in the later mainline text with
 * split_leaf_mapping_possible(), same algorithm.
 *
 * Each function mirrors the kernel function of the same (camelCased) name and counts its call in
 * ctx.counters under the kernel's name, at entry — as a kprobe at the function would.
 */
import {type Kva, alignDown, alignUp, formatKva, isAligned} from '../model/address.js'
import {ModelError} from '../model/model-error.js'
import {HOLE, NO_RUN, type Run, metaCont, metaLvl, metaProt} from '../model/run.js'
import {P_VALID} from '../model/prot.js'
import {
  EINVAL,
  ENOMEM,
  type KernelContext,
  allocTablePage,
  forcePteMapping,
  hasLeafSplit,
  isKfenceAddress,
  kernelError,
  kernelWarn,
  leafPresent,
  linearMapRequiresBbml,
} from './context.js'
import {versionHas} from './version.js'

/** What a kernel page-table walk finds at level L for addr. */
type LevelEntry = {kind: 'none'} | {kind: 'table'} | {kind: 'leaf'; run: Run}

/**
 * The level-L entry containing addr (pgd_offset_k/p4d_offset/pud_offset/pmd_offset/pte_offset_kernel):
 * a table if the model holds lower-level entries there, a leaf, or none (a hole, or a gap of a
 * 5.4-style dump). Callers only ask for L below a table.
 */
export function entryAtLevel(ctx: KernelContext, addr: Kva, L: number): LevelEntry {
  const r = ctx.pt.runAt(addr)
  if (!r || r.lvl > L) return {kind: 'none'}
  if (r.lvl < L) return {kind: 'table'}
  if (r.prot === HOLE) return {kind: 'none'}
  return {kind: 'leaf', run: r}
}

/**
 * split_pud(pudp, pud, gfp, to_cont) (mmu.c, v6.19.9): one PMD table of PTRS_PER_PMD section
 * entries with the block's prot, PTE_CONT on all iff to_cont. `prot | PMD_TYPE_SECT` sets
 * PTE_VALID, so a present-invalid block becomes valid: modelled, with a warning. v7.3.4 keeps the
 * entries invalid (VERSION_GATES.splitKeepsInvalid, https://lore.kernel.org/r/20260323130317.1737522-2-ryan.roberts@arm.com).
 */
export function splitPud(ctx: KernelContext, addr: Kva, toCont: boolean): number {
  ctx.counters.split_pud++
  return splitBlock(ctx, addr, toCont, 'split_pud')
}

/** split_pmd(pmdp, pmd, gfp, to_cont) (mmu.c, v6.19.9): one PTE table; CONT cleared then set on all iff to_cont. */
export function splitPmd(ctx: KernelContext, addr: Kva, toCont: boolean): number {
  ctx.counters.split_pmd++
  return splitBlock(ctx, addr, toCont, 'split_pmd')
}

function splitBlock(ctx: KernelContext, addr: Kva, toCont: boolean, fn: string): number {
  const e = ctx.pt.entryAt(addr)
  if (!e || e.prot === HOLE || e.lvl === 0) throw new ModelError(`${fn} at ${formatKva(addr)}: no block there`)
  // pgd_pgtable_alloc_init_mm_gfp() failure → -ENOMEM; nothing changed.
  if (!allocTablePage(ctx)) return kernelError(ctx, ENOMEM, fn, addr, 'page-table allocation failed (table budget spent)')
  const size = ctx.geo.entrySize[e.lvl]!
  const s = alignDown(addr, size)
  ctx.pt.splitEntry(addr, toCont)
  // 7.3 keeps them invalid (VERSION_GATES.splitKeepsInvalid): splitEntry() copies the prot as is.
  if ((e.prot & P_VALID) === 0 && !versionHas(ctx.cfg.version, 'splitKeepsInvalid')) {
    kernelWarn(ctx, 'split-present-invalid', fn, s, 'present-invalid block split into valid entries')
    ctx.pt.setProt(s, s + size, P_VALID, 0)
  }
  return 0
}

/** split_contpte(ptep) (mmu.c, v6.19.9): clear PTE_CONT on the CONT_PTES group. Allocates nothing. */
export function splitContpte(ctx: KernelContext, addr: Kva): void {
  ctx.counters.split_contpte++
  ctx.pt.clearContGroup(addr)
}

/** split_contpmd(pmdp) (mmu.c, v6.19.9): clear PTE_CONT on the CONT_PMDS group. */
export function splitContpmd(ctx: KernelContext, addr: Kva): void {
  ctx.counters.split_contpmd++
  ctx.pt.clearContGroup(addr)
}

/**
 * split_kernel_leaf_mapping_locked(addr) (mmu.c, v6.19.9): make addr a leaf boundary, descending
 * PGD/P4D → PUD → CONT_PMD → PMD → CONT_PTE only as far as needed. Levels that the geometry folds
 * have the size of the level above, so their alignment test repeats the one above (as in C).
 */
export function splitKernelLeafMappingLocked(ctx: KernelContext, addr: Kva): number {
  ctx.counters.split_kernel_leaf_mapping_locked++
  const geo = ctx.geo
  const pt = ctx.pt
  // Every level's question (none / table / leaf, as entryAtLevel() answers it) is about the one
  // stored run containing addr: look it up once, and again only after a split changed it.
  let m = pt.shapeAt(addr)
  // PGD, P4D, PUD: aligned → done; not present → done; a PUD leaf → split_pud(to_cont=true).
  for (let L = geo.levels - 1; L >= 2; L--) {
    if (isAligned(addr, geo.entrySize[L]!)) return 0
    const lvl = metaLvl(m)
    if (m === NO_RUN || lvl > L) return 0 // none
    if (lvl === L) {
      const prot = metaProt(m)
      if (prot === HOLE || !leafPresent(prot)) return 0
      if (L !== 2) return 0 // no P4D/PGD leaves on arm64 (p4d_leaf() is false)
      const ret = splitPud(ctx, addr, true)
      if (ret) return ret
      m = pt.shapeAt(addr)
    }
  }
  // Two-level geometries (16K/36, 64K/42): the PGD is the PMD level, so PGDIR_SIZE = P4D_SIZE =
  // PUD_SIZE = PMD_SIZE and the PGD check above returns at every PMD-aligned address, before the
  // CONT_PMD group is looked at (the folded p?d_leaf() are false).
  if (geo.levels <= 2 && isAligned(addr, geo.entrySize[1]!)) return 0
  // CONTPMD: aligned → done; not present → done; a PMD leaf: clear its cont group, then
  // PMD-aligned → done, else split_pmd(to_cont=true).
  if (isAligned(addr, geo.contPmdSize)) return 0
  if (m === NO_RUN || metaLvl(m) > 1) return 0
  if (metaLvl(m) === 1) {
    const prot = metaProt(m)
    if (prot === HOLE || !leafPresent(prot)) return 0
    if (metaCont(m)) splitContpmd(ctx, addr)
    if (isAligned(addr, geo.entrySize[1]!)) return 0
    const ret = splitPmd(ctx, addr, true)
    if (ret) return ret
    m = pt.shapeAt(addr)
  }
  // CONTPTE: aligned → done; not present → done; PTE_CONT → split_contpte.
  if (isAligned(addr, geo.contPteSize)) return 0
  if (m === NO_RUN || metaLvl(m) !== 0 || !leafPresent(metaProt(m))) return 0
  if (metaCont(m)) splitContpte(ctx, addr)
  return 0
}

/**
 * split_kernel_leaf_mapping(start, end) (mmu.c). Returns 0 or a negative errno. Early returns:
 * - v6.18/v6.19.9: !split_leaf_mapping_possible() (no BBML2_NOABORT system cap, or
 *   force_pte_mapping()) or a KFENCE address → 0;
 * - v7.0+ (VERSION_GATES.splitRequiresLinearMapBbml; read in v7.3.4): !linear_map_requires_bbml3
 *   (the linear map was not block-mapped for splitting: force_pte_mapping() or !can_set_direct_map()
 *   at map_mem()) or a KFENCE address → 0; then !system_supports_bbml3() → 0 (caps finalized:
 *   the boot-time -EBUSY windows are before any trace);
 * then unaligned → -EINVAL. A single page splits only at the less aligned end (__ffs compare): the
 * other end then lies in the same contpte block, which must have been split to PTEs.
 * Before 6.18 the function does not exist: returns 0 without counting.
 */
export function splitKernelLeafMapping(ctx: KernelContext, start: Kva, end: Kva): number {
  if (!hasLeafSplit(ctx.cfg)) return 0
  ctx.counters.split_kernel_leaf_mapping++
  if (versionHas(ctx.cfg.version, 'splitRequiresLinearMapBbml')) {
    if (!linearMapRequiresBbml(ctx.cfg) || isKfenceAddress(ctx, start)) return 0
    if (!ctx.cfg.bbml2) return 0
  } else {
    if (!ctx.cfg.bbml2) return 0
    if (forcePteMapping(ctx.cfg) || isKfenceAddress(ctx, start)) return 0
  }
  const page = ctx.geo.pageSize
  if (!isAligned(start, page) || !isAligned(end, page)) {
    return kernelError(ctx, EINVAL, 'split_kernel_leaf_mapping', start, `range ${formatKva(start)}-${formatKva(end)} not page-aligned`)
  }
  if (end - start === page) {
    // Kva = VA − 0xfff0…0 and 0xfff0…0 has 52 trailing zeros, so __ffs compares the same on Kvas.
    // With end = start + PAGE_SIZE, both page-aligned, __ffs(start) < __ffs(end) exactly when
    // start / PAGE_SIZE is odd (then end / PAGE_SIZE is even, and vice versa): no bit loop.
    return splitKernelLeafMappingLocked(ctx, isAligned(start / page, 2) ? end : start)
  }
  const ret = splitKernelLeafMappingLocked(ctx, start)
  if (ret) return ret
  return splitKernelLeafMappingLocked(ctx, end)
}

/**
 * range_split_to_ptes(start, end, gfp) (mmu.c, v6.19.9): walk_kernel_page_table_range_lockless()
 * with split_to_ptes_ops — pud_entry: leaf → split_pud(to_cont=false); pmd_entry: leaf → cont
 * group cleared, split_pmd(to_cont=false), ACTION_CONTINUE; pte_entry: CONT → split_contpte.
 * Entries that straddle start or end are split whole (the walker hands over the whole entry).
 */
export function rangeSplitToPtes(ctx: KernelContext, start: Kva, end: Kva): number {
  ctx.counters.range_split_to_ptes++
  const pt = ctx.pt
  const geo = ctx.geo
  let addr = start
  while (addr < end) {
    const r = pt.firstRun(addr, end, true)
    if (!r) break
    if (r.lvl >= 1) {
      const size = geo.entrySize[r.lvl]!
      const entryEnd = alignDown(r.start, size) + size
      // p?d_leaf() is p?d_present() && !table in 6.19: a not-present block is left alone.
      if (!leafPresent(r.prot)) {
        kernelWarn(ctx, 'split-to-ptes-not-present', 'range_split_to_ptes', r.start, 'not-present block left unsplit')
        addr = entryEnd
        continue
      }
      if (r.lvl >= 3) {
        // p4d_leaf()/pgd_leaf() are false on arm64: the walker has no callback for such an
        // entry (only a damaged dump holds one); leave it, as for a not-present block.
        kernelWarn(ctx, 'split-to-ptes-top-level-leaf', 'range_split_to_ptes', r.start, 'P4D/PGD-level leaf left unsplit')
        addr = entryEnd
        continue
      }
      if (r.lvl === 2) {
        const ret = splitPud(ctx, r.start, false)
        if (ret) return ret
        // The walker descends into the new PMD table: addr stays, the level at addr drops by
        // one (splitBlock throws where there is no block), so this repeats at most levels times.
        continue
      }
      if (r.cont) splitContpmd(ctx, r.start)
      const ret = splitPmd(ctx, r.start, false)
      if (ret) return ret
      addr = entryEnd // ACTION_CONTINUE: the new PTEs are not CONT
      continue
    }
    if (r.cont) {
      // split_contpte() is called on the first PTE of each group in range; later PTEs see CONT clear.
      const g = geo.contPteSize
      const lo = alignDown(r.start, g)
      const hi = alignUp(r.end, g)
      ctx.counters.split_contpte += (hi - lo) / g
      pt.setCont(lo, hi, false)
    }
    addr = r.end
  }
  return 0
}

/** SEGMENT_ALIGN (arch/arm64/include/asm/memory.h, v6.19.9 and v7.3.4): SZ_64K. */
export const SEGMENT_ALIGN = 0x10000

/**
 * lm_alias(_stext) from lm_alias(_text), where a captured or rebuilt map knows only the latter
 * (map_mem() maps the alias from _text): vmlinux.lds.S puts `.head.text` at _text and starts
 * `.text : ALIGN(SEGMENT_ALIGN) { _stext = .` right after, so _stext = _text + SEGMENT_ALIGN (as
 * every capture's kallsyms shows: _stext − _text = 0x10000).
 */
export function lmAliasStext(lmAliasText: Kva): Kva {
  return lmAliasText + SEGMENT_ALIGN
}

/**
 * linear_map_split_to_ptes() (mmu.c, v6.19.9): CPU0 repaints [_PAGE_OFFSET(vabits_actual),
 * lm_alias(_stext)) and [lm_alias(__init_begin), PAGE_END) to PTEs with GFP_ATOMIC; the kernel
 * alias keeps its blocks. A failure panics the kernel: recorded as an error.
 */
export function linearMapSplitToPtes(ctx: KernelContext, lstart: Kva, lend: Kva, kstart: Kva, kend: Kva): number {
  let ret = rangeSplitToPtes(ctx, lstart, kstart)
  if (!ret) ret = rangeSplitToPtes(ctx, kend, lend)
  if (ret) kernelWarn(ctx, 'linear-map-split-failed', 'linear_map_split_to_ptes', lstart, 'panic("Failed to split linear map")')
  ctx.counters.flush_tlb_kernel_range++
  return ret
}

/**
 * linear_map_maybe_split_to_ptes() (mmu.c, v6.19.9; v7.3.4 the same with bbml3): repaint only if
 * map_mem() relied on BBML2 (linear_map_requires_bbml2, linearMapRequiresBbml()) and the
 * finalized system capability lacks it (a secondary CPU is not on the list).
 */
export function linearMapMaybeSplitToPtes(ctx: KernelContext, lstart: Kva, lend: Kva, kstart: Kva, kend: Kva): boolean {
  if (!hasLeafSplit(ctx.cfg)) return false
  if (!linearMapRequiresBbml(ctx.cfg) || ctx.cfg.bbml2) return false
  linearMapSplitToPtes(ctx, lstart, lend, kstart, kend)
  return true
}
