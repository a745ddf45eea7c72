/**
 * One host of a fleet: its ptdump audited with the same audit as `ptreplay audit`
 * (src/report/audit.ts over src/ingest/ptdump), its identity read from the bundle, and — when the
 * bundle carries a trace and the snapshot taken before it — the kernel's split counters from a
 * replay under the inferred policy. The result is one flat, JSON-ready record (the NDJSON schema
 * in README "Fleets and Perfetto").
 */
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {bundleTrace} from '../capture/bundle.js'
import {readPtdump} from '../ingest/ptdump/index.js'
import {InputError} from '../ingest/source.js'
import {LEAF_KINDS, type PageSize, makeGeometry} from '../model/geometry.js'
import {type Midr, parseCpuinfoMidrs} from '../kernel/cpufeature.js'
import type {PolicyFacts} from '../kernel/infer-policy.js'
import {type AuditReport, audit, directMapLabel} from '../report/audit.js'
import {type Eligibility, eligibilityWithForecast} from '../report/eligibility.js'
import {loadFacts} from '../capture/facts.js'
import {choosePolicy, runReplay} from '../replay/run.js'
import type {HostInput} from './inputs.js'

export const FLEET_SCHEMA = 1

export interface HostIdentity {
  /** Node name from `uname -a` (second field), when the bundle has uname.txt. */
  hostname?: string
  uname?: string
  /** Kernel release, e.g. "6.12.117+deb12-arm64" (from version.txt / uname.txt). */
  kernel?: string
  /** /proc/version, first line. */
  version?: string
  cmdline?: string
  /** Distinct MIDR_EL1 values of the CPUs (from /proc/cpuinfo), with how many CPUs have each. */
  midrs: {midr: string; cpus: number}[]
  /** MIDR_EL1 of CPU 0 (the boot CPU), e.g. "0x413fd0c1". */
  cpu?: string
}

export interface RegionTotals {
  mappedBytes: number
  invalidBytes: number
  /** Valid mapped bytes per leaf size, named as DirectMap sizes ("4k", "64k", "2M", "32M", "1G" on 4K). */
  leafBytes: Record<string, number>
  tableBytes: number
  tlbEntries: number
  runs: number
  /** The same memory PTE-only (rodata=full without BBML2) and ideally mapped. */
  pteOnlyTableBytes: number
  pteOnlyTlbEntries: number
  idealTableBytes: number
  idealTlbEntries: number
}

export interface HostSplits {
  /** The trace replayed (from the bundle's snapshot taken before it). */
  trace: string
  from: string
  policy: string
  /** The model's counters, under the kernel's names (split_pmd, split_contpte, collapse_pmd, …). */
  counters: Record<string, number>
  /** Hits of the kernel's own split helpers recorded in the trace (ground truth), by function. */
  truth: Record<string, number>
  callsApplied: number
}

export interface HostRecord {
  schema: number
  /** hostname, else the bundle directory, else the dump path. */
  host: string
  dump: string
  bundle?: string
  identity: HostIdentity
  /** e.g. "4K/48 (4 levels)" */
  geometry: string
  pageSize: number
  vaBits: number
  /** Whole address space: every table counted once. */
  mappedBytes: number
  tableBytes: number
  tlbEntries: number
  /** Linear-map leaf bytes by the size one leaf maps ("4k", "64k", "2M", "32M", "1G" on 4K; own sizes on 16K/64K). */
  directMap: Record<string, number>
  regions: Record<string, RegionTotals>
  diagnostics: number
  splits?: HostSplits
  /** Can this kernel keep the linear map block-mapped, and the BBML3 forecast (src/report/eligibility.ts; inferPolicy()'s reasoning left out). */
  eligibility?: Omit<Eligibility, 'reasons'>
}

/** A host whose audit failed: reported, counted, and written as its own NDJSON line. */
export interface HostError {
  schema: number
  host: string
  dump: string
  bundle?: string
  error: string
}

export interface HostAuditOptions {
  pageSize?: PageSize
  vaBits?: number
  strict?: boolean
  /** Replay the bundle's trace for split counters (default true). */
  replay?: boolean
  /** Eligibility and the BBML3 forecast (default true). */
  eligibility?: boolean
}

function firstLine(s: string | undefined): string | undefined {
  const l = s?.split('\n')[0]?.trim()
  return l ? l : undefined
}

function readIf(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

/** MIDR_EL1 as the register reads: implementer[31:24] variant[23:20] architecture[19:16]=0xf part[15:4] revision[3:0]. */
export function midrValue(m: Midr): number {
  return ((m.implementer << 24) | (m.variant << 20) | (0xf << 16) | (m.part << 4) | m.revision) >>> 0
}

export function midrHex(m: Midr): string {
  return '0x' + midrValue(m).toString(16).padStart(8, '0')
}

/** Identity from the facts beside the dump (and uname.txt in the bundle). */
export function hostIdentity(facts: PolicyFacts, bundle: string | undefined): HostIdentity {
  const id: HostIdentity = {midrs: []}
  const uname = bundle ? firstLine(readIf(join(bundle, 'uname.txt'))) : undefined
  if (uname) {
    id.uname = uname
    const f = uname.split(/\s+/)
    if (f[1]) id.hostname = f[1]
    if (f[2]) id.kernel = f[2]
  }
  const version = firstLine(facts.version)
  if (version?.startsWith('Linux version ')) {
    id.version = version
    id.kernel = /^Linux version (\S+)/.exec(version)![1]
  }
  const cmdline = firstLine(facts.cmdline)
  if (cmdline !== undefined) id.cmdline = cmdline
  if (facts.cpuinfo) {
    const midrs = parseCpuinfoMidrs(facts.cpuinfo)
    const counts = new Map<string, number>()
    for (const m of midrs) counts.set(midrHex(m), (counts.get(midrHex(m)) ?? 0) + 1)
    id.midrs = [...counts].map(([midr, cpus]) => ({midr, cpus}))
    if (midrs[0]) id.cpu = midrHex(midrs[0])
  }
  return id
}

/** "DirectMap64k" → "64k" (labels from the audit, per granule). */
function directMapKey(label: string): string {
  return label.replace(/^DirectMap/, '')
}

/** The record's numbers from an audit (shared with `audit --prom`). */
export function auditFigures(report: AuditReport): Pick<HostRecord, 'geometry' | 'pageSize' | 'vaBits' | 'mappedBytes' | 'tableBytes' | 'tlbEntries' | 'directMap' | 'regions'> {
  const g = report.geometry
  const geo = makeGeometry(g.pageSize as PageSize, g.vaBits, g.levels)
  const kinds = LEAF_KINDS.filter((k) => k !== 'PUD' || geo.pudBlocks).reverse()
  const regions: Record<string, RegionTotals> = {}
  for (const r of report.regions) {
    const leafBytes: Record<string, number> = {}
    for (const k of kinds) leafBytes[directMapKey(directMapLabel(geo, k))] = r.mappedBytes[k]
    regions[r.name] = {
      mappedBytes: r.totalMappedBytes,
      invalidBytes: r.invalidBytes,
      leafBytes,
      tableBytes: r.tableBytes,
      tlbEntries: r.tlbEntries,
      runs: r.runs,
      pteOnlyTableBytes: r.pteOnly.tableBytes,
      pteOnlyTlbEntries: r.pteOnly.tlbEntries,
      idealTableBytes: r.ideal.tableBytes,
      idealTlbEntries: r.ideal.tlbEntries,
    }
  }
  const directMap: Record<string, number> = {}
  for (const d of report.directMap) directMap[directMapKey(d.label)] = d.bytes
  return {
    geometry: report.geometry.label,
    pageSize: report.geometry.pageSize,
    vaBits: report.geometry.vaBits,
    mappedBytes: report.total.totalMappedBytes,
    tableBytes: report.total.tableBytes,
    tlbEntries: report.total.tlbEntries,
    directMap,
    regions,
  }
}

function hostName(input: HostInput, id: HostIdentity): string {
  return id.hostname && id.hostname !== '(none)' ? id.hostname : (input.bundle ?? input.dump)
}

/** The bundle's snapshot taken before its trace, when it has both. */
function replayPair(bundle: string): {before: string; trace: string} | undefined {
  const trace = bundleTrace(bundle)
  if (!trace) return undefined
  for (const s of ['', '.gz', '.zst', '.xz']) {
    const before = join(bundle, 'kernel_page_tables.before' + s)
    if (existsSync(before)) return {before, trace: trace.path}
  }
  return undefined
}

/** Audit one host. Throws InputError (one line, file:line) on a bad dump. */
export async function auditHost(input: HostInput, opts: HostAuditOptions = {}): Promise<HostRecord> {
  const snap = await readPtdump(input.dump, {pageSize: opts.pageSize, vaBits: opts.vaBits, strict: opts.strict})
  if (snap.rangeLines === 0) {
    const d = snap.diagnostics[0]
    throw new InputError(`${snap.source}: not a ptdump (no range lines)${d ? `; ${d.src.file}:${d.src.line}: ${d.message}` : ''}`, snap.source)
  }
  const report = audit(snap.pt, snap.regions)
  const {facts} = loadFacts(input.dump)
  const identity = hostIdentity(facts, input.bundle)
  const rec: HostRecord = {
    schema: FLEET_SCHEMA,
    host: hostName(input, identity),
    dump: input.dump,
    ...(input.bundle ? {bundle: input.bundle} : {}),
    identity,
    ...auditFigures(report),
    diagnostics: Object.values(snap.diagnosticCounts).reduce((a, b) => a + b, 0),
  }
  if (opts.eligibility !== false) {
    const {reasons: _reasons, ...e} = eligibilityWithForecast(facts, snap, report)
    rec.eligibility = e
  }
  if (input.bundle && opts.replay !== false) {
    const pair = replayPair(input.bundle)
    if (pair) {
      const before = pair.before === input.dump ? snap : await readPtdump(pair.before, {pageSize: opts.pageSize, vaBits: opts.vaBits})
      const choice = choosePolicy('auto', {}, before, loadFacts(pair.before).facts)
      const run = await runReplay(before, [pair.trace], choice, {maxSamples: 2})
      rec.splits = {trace: pair.trace, from: pair.before, policy: choice.policy.name, counters: run.stats.counters, truth: run.stats.truth, callsApplied: run.stats.callsApplied}
    }
  }
  return rec
}

/**
 * One line for a host that failed: bad input as its reader said it (file:line), an unreadable
 * file by its path and errno, anything else marked as an internal error.
 */
export function describeHostError(e: unknown): string {
  const err = e as NodeJS.ErrnoException
  if (e instanceof InputError || ['PtdumpError', 'TraceError', 'ModelError', 'InputError'].includes(err?.name)) return err.message.split('\n')[0]!
  if (err?.code && err.path) return `${err.path}: cannot read (${err.code})`
  return `internal error: ${err?.message?.split('\n')[0] ?? String(e)}`
}
