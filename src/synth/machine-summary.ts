/** `synth machine --json`: what the synthesized machine holds (RAM, table pages per level, the ROX cache). */
import {formatVersion} from '../kernel/version.js'
import {formatKva, formatSize} from '../model/address.js'
import {countTablePages} from '../model/table-counter.js'
import type {SynthMachine} from './machine.js'

export type TablePagesByLevel = Partial<Record<'PTE' | 'PMD' | 'PUD' | 'P4D', number>>

const LEVEL_KEYS = ['PTE', 'PMD', 'PUD', 'P4D'] as const

export function tablePagesByLevel(counts: readonly number[]): TablePagesByLevel {
  const out: TablePagesByLevel = {}
  counts.forEach((n, i) => {
    out[LEVEL_KEYS[i]!] = n
  })
  return out
}

export interface MachineSummary {
  geometry: string
  kernel: string
  policy: string
  /** Bytes of RAM in the linear map (banks minus NOMAP). */
  ramBytes: number
  banks: string[]
  nomap: string[]
  memstartAddr: string
  /** Whole kernel page tables below swapper_pg_dir. */
  tablePages: TablePagesByLevel
  tableBytes: number
  /** The linear map alone. */
  linear: {tablePages: TablePagesByLevel; tableBytes: number; runs: number}
  runs: number
  /** The execmem ROX cache (--rox-cache): each huge page's vmalloc address, linear alias and PA. */
  roxCache?: {hugePages: number; pmdBytes: number; bytes: number; pages: {va: string; alias: string; phys: string}[]}
}

const hex = (n: number) => '0x' + n.toString(16)

export function summarizeMachine(m: SynthMachine): MachineSummary {
  const all = m.pt.recountTables()
  const linRegion = m.regions.find((r) => r.name === 'linear')!
  const lin = countTablePages(m.geo, m.pt.runs(linRegion.start, linRegion.end))
  const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0)
  let linRuns = 0
  for (const _ of m.pt.runs(linRegion.start, linRegion.end)) linRuns++
  return {
    geometry: m.geo.label,
    kernel: formatVersion(m.kernel),
    policy: m.policy.name,
    ramBytes: m.ram.reduce((a, r) => a + (r.end - r.start), 0),
    banks: m.banks.map((b) => `${hex(b.start)}-${hex(b.end)} (${formatSize(b.end - b.start)})`),
    nomap: m.nomap.map((b) => `${hex(b.start)}-${hex(b.end)} (${formatSize(b.end - b.start)})`),
    memstartAddr: hex(m.memstartAddr),
    tablePages: tablePagesByLevel(all),
    tableBytes: sum(all) * m.geo.pageSize,
    linear: {tablePages: tablePagesByLevel(lin), tableBytes: sum(lin) * m.geo.pageSize, runs: linRuns},
    runs: m.pt.runCount,
    ...(m.roxCache
      ? {
          roxCache: {
            hugePages: m.roxCache.pages.length,
            pmdBytes: m.roxCache.pmdBytes,
            bytes: m.roxCache.pages.length * m.roxCache.pmdBytes,
            pages: m.roxCache.pages.map((p) => ({va: formatKva(p.va), alias: formatKva(p.alias), phys: hex(p.phys)})),
          },
        }
      : {}),
  }
}
