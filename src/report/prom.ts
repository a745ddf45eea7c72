/**
 * Prometheus text exposition format (version 0.0.4) for node_exporter's textfile collector:
 * one file per host written by `audit --prom`, or one per fleet (`fleet --prom`, every series with
 * a `host` label). Each family is written once with its HELP and TYPE and all its samples together,
 * as the format requires; the fleet writer keeps each family's samples in its own temporary file
 * until the end, so memory stays bounded whatever the number of hosts. The file appears only
 * complete: written to a temporary file in the same directory and renamed into place.
 *
 * Names follow node_exporter's conventions: base units (bytes), `_total` for counters, labels
 * for dimensions (region, leaf size, kernel function).
 */
import {closeSync, createReadStream, mkdtempSync, openSync, rmSync, writeSync} from 'node:fs'
import {dirname, join} from 'node:path'

import type {HostRecord} from '../fleet/host.js'
import {AtomicWriter, onAbnormalExit, writeFileAtomic} from './atomic-file.js'

export type PromType = 'gauge' | 'counter'

export interface PromFamily {
  name: string
  type: PromType
  help: string
}

/** Every family ptreplay writes, in file order (README "Fleets and Perfetto" lists them). */
export const PROM_FAMILIES = {
  info: {name: 'ptreplay_info', type: 'gauge', help: 'Identity of the audited kernel (value 1): kernel release, boot CPU MIDR_EL1, page-table geometry.'},
  mapped: {name: 'ptreplay_mapped_bytes', type: 'gauge', help: 'Bytes mapped by valid leaf entries, per region.'},
  directmap: {
    name: 'ptreplay_directmap_bytes',
    type: 'gauge',
    help: 'Bytes mapped by valid leaves of each size, per region (DirectMap4k/64k/2M/32M/1G on a 4K granule; 16K and 64K granules name their own sizes).',
  },
  tables: {name: 'ptreplay_page_table_bytes', type: 'gauge', help: 'Kernel page-table pages in bytes, per region (region="all" counts each table once).'},
  tablesPteOnly: {name: 'ptreplay_page_table_pte_only_bytes', type: 'gauge', help: 'Page-table bytes the same memory would take mapped by 4K-granule PTEs only (rodata=full without BBML2).'},
  tablesIdeal: {name: 'ptreplay_page_table_ideal_bytes', type: 'gauge', help: 'Page-table bytes the same memory would take with the fewest leaves its attribute boundaries allow.'},
  tlb: {name: 'ptreplay_tlb_entries', type: 'gauge', help: 'TLB entries needed to map every valid leaf once (one per block, per contiguous group, per page), per region.'},
  splits: {name: 'ptreplay_split_total', type: 'counter', help: "Splits of kernel leaf mappings predicted by replaying the host's trace, by kernel function."},
  collapses: {name: 'ptreplay_collapse_total', type: 'counter', help: "Collapses of kernel leaf mappings predicted by replaying the host's trace, by kernel function."},
  eligible: {
    name: 'ptreplay_block_mapping_eligible',
    type: 'gauge',
    help: "1 if this host's kernel keeps the linear map block-mapped (BBML2_NOABORT or BBML3, rodata, KFENCE, debug_pagealloc, realm), else 0.",
  },
  savedBytes: {name: 'ptreplay_forecast_page_table_saved_bytes', type: 'gauge', help: 'Page-table bytes a BBML3 kernel on a listed CPU would save on this host at boot (map_mem() rebase of this dump).'},
  savedTlb: {name: 'ptreplay_forecast_tlb_entries_saved', type: 'gauge', help: 'TLB entries a BBML3 kernel on a listed CPU would save on this host at boot (map_mem() rebase of this dump).'},
  hosts: {name: 'ptreplay_fleet_hosts', type: 'gauge', help: 'Hosts audited in this fleet run.'},
  hostErrors: {name: 'ptreplay_fleet_host_errors', type: 'gauge', help: 'Hosts whose audit failed in this fleet run.'},
} as const satisfies Record<string, PromFamily>

type FamilyKey = keyof typeof PROM_FAMILIES

export interface PromSample {
  family: FamilyKey
  labels: Record<string, string>
  value: number
}

/** A label value escaped as the format asks: backslash, double quote and line feed. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

/** HELP text escaped: backslash and line feed. */
function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
}

function sampleLine(s: PromSample): string {
  const labels = Object.entries(s.labels)
    .map(([k, v]) => `${k}="${escapeLabelValue(v)}"`)
    .join(',')
  const value = Number.isFinite(s.value) ? String(s.value) : s.value > 0 ? '+Inf' : s.value < 0 ? '-Inf' : 'NaN'
  return `${PROM_FAMILIES[s.family].name}${labels ? `{${labels}}` : ''} ${value}\n`
}

function familyHeader(f: PromFamily): string {
  return `# HELP ${f.name} ${escapeHelp(f.help)}\n# TYPE ${f.name} ${f.type}\n`
}

/** Split and collapse counter names the model keeps (src/kernel: split_* / collapse_*). */
const SPLIT_FNS = /^split_(pud|pmd|contpmd|contpte)$/
const COLLAPSE_FNS = /^collapse_(pmd|pud)$/

/** Optional per-host parts the eligibility step adds to a record. */
export interface PromEligibility {
  eligible: boolean
  savedTableBytes?: number
  savedTlbEntries?: number
}

/** The Prometheus part of a host's eligibility (report/eligibility.ts): the verdict and the forecast's savings. */
export function promEligibility(e: {eligible: boolean; forecast?: {savedTableBytes?: number; savedTlbEntries?: number}} | undefined): PromEligibility | undefined {
  return e ? {eligible: e.eligible, savedTableBytes: e.forecast?.savedTableBytes, savedTlbEntries: e.forecast?.savedTlbEntries} : undefined
}

/** The samples of one host (host label added by the fleet writer). */
export function hostSamples(r: Pick<HostRecord, 'identity' | 'geometry' | 'regions' | 'tableBytes' | 'tlbEntries' | 'mappedBytes' | 'splits'>, elig?: PromEligibility, host?: string): PromSample[] {
  const base: Record<string, string> = host !== undefined ? {host} : {}
  const out: PromSample[] = []
  out.push({family: 'info', labels: {...base, kernel: r.identity.kernel ?? '', cpu: r.identity.cpu ?? '', geometry: r.geometry}, value: 1})
  out.push({family: 'mapped', labels: {...base, region: 'all'}, value: r.mappedBytes})
  out.push({family: 'tables', labels: {...base, region: 'all'}, value: r.tableBytes})
  out.push({family: 'tlb', labels: {...base, region: 'all'}, value: r.tlbEntries})
  for (const [region, t] of Object.entries(r.regions)) {
    const l = {...base, region}
    out.push({family: 'mapped', labels: l, value: t.mappedBytes})
    for (const [leaf, bytes] of Object.entries(t.leafBytes)) out.push({family: 'directmap', labels: {...base, leaf, region}, value: bytes})
    out.push({family: 'tables', labels: l, value: t.tableBytes})
    out.push({family: 'tablesPteOnly', labels: l, value: t.pteOnlyTableBytes})
    out.push({family: 'tablesIdeal', labels: l, value: t.idealTableBytes})
    out.push({family: 'tlb', labels: l, value: t.tlbEntries})
  }
  if (r.splits) {
    for (const [fn, n] of Object.entries(r.splits.counters)) {
      if (SPLIT_FNS.test(fn)) out.push({family: 'splits', labels: {...base, fn}, value: n})
      else if (COLLAPSE_FNS.test(fn)) out.push({family: 'collapses', labels: {...base, fn}, value: n})
    }
  }
  if (elig) {
    out.push({family: 'eligible', labels: base, value: elig.eligible ? 1 : 0})
    if (elig.savedTableBytes !== undefined) out.push({family: 'savedBytes', labels: base, value: elig.savedTableBytes})
    if (elig.savedTlbEntries !== undefined) out.push({family: 'savedTlb', labels: base, value: elig.savedTlbEntries})
  }
  return out
}

/** Render samples grouped by family, in PROM_FAMILIES order, each family once. */
export function renderProm(samples: readonly PromSample[]): string {
  const by = new Map<FamilyKey, string[]>()
  for (const s of samples) {
    let l = by.get(s.family)
    if (!l) by.set(s.family, (l = []))
    l.push(sampleLine(s))
  }
  let out = ''
  for (const key of Object.keys(PROM_FAMILIES) as FamilyKey[]) {
    const lines = by.get(key)
    if (lines) out += familyHeader(PROM_FAMILIES[key]) + lines.join('')
  }
  return out
}

/** Write a textfile atomically (temp file in the same directory + rename). */
export async function writePromFile(path: string, text: string): Promise<void> {
  writeFileAtomic(path, text)
}

/**
 * A fleet's textfile, host by host: each family's samples go to their own temporary file
 * (buffered), and commit() writes the families in order, each with one HELP/TYPE, into the
 * target through a temp file + rename.
 */
export class PromFleetWriter {
  private readonly dir: string
  private readonly fds = new Map<FamilyKey, number>()
  private readonly bufs = new Map<FamilyKey, string>()

  private readonly release: () => void

  constructor(readonly path: string) {
    // SIGINT/SIGTERM during the fleet run: the family files go too (handlers before the directory)
    this.release = onAbnormalExit(() => this.abort())
    this.dir = mkdtempSync(join(dirname(path), '.ptreplay-prom-'))
  }

  add(samples: readonly PromSample[]): void {
    for (const s of samples) {
      const b = (this.bufs.get(s.family) ?? '') + sampleLine(s)
      if (b.length >= 1 << 16) {
        this.flush(s.family, b)
        this.bufs.set(s.family, '')
      } else this.bufs.set(s.family, b)
    }
  }

  private flush(key: FamilyKey, text: string): void {
    let fd = this.fds.get(key)
    if (fd === undefined) this.fds.set(key, (fd = openSync(join(this.dir, key), 'w')))
    writeSync(fd, text)
  }

  async commit(): Promise<void> {
    const w = new AtomicWriter(this.path)
    try {
      for (const [k, b] of this.bufs) if (b) this.flush(k, b)
      this.bufs.clear()
      for (const fd of this.fds.values()) closeSync(fd)
      for (const key of Object.keys(PROM_FAMILIES) as FamilyKey[]) {
        if (!this.fds.has(key)) continue
        await w.write(familyHeader(PROM_FAMILIES[key]))
        for await (const chunk of createReadStream(join(this.dir, key), {encoding: 'utf8', highWaterMark: 1 << 20})) await w.write(chunk as string)
      }
      this.fds.clear()
      await w.commit()
    } catch (e) {
      w.abort()
      throw e
    } finally {
      this.abort()
    }
  }

  /** Remove the temporary family files (the target is left as it was). */
  abort(): void {
    for (const fd of this.fds.values()) {
      try {
        closeSync(fd)
      } catch {
        // already closed
      }
    }
    this.fds.clear()
    if (this.dir) rmSync(this.dir, {recursive: true, force: true})
    this.release()
  }
}
