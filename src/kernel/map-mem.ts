/**
 * The boot-time linear map: map_mem() in arch/arm64/mm/mmu.c, so a replay
 * can start from a synthesized machine instead of a ptdump.
 *
 * Mirrors the mapping engine of every version read (5.4 → 6.19.9): __create_pgd_mapping() →
 * alloc_init_p4d()/alloc_init_pud() (1G PUD block if 4K and (addr|next|phys) PUD-aligned and
 * blocks allowed) → alloc_init_cont_pmd() (PTE_CONT on PMDs per CONT_PMD chunk if aligned and cont
 * allowed) → init_pmd() (PMD block if aligned) → alloc_init_cont_pte() (PTE_CONT per CONT_PTE
 * chunk) → init_pte(). A table page is allocated exactly when the entry that should point to it
 * is none (pgtable_alloc in alloc_init_*), which is what `tablesAllocated` counts.
 *
 * map_mem() order, ≤ 6.19: the kernel image [_text (6.19) or _stext, __init_begin) and the early
 * KFENCE pool are NOMAP while every memblock range is mapped with `flags`; then the kernel's linear
 * alias with NO_CONT_MAPPINGS only (blocks allowed even when the rest is PTE-forced), then the
 * KFENCE pool with NO_BLOCK_MAPPINGS | NO_CONT_MAPPINGS (arm64_kfence_map_pool(), 6.1+);
 * mark_linear_text_alias_ro() later removes write permission from the alias.
 * 7.3 (VERSION_GATES.mapMemKernelFirst): the KFENCE pool, then [_text, __init_begin) and
 * [__init_end, __bss_stop) with `flags`, then every memblock range over them, the mapping code
 * keeping existing tables and contiguous only chunks without a valid non-contiguous entry;
 * mark_linear_text_alias_ro() rewrites the alias PAGE_KERNEL_RO (MEM/NORMAL), mark_rodata_ro()
 * makes the data/bss alias invalid (mark_linear_data_alias_valid(false)).
 */
import {type Kva, KVA_END, alignDown, alignUp, formatKva, pageOffsetKva, alignedChunks} from '../model/address.js'
import type {Geometry} from '../model/geometry.js'
import {PageTables} from '../model/pagetable.js'
import {ModelError} from '../model/model-error.js'
import {HOLE, type Run} from '../model/run.js'
import {P_AF, P_NG, P_PXN, P_RDONLY, P_SHARED, P_UXN, P_VALID, type Prot, withMemType} from '../model/prot.js'
import {type KernelConfig, type LinearMap, linearMapPteForced} from './context.js'
import {versionHas} from './version.js'

/** A memblock.memory range, physical addresses [start, end). */
export interface MemBank {
  start: number
  end: number
}

export interface MapMemOptions {
  geo: Geometry
  cfg: KernelConfig
  /** memblock memory ranges (physical), any order; NOMAP ranges already removed. */
  banks: readonly MemBank[]
  /** memstart_addr: the PA mapped at the linear-map start. */
  memstartAddr: number
  /** _PAGE_OFFSET(vabits_actual) as a Kva; default pageOffsetKva(geo.vaBits). */
  linearStart?: Kva
  /** PAGE_END = _PAGE_END(VA_BITS_MIN) as a Kva; default −2^(min(vaBits,48)−1). */
  linearEnd?: Kva
  /** Physical [start, end) of the kernel image part that gets a linear alias (_text or _stext .. __init_begin). */
  kernel?: MemBank
  /** 7.3: physical [__init_end, __bss_stop), mapped before the memblocks and made invalid by mark_rodata_ro(). */
  kernelData?: MemBank
  /** Early KFENCE pool (physical start, bytes): mapped page-level after the rest (kfence 'early'). */
  kfencePool?: {start: number; size: number}
  /** Descriptor attributes; default PAGE_KERNEL (+tagged for RAM), NG with KPTI, no SHD with LPA2. */
  kpti?: boolean
  lpa2?: boolean
  /** Apply mark_linear_text_alias_ro() (default true). */
  markLinearTextAliasRo?: boolean
}

export interface MapMemResult {
  pt: PageTables
  linear: LinearMap
  /** Linear alias of the kernel image, if mapped. */
  kernelAlias?: {start: Kva; end: Kva}
  kfencePool?: {start: Kva; end: Kva}
  /** Table pages map_mem() allocated, by level of the entries they hold (index 0 = PTE tables). */
  tablesAllocated: number[]
  /** NO_BLOCK_MAPPINGS | NO_CONT_MAPPINGS applied to the memblock ranges. */
  pteForced: boolean
}

const NO_BLOCK_MAPPINGS = 1
const NO_CONT_MAPPINGS = 2

/** Mutable state of one map_mem() run. */
interface Mapper {
  geo: Geometry
  pt: PageTables
  alloc: number[]
  /** PA − VA(Kva) for the linear map. */
  delta: number
  /** Largest leaf level (vmemmap_populate() maps PMDs at most); default: PUD. */
  maxLeafLvl?: number
  /**
   * 7.3: the mapping code respects what exists: no block over an existing table (init_pmd(),
   * alloc_init_pud(): `!pmd_table(old_pmd)`), PTE_CONT only on chunks without a valid non-contiguous
   * entry (pte_range_has_valid_noncont(), pmd_range_has_valid_noncont()).
   */
  respectExisting?: boolean
}

/** A table below level L somewhere in [a, b). */
function hasTableBelow(m: Mapper, a: Kva, b: Kva, L: number): boolean {
  for (const r of m.pt.runs(a, b)) if (r.lvl < L) return true
  return false
}

/**
 * The CONT-sized chunks of [a, b) (g-aligned, g = CONT_PTE_SIZE or CONT_PMD_SIZE at level L) as
 * stretches with the PTE_CONT decision of alloc_init_cont_pte()/_pmd(): `cont` where `whole` and,
 * with respectExisting, the chunk holds no valid non-contiguous entry (pte_range_has_valid_noncont(),
 * pmd_range_has_valid_noncont(); a table entry is valid and not contiguous).
 */
function contChunks(m: Mapper, a: Kva, b: Kva, g: number, L: number, contOk: boolean): [Kva, Kva, boolean][] {
  const out: [Kva, Kva, boolean][] = []
  for (const [s, e, whole] of alignedChunks(a, b, g)) {
    if (!(contOk && whole) || !m.respectExisting) {
      out.push([s, e, contOk && whole])
      continue
    }
    // Chunks holding a valid non-contiguous entry, merged, in address order.
    let at = s
    for (const r of m.pt.runs(s, e)) {
      if (!(r.lvl < L || (r.lvl === L && r.prot !== HOLE && !r.cont))) continue
      const lo = Math.max(s, alignDown(r.start, g))
      const hi = Math.min(e, alignUp(r.end, g))
      if (lo > at) out.push([at, lo, true])
      if (hi > Math.max(at, lo)) out.push([Math.max(at, lo), hi, false])
      at = Math.max(at, hi)
    }
    if (at < e) out.push([at, e, true])
  }
  return out
}

function congruent(va: Kva, pa: number, size: number): boolean {
  return (((pa - va) % size) + size) % size === 0
}

/** Allocate the table below the level-L entry containing addr if that entry is none (alloc_init_*: `if (p?d_none(...)) pgtable_alloc(...)`). */
function ensureTableBelow(m: Mapper, addr: Kva, L: number): void {
  const r = m.pt.runAt(addr)
  if (!r) throw new ModelError(`map_mem: ${formatKva(addr)} outside the modelled range`)
  if (r.lvl < L) return
  if (r.lvl > L) throw new ModelError(`map_mem: no level-${L} table at ${formatKva(addr)}`)
  if (r.prot !== HOLE) throw new ModelError(`map_mem: BUG_ON: a level-${L} leaf already maps ${formatKva(addr)}`)
  const S = m.geo.entrySize[L]!
  const s = alignDown(addr, S)
  m.pt.replace(s, s + S, [{start: s, end: s + S, lvl: L - 1, cont: false, prot: HOLE, flags: 0}])
  m.pt.tables[L - 1]! += 1
  m.alloc[L - 1]! += 1
}

/** alloc_init_cont_pte() + init_pte() for [a, b) inside one PMD slot. */
function allocInitContPte(m: Mapper, a: Kva, b: Kva, prot: Prot, flags: number): void {
  ensureTableBelow(m, a, 1)
  const g = m.geo.contPteSize
  const contOk = (flags & NO_CONT_MAPPINGS) === 0 && congruent(a, a + m.delta, g)
  const runs: Run[] = contChunks(m, a, b, g, 0, contOk).map(([s, e, cont]) => ({start: s, end: e, lvl: 0, cont, prot, flags: 0}))
  m.pt.replace(a, b, runs)
}

/** True if every entry of [a, b) is a none entry at level L (so a bulk map equals entry-by-entry). */
function allNone(m: Mapper, a: Kva, b: Kva, L: number): boolean {
  for (const r of m.pt.runs(a, b)) if (r.lvl !== L || r.prot !== HOLE) return false
  return true
}

/** init_pmd() for [addr, end) of one CONT_PMD chunk (or a stretch of them with the same `cont`). */
function initPmd(m: Mapper, addr: Kva, end: Kva, prot: Prot, cont: boolean, flags: number): void {
  const PMD = m.geo.entrySize[1]!
  const blocks = (flags & NO_BLOCK_MAPPINGS) === 0 && (m.maxLeafLvl ?? 2) >= 1 && congruent(addr, addr + m.delta, PMD)
  let a = addr
  while (a < end) {
    const slotEnd = Math.min(alignDown(a, PMD) + PMD, end)
    const stretchEnd = alignDown(end, PMD)
    if (a % PMD === 0 && stretchEnd > a && allNone(m, a, stretchEnd, 1)) {
      if (blocks) {
        // pmd_set_huge() on every whole, aligned PMD.
        m.pt.replace(a, stretchEnd, [{start: a, end: stretchEnd, lvl: 1, cont, prot, flags: 0}])
      } else {
        // alloc_init_cont_pte() on every whole PMD: one PTE table each, CONT where allowed.
        const n = (stretchEnd - a) / PMD
        const contOk = (flags & NO_CONT_MAPPINGS) === 0 && congruent(a, a + m.delta, m.geo.contPteSize)
        m.pt.replace(a, stretchEnd, [{start: a, end: stretchEnd, lvl: 0, cont: contOk, prot, flags: 0}])
        m.pt.tables[0]! += n
        m.alloc[0]! += n
      }
      a = stretchEnd
      continue
    }
    if (blocks && a % PMD === 0 && slotEnd - a === PMD && !(m.respectExisting && hasTableBelow(m, a, slotEnd, 1))) {
      m.pt.replace(a, slotEnd, [{start: a, end: slotEnd, lvl: 1, cont, prot, flags: 0}])
    } else {
      allocInitContPte(m, a, slotEnd, prot, flags)
    }
    a = slotEnd
  }
}

/** alloc_init_cont_pmd() for [a, b) inside one PUD slot (the PMD table exists). */
function allocInitContPmd(m: Mapper, a: Kva, b: Kva, prot: Prot, flags: number): void {
  const g = m.geo.contPmdSize
  const contOk = (flags & NO_CONT_MAPPINGS) === 0 && congruent(a, a + m.delta, g)
  for (const [s, e, cont] of contChunks(m, a, b, g, 1, contOk)) initPmd(m, s, e, prot, cont, flags)
}

/** alloc_init_p4d()/alloc_init_pud() at level L ≥ 2 for [addr, end). */
function mapLevel(m: Mapper, L: number, addr: Kva, end: Kva, prot: Prot, flags: number): void {
  const S = m.geo.entrySize[L]!
  let a = addr
  while (a < end) {
    const next = Math.min(alignDown(a, S) + S, end)
    const pudBlock =
      L === 2 && m.geo.pudBlocks && (flags & NO_BLOCK_MAPPINGS) === 0 && (m.maxLeafLvl ?? 2) >= 2 && a % S === 0 && next - a === S && congruent(a, a + m.delta, S)
    if (pudBlock) {
      const stretchEnd = alignDown(end, S)
      if (allNone(m, a, stretchEnd, 2)) {
        m.pt.replace(a, stretchEnd, [{start: a, end: stretchEnd, lvl: 2, cont: false, prot, flags: 0}])
        a = stretchEnd
        continue
      }
      if (!(m.respectExisting && hasTableBelow(m, a, next, 2))) {
        m.pt.replace(a, next, [{start: a, end: next, lvl: 2, cont: false, prot, flags: 0}])
        a = next
        continue
      }
    }
    ensureTableBelow(m, a, L)
    if (L - 1 === 1) allocInitContPmd(m, a, next, prot, flags)
    else mapLevel(m, L - 1, a, next, prot, flags)
    a = next
  }
}

/** __create_pgd_mapping(swapper_pg_dir, phys, virt, size, prot, early_pgtable_alloc, flags) for a linear-map range. */
function createPgdMapping(m: Mapper, va: Kva, end: Kva, prot: Prot, flags: number): void {
  const top = m.geo.levels - 1
  if (top === 1) allocInitContPmd(m, va, end, prot, flags)
  else mapLevel(m, top, va, end, prot, flags)
}

/**
 * __create_pgd_mapping() into an existing table tree, for a range whose PA is congruent with its VA
 * (map_kernel_segment(), a vmap of physically contiguous pages, the vmemmap): the leaf choice of
 * map_mem() above — PUD block, CONT_PMD, PMD block, CONT_PTE, PTE — with `blocks: false` as
 * NO_BLOCK_MAPPINGS and `cont: false` as NO_CONT_MAPPINGS; `maxLeafLvl` caps the leaf level.
 * Returns the table pages allocated per level (index 0 = PTE tables).
 */
export function createPgdMappingInto(pt: PageTables, va: Kva, end: Kva, prot: Prot, opts: {blocks: boolean; cont: boolean; maxLeafLvl?: number}): number[] {
  const m: Mapper = {geo: pt.geo, pt, alloc: new Array<number>(pt.geo.levels - 1).fill(0), delta: 0, maxLeafLvl: opts.maxLeafLvl}
  createPgdMapping(m, va, end, prot, (opts.blocks ? 0 : NO_BLOCK_MAPPINGS) | (opts.cont ? 0 : NO_CONT_MAPPINGS))
  return m.alloc
}

/**
 * map_mem() of v7.3.4 (arch/arm64/mm/mmu.c; VERSION_GATES.mapMemKernelFirst): arm64_kfence_map_pool()
 * (page-level), [_text, __init_begin) and [__init_end, __bss_stop) with the linear map's flags,
 * then every memblock range over them with existing entries respected; then
 * mark_linear_text_alias_ro() (PAGE_KERNEL_RO over the text alias: ro, MEM/NORMAL) and
 * mark_rodata_ro()'s mark_linear_data_alias_valid(false) (PTE_VALID cleared on the data alias).
 */
function mapMemKernelFirst(
  opts: MapMemOptions,
  m: Mapper,
  ranges: MemBank[],
  pool: MemBank | undefined,
  c: {linearStart: Kva; linearEnd: Kva; pteForced: boolean; flags: number; linearProt: Prot; aliasProt: Prot},
): MapMemResult {
  m.respectExisting = true
  const va = (pa: number): Kva => pa - m.delta
  const check = (r: MemBank): void => {
    if (va(r.start) < c.linearStart || va(r.end) > c.linearEnd) throw new ModelError(`memblock ${r.start.toString(16)}-${r.end.toString(16)} outside the linear map`)
  }
  let kfencePool: MapMemResult['kfencePool']
  if (pool) {
    kfencePool = {start: va(pool.start), end: va(pool.end)}
    createPgdMapping(m, kfencePool.start, kfencePool.end, c.linearProt, NO_BLOCK_MAPPINGS | NO_CONT_MAPPINGS)
  }
  let kernelAlias: MapMemResult['kernelAlias']
  if (opts.kernel) {
    check(opts.kernel)
    kernelAlias = {start: va(opts.kernel.start), end: va(opts.kernel.end)}
    createPgdMapping(m, kernelAlias.start, kernelAlias.end, c.linearProt, c.flags)
  }
  if (opts.kernelData) {
    check(opts.kernelData)
    createPgdMapping(m, va(opts.kernelData.start), va(opts.kernelData.end), c.linearProt, c.flags)
  }
  for (const r of ranges) {
    if (r.end <= r.start) continue
    check(r)
    createPgdMapping(m, va(r.start), va(r.end), c.linearProt, c.flags)
  }
  if (opts.markLinearTextAliasRo !== false) {
    if (kernelAlias) {
      // PAGE_KERNEL_RO: read-only, and MEM/NORMAL where the linear map is MEM/NORMAL-TAGGED.
      const ro = c.aliasProt | P_RDONLY
      m.pt.setProt(kernelAlias.start, kernelAlias.end, ro & ~c.linearProt, c.linearProt & ~ro)
    }
    if (opts.kernelData) m.pt.setProt(va(opts.kernelData.start), va(opts.kernelData.end), 0, P_VALID)
  }
  return {pt: m.pt, linear: {start: c.linearStart, end: c.linearEnd}, kernelAlias, kfencePool, tablesAllocated: m.alloc, pteForced: c.pteForced}
}

/** Subtract [x.start, x.end) from a list of ranges. */
function subtract(ranges: MemBank[], x: MemBank): MemBank[] {
  const out: MemBank[] = []
  for (const r of ranges) {
    if (x.end <= r.start || x.start >= r.end) {
      out.push(r)
      continue
    }
    if (r.start < x.start) out.push({start: r.start, end: x.start})
    if (x.end < r.end) out.push({start: x.end, end: r.end})
  }
  return out
}

/** pgprot_tagged(PAGE_KERNEL) / PAGE_KERNEL as ptdump shows them (pte_bits[], arch/arm64/mm/ptdump.c). */
export function pageKernelProt(opts: {kpti?: boolean; lpa2?: boolean; tagged: boolean}): Prot {
  let p = P_VALID | P_AF | P_PXN | P_UXN
  if (!opts.lpa2) p |= P_SHARED
  if (opts.kpti) p |= P_NG
  return withMemType(p, opts.tagged ? 'MEM/NORMAL-TAGGED' : 'MEM/NORMAL')
}

/**
 * map_mem(swapper_pg_dir) for the modelled version and configuration. The result holds only the
 * linear map [linearStart, linearEnd); everything else is outside the model.
 */
export function mapMem(opts: MapMemOptions): MapMemResult {
  const geo = opts.geo
  const linearStart = opts.linearStart ?? pageOffsetKva(geo.vaBits)
  const vaBitsMin = Math.min(geo.vaBits, 48)
  const linearEnd = opts.linearEnd ?? KVA_END - 2 ** (vaBitsMin - 1)
  const top = geo.levels - 1
  const pt = PageTables.fromRuns(geo, [{start: linearStart, end: linearEnd, lvl: top, cont: false, prot: HOLE, flags: 0}])
  const m: Mapper = {geo, pt, alloc: new Array<number>(top).fill(0), delta: opts.memstartAddr - linearStart}
  const va = (pa: number): Kva => pa - m.delta
  const page = geo.pageSize

  const pteForced = linearMapPteForced(opts.cfg)
  const flags = pteForced ? NO_BLOCK_MAPPINGS | NO_CONT_MAPPINGS : 0
  const linearProt = pageKernelProt({kpti: opts.kpti, lpa2: opts.lpa2, tagged: true})
  const aliasProt = pageKernelProt({kpti: opts.kpti, lpa2: opts.lpa2, tagged: false})

  let ranges: MemBank[] = [...opts.banks].sort((a, b) => a.start - b.start).map((b) => ({start: alignUp(b.start, page), end: alignDown(b.end, page)}))
  const pool = opts.kfencePool && opts.cfg.kfence === 'early' ? {start: opts.kfencePool.start, end: opts.kfencePool.start + opts.kfencePool.size} : undefined
  if (versionHas(opts.cfg.version, 'mapMemKernelFirst')) return mapMemKernelFirst(opts, m, ranges, pool, {linearStart, linearEnd, pteForced, flags, linearProt, aliasProt})
  if (opts.kernel) ranges = subtract(ranges, opts.kernel)
  if (pool) ranges = subtract(ranges, pool)

  for (const r of ranges) {
    if (r.end <= r.start) continue
    if (va(r.start) < linearStart || va(r.end) > linearEnd) throw new ModelError(`memblock ${r.start.toString(16)}-${r.end.toString(16)} outside the linear map`)
    createPgdMapping(m, va(r.start), va(r.end), linearProt, flags)
  }
  let kernelAlias: MapMemResult['kernelAlias']
  if (opts.kernel) {
    kernelAlias = {start: va(opts.kernel.start), end: va(opts.kernel.end)}
    createPgdMapping(m, kernelAlias.start, kernelAlias.end, aliasProt, NO_CONT_MAPPINGS)
    if (opts.markLinearTextAliasRo !== false) pt.setProt(kernelAlias.start, kernelAlias.end, P_RDONLY, 0)
  }
  let kfencePool: MapMemResult['kfencePool']
  if (pool) {
    kfencePool = {start: va(pool.start), end: va(pool.end)}
    createPgdMapping(m, kfencePool.start, kfencePool.end, linearProt, NO_BLOCK_MAPPINGS | NO_CONT_MAPPINGS)
  }
  return {pt, linear: {start: linearStart, end: linearEnd}, kernelAlias, kfencePool, tablesAllocated: m.alloc, pteForced}
}
