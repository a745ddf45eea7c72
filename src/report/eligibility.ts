/**
 * Block-mapping eligibility and the BBML3 forecast of one host.
 *
 * Eligibility: can this host's kernel keep the linear map block-mapped? It is what `--policy auto`
 * infers from the bundle's facts (inferPolicy(), src/kernel/infer-policy.ts: version, rodata=,
 * KFENCE, debug_pagealloc, BBML2_NOABORT on 6.18–7.1 / BBML3 on 7.2+ by the ID register or the
 * MIDR allow-list, dmesg), read through force_pte_mapping() (6.18+) or map_mem()'s older condition
 * (linearMapPteForced()). When the answer is no, the first cause in force_pte_mapping()'s own
 * order is named, and whether a 7.2+ kernel would list this CPU.
 *
 * Forecast: what a BBML3 kernel on a listed CPU would map at boot on this very dump — the
 * snapshot's linear map re-derived by map_mem() under the `bbml3` policy with the captured
 * permissions re-applied (prepare(): src/replay/rebase.ts) — and what that saves in page-table
 * bytes and TLB entries against the dump as captured.
 */
import {cpuSupportsBbm, parseCpuinfoMidrs} from '../kernel/cpufeature.js'
import {forcePteMapping, hasLeafSplit, linearMapPteForced} from '../kernel/context.js'
import {type PolicyFacts, inferPolicy} from '../kernel/infer-policy.js'
import {makePolicy} from '../kernel/policy.js'
import {LATEST_KERNEL, formatVersion, versionHas} from '../kernel/version.js'
import type {PtdumpSnapshot} from '../ingest/ptdump/index.js'
import {linearShape} from '../replay/rebase.js'
import {prepare} from '../replay/run.js'
import {type AuditReport, audit} from './audit.js'

export type EligibilityStatus = 'eligible' | 'blocked:kernel' | 'blocked:cpu' | 'blocked:debug_pagealloc' | 'blocked:kfence' | 'blocked:realm' | 'unknown'

export interface BbmlForecast {
  /** The policy forecast: a BBML3 kernel on a CPU of its allow-list. */
  policy: 'bbml3'
  /** Page-table bytes and TLB entries of the linear map and of the whole space at boot under it. */
  linearTableBytes: number
  linearTlbEntries: number
  tableBytes: number
  tlbEntries: number
  /** Against the dump as captured (positive: saved). */
  savedTableBytes: number
  savedTlbEntries: number
  savedLinearTableBytes: number
}

export interface Eligibility {
  status: EligibilityStatus
  /** True when the kernel keeps the linear map block-mapped with rodata_full (or rodata_full is off). */
  eligible: boolean
  /** The policy the facts imply (pte-only, noalias, bbml2, bbml2-repaint, bbml3). */
  policy: string
  /** How the linear map stays block-mapped, when it does: "BBML3", "BBML2_NOABORT", "rodata_full off". */
  mechanism?: string
  /** One line: why. */
  reason: string
  /** Whether 7.2+'s BBML3 allow-list (or ID register) covers every CPU of the host; undefined without cpuinfo. */
  cpuListedForBbml3?: boolean
  /** What the dump shows: is the linear map PTE-only outside the kernel alias? */
  observedPteOnly?: boolean
  /** inferPolicy()'s reasoning, one line per decision. */
  reasons: string[]
  forecast?: BbmlForecast
}

function linearOf(r: AuditReport): {tableBytes: number; tlbEntries: number} {
  const l = r.regions.find((x) => x.name === 'linear')
  return {tableBytes: l?.tableBytes ?? 0, tlbEntries: l?.tlbEntries ?? 0}
}

/** Eligibility from the facts (and the dump's shape, as an observation beside it). */
export function eligibility(facts: PolicyFacts, snapshot?: PtdumpSnapshot): Eligibility {
  const inferred = inferPolicy({...facts, linearMapPteOnly: undefined})
  const cfg = inferred.policy.cfg
  const v = cfg.version
  const modern = hasLeafSplit(cfg)
  const pteForced = modern ? forcePteMapping(cfg) : linearMapPteForced(cfg)
  const midrs = facts.cpuinfo ? parseCpuinfoMidrs(facts.cpuinfo) : []
  const idReg = facts.idAa64mmfr2 !== undefined && /^\s*(0x)?[0-9a-f]+\s*$/i.test(facts.idAa64mmfr2) ? BigInt('0x' + facts.idAa64mmfr2.trim().replace(/^0x/i, '')) : undefined
  const listed = midrs.length ? midrs.every((m, i) => cpuSupportsBbm(LATEST_KERNEL, m, i === 0 ? idReg : undefined) !== undefined) : undefined
  const lin = snapshot?.regions.find((r) => r.name === 'linear')
  const observedPteOnly = lin && snapshot ? linearShape(snapshot.pt, lin.start, lin.end).pteOnly : undefined
  const out: Eligibility = {status: 'unknown', eligible: !pteForced, policy: inferred.policy.name, reason: '', reasons: inferred.reasons, ...(listed !== undefined ? {cpuListedForBbml3: listed} : {}), ...(observedPteOnly !== undefined ? {observedPteOnly} : {})}
  const kernel = `kernel ${formatVersion(v)}`
  const list7 = listed === undefined ? 'CPU unknown (no cpuinfo)' : listed ? `the CPU is on ${formatVersion(LATEST_KERNEL)}'s BBML3 list` : `the CPU is not on ${formatVersion(LATEST_KERNEL)}'s BBML3 list either`
  if (!facts.version) {
    out.status = 'unknown'
    out.reason = 'no kernel version in the bundle (version.txt / uname.txt): eligibility cannot be decided'
  } else if (!pteForced) {
    out.status = 'eligible'
    out.mechanism = cfg.rodataFull ? (versionHas(v, 'bbml3') ? 'BBML3' : 'BBML2_NOABORT') : 'rodata_full off'
    out.reason = cfg.rodataFull
      ? `${kernel} with ${out.mechanism} on every CPU: the linear map stays block-mapped under rodata_full and is split on demand`
      : `${kernel} with rodata_full off (rodata=${versionHas(v, 'rodataNoalias') ? 'noalias' : 'on'}): block-mapped, set_memory_* leave the linear alias alone`
  } else if (cfg.debugPagealloc) {
    out.status = 'blocked:debug_pagealloc'
    out.reason = `debug_pagealloc is on: force_pte_mapping() maps the linear map with PTEs whatever the CPU`
  } else if (!modern && cfg.rodataFull) {
    out.status = 'blocked:kernel'
    out.reason = `${kernel} with rodata_full: no BBML2/BBML3 use before 6.18, the linear map is PTE-only; ${list7}`
  } else if (!modern) {
    out.status = 'blocked:kfence'
    out.reason = `${kernel}: KFENCE forces a page-level linear map (map_mem() before 6.18)`
  } else if (!cfg.bbml2 && cfg.rodataFull) {
    out.status = 'blocked:cpu'
    out.reason = `${kernel} with rodata_full, but not every CPU has ${versionHas(v, 'bbml3') ? 'BBML3 (ID register or allow-list)' : 'BBML2_NOABORT (allow-list)'}: PTE-only linear map; ${list7}`
  } else if (cfg.realm) {
    out.status = 'blocked:realm'
    out.reason = `${kernel} in a realm: can_set_direct_map() forces PTEs`
  } else {
    out.status = 'blocked:kfence'
    out.reason = `${kernel}: KFENCE initialised late forces PTEs (arm64_kfence_can_set_direct_map())`
  }
  return out
}

/** The BBML3 forecast on this dump (the snapshot is not modified). */
export function bbml3Forecast(snapshot: PtdumpSnapshot, current: AuditReport, facts: PolicyFacts): BbmlForecast | undefined {
  if (!snapshot.regions.some((r) => r.name === 'linear')) return undefined
  const cfg = inferPolicy(facts).policy.cfg
  // A BBML3 kernel (7.3) on a listed CPU, the host's own KFENCE and debug_pagealloc settings kept.
  const policy = makePolicy('bbml3', {kfence: cfg.kfence, debugPagealloc: cfg.debugPagealloc})
  const {ctx} = prepare(snapshot, policy)
  const after = audit(ctx.pt, snapshot.regions)
  const a = linearOf(after)
  const c = linearOf(current)
  return {
    policy: 'bbml3',
    linearTableBytes: a.tableBytes,
    linearTlbEntries: a.tlbEntries,
    tableBytes: after.total.tableBytes,
    tlbEntries: after.total.tlbEntries,
    savedTableBytes: current.total.tableBytes - after.total.tableBytes,
    savedTlbEntries: current.total.tlbEntries - after.total.tlbEntries,
    savedLinearTableBytes: c.tableBytes - a.tableBytes,
  }
}

/** Eligibility with the forecast. */
export function eligibilityWithForecast(facts: PolicyFacts, snapshot: PtdumpSnapshot, current: AuditReport): Eligibility {
  const e = eligibility(facts, snapshot)
  const f = bbml3Forecast(snapshot, current, facts)
  if (f) e.forecast = f
  return e
}
