/**
 * Where a workload puts its addresses, in memory the machine maps: backing pages are chosen in its
 * linear-map RAM (outside the kernel alias and the KFENCE pool), struct pages follow its vmemmap
 * base, areas are carved from its module region, the KFENCE pool is the last KFENCE_POOL_SIZE bytes
 * of RAM (the memblock top-down allocation seen in the 6.12 kfence capture).
 */
import type {PtdumpSnapshot} from '../../ingest/ptdump/index.js'
import type {Kva} from '../../model/address.js'
import {HOLE} from '../../model/run.js'
import {P_PXN, P_RDONLY, P_VALID} from '../../model/prot.js'
import {kfencePoolSize} from '../../kernel/kfence.js'
import type {SynthMachine} from '../machine.js'
import {subtractRanges} from '../memory-map.js'
import type {WorkloadTarget} from './types.js'

/** The target of a synthesized machine. */
export function targetFromMachine(m: SynthMachine): WorkloadTarget {
  const pmd = m.geo.entrySize[1]!
  const cache = m.roxCache?.pages.map((p) => ({va: p.va, alias: p.alias}))
  const exclude = [m.kernelAlias, m.kfencePool, ...(cache ?? []).map((p) => ({start: p.alias, end: p.alias + pmd}))].filter(
    (x): x is {start: Kva; end: Kva} => x !== undefined,
  )
  return {
    pageSize: m.geo.pageSize,
    pageOffset: m.layout.pageOffset,
    vmemmapStart: m.layout.vmemmap.start,
    ram: subtractRanges(m.ram, exclude),
    modules: m.layout.modules,
    kfencePool: m.kfencePool ?? topOfRamPool(m.ram, m.geo.pageSize),
    ...(cache?.length ? {roxCache: cache} : {}),
  }
}

/** PMD_SIZE of a granule: PAGE_SIZE × PTRS_PER_PTE (8-byte descriptors). */
export function pmdSizeOf(pageSize: number): number {
  return (pageSize * pageSize) / 8
}

/**
 * The ROX cache in a ptdump: every PMD leaf in the module region that is valid, read-only and
 * executable (only a VM_ALLOW_HUGE_VMAP area gets a PMD leaf there, vmap_try_huge_pmd()), paired
 * in address order with the read-only islands of exactly PMD_SIZE, PMD-aligned, in the linear map
 * (rodata_full aliases; the kernel's own alias is one longer island). A ptdump carries no PA, so
 * the pairing is `synth machine`'s convention (backing pages ascend with the VA); it is used only
 * when the counts agree, else the aliases are left unknown (rodata=noalias leaves them writable)
 * and the workload picks huge pages of RAM for them.
 */
function roxCacheOfSnapshot(snap: PtdumpSnapshot, linear: {start: Kva; end: Kva}, modules: {start: Kva; end: Kva}): {va: Kva; alias?: Kva}[] | undefined {
  const pmd = pmdSizeOf(snap.geometry.pageSize)
  const vas: Kva[] = []
  for (const r of snap.pt.runs(modules.start, modules.end)) {
    if (r.lvl !== 1 || r.prot === HOLE || (r.prot & P_VALID) === 0 || (r.prot & P_RDONLY) === 0 || (r.prot & P_PXN) !== 0) continue
    for (let a = r.start; a < r.end; a += pmd) vas.push(a)
  }
  if (!vas.length) return undefined
  const islands: {start: Kva; end: Kva}[] = []
  for (const r of snap.pt.runs(linear.start, linear.end)) {
    const ro = r.prot !== HOLE && (r.prot & P_VALID) !== 0 && (r.prot & P_RDONLY) !== 0
    if (!ro) continue
    const last = islands[islands.length - 1]
    if (last && last.end === r.start) last.end = r.end
    else islands.push({start: r.start, end: r.end})
  }
  const aliases = islands.filter((i) => i.end - i.start === pmd && (i.start - linear.start) % pmd === 0).map((i) => i.start)
  if (aliases.length !== vas.length) return vas.map((va) => ({va}))
  return vas.map((va, i) => ({va, alias: aliases[i]!}))
}

/**
 * The target of a ptdump (synthesized or captured): RAM = valid, writable linear-map runs (the
 * kernel alias is read-only), PAGE_OFFSET and VMEMMAP_START from the regions. Returns an error
 * string when the dump lacks a region the workload needs.
 */
export function targetFromSnapshot(snap: PtdumpSnapshot): WorkloadTarget | string {
  const reg = (n: string) => snap.regions.find((r) => r.name === n)
  const linear = reg('linear')
  const vmemmap = reg('vmemmap')
  const modules = reg('modules')
  if (!linear || !vmemmap || !modules) return `${snap.source}: the dump needs Linear Mapping, Modules and vmemmap markers to place a workload`
  const ram: {start: Kva; end: Kva}[] = []
  const all: {start: Kva; end: Kva}[] = []
  for (const r of snap.pt.runs(linear.start, linear.end)) {
    if (r.prot === HOLE) continue
    all.push({start: r.start, end: r.end})
    if ((r.prot & P_VALID) === 0 || (r.prot & P_RDONLY) !== 0) continue
    const last = ram[ram.length - 1]
    if (last && last.end === r.start) last.end = r.end
    else ram.push({start: r.start, end: r.end})
  }
  if (ram.length === 0) return `${snap.source}: no writable RAM in the linear map`
  const page = snap.geometry.pageSize
  const pool = topOfRamPool(mergeRanges(all), page)
  const cache = roxCacheOfSnapshot(snap, linear, modules)
  return {
    pageSize: page,
    pageOffset: linear.start,
    vmemmapStart: vmemmap.start,
    ram: subtractRanges(ram, [pool]),
    modules: {start: modules.start, end: modules.end},
    kfencePool: pool,
    ...(cache ? {roxCache: cache} : {}),
  }
}

function mergeRanges(rs: {start: Kva; end: Kva}[]): {start: Kva; end: Kva}[] {
  const out: {start: Kva; end: Kva}[] = []
  for (const r of rs) {
    const last = out[out.length - 1]
    if (last && last.end === r.start) last.end = r.end
    else out.push({...r})
  }
  return out
}

function topOfRamPool(ram: readonly {start: Kva; end: Kva}[], pageSize: number): {start: Kva; end: Kva} {
  const last = ram[ram.length - 1]!
  const size = kfencePoolSize(pageSize)
  return {start: Math.max(last.start, last.end - size), end: last.end}
}
