/**
 * Re-deriving the linear map a policy would have booted with.
 *
 * A snapshot shows the linear map its own kernel made: PTE-only on 6.1 with rodata=full, blocks
 * with BBML2 or rodata=on. Replaying it under a policy that maps the linear map differently would
 * start from the wrong shape, so the linear map is rebuilt first: map_mem() of the same memory
 * (the snapshot's mapped stretches as memblock banks, its kernel alias) under the policy, then
 * every stretch whose attributes differ from the fresh boot map is changed the way the policy's
 * kernel would change it (split_kernel_leaf_mapping() at its ends, then the new prot on whole
 * leaves). Everything outside the linear map is kept as captured.
 */
import {type KernelContext, hasLeafSplit, linearMapMaybeSplitToPtes, lmAliasStext, linearMapPteForced, mapMem, splitKernelLeafMapping} from '../kernel/index.js'
import {type Kva, formatKva} from '../model/address.js'
import {type PageTables} from '../model/pagetable.js'
import {HOLE} from '../model/run.js'
import {P_NG, P_RDONLY, P_VALID, type Prot, memTypeOf} from '../model/prot.js'

export interface LinearShape {
  /** True when every valid leaf outside the kernel alias is a non-contiguous PTE. */
  pteOnly: boolean
  /** The kernel image's linear alias: the first read-only, untagged stretch (map_mem maps it with PAGE_KERNEL, the rest tagged). */
  kernelAlias?: {start: Kva; end: Kva}
}

/** Look at the linear map of a snapshot. */
export function linearShape(pt: PageTables, start: Kva, end: Kva): LinearShape {
  let alias: {start: Kva; end: Kva} | undefined
  let aliasDone = false
  let firstRo: {start: Kva; end: Kva} | undefined
  for (const r of pt.runs(start, end)) {
    if (r.prot === HOLE) continue
    if ((r.prot & P_VALID) === 0) continue
    const ro = (r.prot & P_RDONLY) !== 0
    if (!aliasDone) {
      const untaggedRo = ro && memTypeOf(r.prot) === 'MEM/NORMAL'
      if (untaggedRo && (!alias || alias.end === r.start)) alias = alias ? {start: alias.start, end: r.end} : {start: r.start, end: r.end}
      else if (alias) aliasDone = true
    }
    if (ro && !firstRo) firstRo = {start: r.start, end: r.end}
  }
  // Without MTE both are MEM/NORMAL: fall back to the first read-only stretch.
  const kernelAlias = alias ?? firstRo
  let pteOnly = true
  for (const r of pt.runs(start, end)) {
    if (r.prot === HOLE || (r.prot & P_VALID) === 0) continue
    if (kernelAlias && r.start >= kernelAlias.start && r.end <= kernelAlias.end) continue
    if (r.lvl > 0 || r.cont) {
      pteOnly = false
      break
    }
  }
  return {pteOnly, kernelAlias}
}

export interface RebaseSummary {
  /** Human sentence for the report. */
  note: string
  from: 'pte-only' | 'blocks'
  to: 'pte-only' | 'blocks'
  banks: number
  /** Table pages (all regions) before and after re-deriving the linear map. */
  tablePagesBefore: number
  tablePagesAfter: number
  /** Stretches whose captured attributes were re-applied on the fresh boot map. */
  permissionStretches: number
  /** Split primitives the re-application cost (they are not counted in the replay's counters). */
  splits: number
}

/**
 * Rebuild the linear map of ctx.pt under ctx.cfg if its captured shape differs from what that
 * configuration boots with. Returns undefined when nothing had to change.
 */
export function rebaseLinearMap(ctx: KernelContext, linear: {start: Kva; end: Kva}): RebaseSummary | undefined {
  const pt = ctx.pt
  // A dump whose linear-map marker starts nothing (a damaged or cut dump) has no map to rebuild.
  if (!(linear.end > linear.start)) return undefined
  const shape = linearShape(pt, linear.start, linear.end)
  const wantPte = linearMapPteForced(ctx.cfg)
  const repaint = !wantPte && hasLeafSplit(ctx.cfg) && ctx.cfg.bootCpuBbml2 && !ctx.cfg.bbml2
  if (shape.pteOnly === (wantPte || repaint)) return undefined

  // The captured linear map: memory stretches (banks) and the prot of every run.
  const captured: {start: Kva; end: Kva; prot: Prot}[] = []
  const banks: {start: number; end: number}[] = []
  for (const r of pt.runs(linear.start, linear.end)) {
    if (r.prot === HOLE) continue
    captured.push({start: r.start, end: r.end, prot: r.prot})
    const last = banks[banks.length - 1]
    if (last && last.end === r.start) last.end = r.end
    else banks.push({start: r.start, end: r.end})
  }
  if (banks.length === 0) return undefined
  const tablesBefore = pt.tablePages
  // PA alignment follows VA alignment in the linear map (memstart_addr is 1G-aligned), so the
  // banks are given in Kva units with memstart_addr = the linear start.
  const boot = mapMem({
    geo: ctx.geo,
    cfg: ctx.cfg,
    banks,
    memstartAddr: linear.start,
    linearStart: linear.start,
    linearEnd: linear.end,
    kernel: shape.kernelAlias,
    // arm64_kfence_map_pool(): an early pool is mapped page-level (NO_BLOCK_MAPPINGS | NO_CONT_MAPPINGS).
    kfencePool: ctx.kfencePool && ctx.cfg.kfence === 'early' ? {start: ctx.kfencePool.start, size: ctx.kfencePool.end - ctx.kfencePool.start} : undefined,
    kpti: captured.some((c) => (c.prot & P_NG) !== 0), // nG on kernel mappings means KPTI
    lpa2: ctx.geo.vaBits === 52 && ctx.geo.pageSize !== 65536,
  })
  pt.replace(linear.start, linear.end, [...boot.pt.runs(linear.start, linear.end)])
  const counts = pt.recountTables()
  for (let i = 0; i < counts.length; i++) pt.tables[i] = counts[i]!
  // The repaint keeps [lm_alias(_stext), lm_alias(__init_begin)); the alias was mapped from _text.
  if (repaint && shape.kernelAlias) linearMapMaybeSplitToPtes(ctx, linear.start, linear.end, lmAliasStext(shape.kernelAlias.start), shape.kernelAlias.end)

  // Re-apply the captured attributes where the fresh map differs.
  const splitsBefore = ctx.counters.split_pud + ctx.counters.split_pmd + ctx.counters.split_contpmd + ctx.counters.split_contpte
  let stretches = 0
  for (const c of captured) {
    const diffs: {start: Kva; end: Kva; set: Prot; clear: Prot}[] = []
    for (const b of pt.runs(c.start, c.end)) {
      if (b.prot === c.prot || b.prot === HOLE) continue
      const set = c.prot & ~b.prot
      const clear = b.prot & ~c.prot
      const last = diffs[diffs.length - 1]
      if (last && last.end === b.start && last.set === set && last.clear === clear) last.end = b.end
      else diffs.push({start: b.start, end: b.end, set, clear})
    }
    for (const d of diffs) {
      stretches++
      if (hasLeafSplit(ctx.cfg)) splitKernelLeafMapping(ctx, d.start, d.end)
      pt.setProt(d.start, d.end, d.set, d.clear)
    }
  }
  const splits = ctx.counters.split_pud + ctx.counters.split_pmd + ctx.counters.split_contpmd + ctx.counters.split_contpte - splitsBefore
  for (const k of Object.keys(ctx.counters) as (keyof typeof ctx.counters)[]) ctx.counters[k] = 0
  ctx.tablePagesAllocated = 0
  ctx.tablePagesFreed = 0
  ctx.errors.length = 0
  ctx.warnings.clear()
  ctx.aliasUpdatesUnknown = 0
  const from = shape.pteOnly ? 'pte-only' : 'blocks'
  const to = wantPte || repaint ? 'pte-only' : 'blocks'
  return {
    note:
      `the snapshot's linear map is ${from === 'pte-only' ? 'PTE-mapped' : 'block-mapped'} but this policy boots it ${to === 'pte-only' ? 'PTE-only' : 'with blocks'}: ` +
      `re-derived with map_mem() over ${banks.length} ${banks.length === 1 ? 'bank' : 'banks'}` +
      (shape.kernelAlias ? ` (kernel alias ${formatKva(shape.kernelAlias.start)}-${formatKva(shape.kernelAlias.end)})` : '') +
      `, then re-applied ${stretches} captured permission ${stretches === 1 ? 'stretch' : 'stretches'} (${splits.toLocaleString('en-US')} splits); table pages ${tablesBefore.toLocaleString('en-US')} → ${pt.tablePages.toLocaleString('en-US')}`,
    from,
    to,
    banks: banks.length,
    tablePagesBefore: tablesBefore,
    tablePagesAfter: pt.tablePages,
    permissionStretches: stretches,
    splits,
  }
}
