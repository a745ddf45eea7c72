/**
 * Decide granule, VA bits and levels from what a ptdump shows (sizes from
 * arch/arm64/include/asm/pgtable-hwdef.h):
 * - every line of level L starts and ends on an entrySize[L] boundary (a line is whole entries),
 *   so the smallest boundary alignment seen per level name bounds the entry sizes;
 * - which level names occur (P4D only with 5 levels; with holes printed, every ≥4-level dump has
 *   PUD lines and every 5-level dump P4D lines, because those tables are mostly empty);
 * - the linear map starts at PAGE_OFFSET = -(1 << VA_BITS) (the walk's base address).
 * Options pin the granule or VA bits. When two configurations fit, the caller gets a PtdumpError
 * that names the flag to pass.
 */
import {type Kva, KVA_END, formatKva, formatSize, pageOffsetKva} from '../../model/address.js'
import {type Geometry, type PageSize, SUPPORTED, formatPageSize, makeGeometry, vaBitsPerGranule} from '../../model/geometry.js'
import {type PtdumpOptions, PtdumpError} from './snapshot.js'
import {LEVEL_NAMES, lvlOfName} from './tables.js'

export interface GeometryEvidence {
  /** Range lines per level code (0 PTE, 1 PMD, 2 PUD, 3 P4D, 4 PGD). */
  count: readonly number[]
  /** Largest power of two dividing every boundary of that level's lines (Infinity if none). */
  align: readonly number[]
  /** Hole lines were printed (v5.6+ generic walker). */
  holes: boolean
  /**
   * Where the linear map starts, as far as the dump tells: 'exact' = the first line after
   * "Linear Mapping start" (v5.6+ prints every entry from PAGE_OFFSET); 'at-least' = v5.4 (first
   * *mapped* entry, in [PAGE_OFFSET, PAGE_END)); 'upper-bound' = PAGE_OFFSET ≤ kva (v5.6–5.11
   * first line of a headerless excerpt); 'bug-end' = the end of the v5.6–5.11 first line:
   * PAGE_OFFSET ≤ kva, and equal unless the first PGD entry was empty.
   */
  linearStart?: {kva: Kva; mode: 'exact' | 'at-least' | 'upper-bound' | 'bug-end'}
  /** VA sizes to consider per granule (from the era), default: every supported one. */
  vaBits?: Readonly<Record<number, readonly number[]>>
}

export interface GeometryDecision {
  geo: Geometry
  reason: string
}

/** Why a candidate configuration does not fit, or undefined when it does. */
function misfit(ev: GeometryEvidence, pageSize: PageSize, vaBits: number): string | undefined {
  const levels = SUPPORTED[pageSize][vaBits]!
  const geo = makeGeometry(pageSize, vaBits)
  for (let code = 0; code < 5; code++) {
    if (!ev.count[code]) continue
    const lvl = lvlOfName(code, levels)
    if (lvl >= levels) return `${LEVEL_NAMES[code]} lines need more than ${levels} levels`
    const need = geo.entrySize[lvl]!
    if (ev.align[code]! < need) return `${LEVEL_NAMES[code]} lines on ${formatSize(ev.align[code]!)} boundaries (entries are ${formatSize(need)})`
  }
  if (ev.holes) {
    if (levels >= 4 && !ev.count[2]) return `no PUD lines for ${levels} levels`
    if (levels === 5 && !ev.count[3]) return 'no P4D lines for 5 levels'
  }
  const ls = ev.linearStart
  if (ls) {
    const po = pageOffsetKva(vaBits)
    if (ls.mode === 'exact' && ls.kva !== po) return `linear map at ${formatKva(ls.kva)}, not ${formatKva(po)}`
    if (ls.mode !== 'exact' && ls.kva < po) return `address ${formatKva(ls.kva)} below PAGE_OFFSET ${formatKva(po)}`
    if (ls.mode === 'at-least' && ls.kva >= KVA_END - 2 ** (vaBits - 1)) return `linear map start ${formatKva(ls.kva)} above PAGE_END`
  }
  return undefined
}

function label(p: PageSize, va: number): string {
  return `${formatPageSize(p)}/${va}`
}

export class GeometryUndecided extends Error {
  constructor(
    message: string,
    readonly flag: '--granule' | '--va-bits',
  ) {
    super(message)
  }
}

/**
 * Pick the configuration. Throws GeometryUndecided (message names the flag) when the evidence
 * fits several, and RangeError when the options name an unsupported configuration.
 * `misfits` receives a note when forced options contradict the dump.
 */
export function detectGeometry(
  ev: GeometryEvidence,
  opts: {pageSize?: PageSize; vaBits?: number},
  misfits: (note: string) => void,
): GeometryDecision {
  const pageSizes: PageSize[] = opts.pageSize ? [opts.pageSize] : [4096, 16384, 65536]
  const fits: {p: PageSize; va: number}[] = []
  const rejected: string[] = []
  for (const p of pageSizes) {
    const vas = (ev.vaBits?.[p] ?? Object.keys(SUPPORTED[p]).map(Number)).filter((v) => SUPPORTED[p][v] !== undefined)
    for (const va of opts.vaBits !== undefined ? [opts.vaBits] : vas) {
      if (SUPPORTED[p][va] === undefined) continue
      const why = misfit(ev, p, va)
      if (why) rejected.push(`${label(p, va)}: ${why}`)
      else fits.push({p, va})
    }
  }
  let chosen: {p: PageSize; va: number} | undefined
  if (fits.length === 1) chosen = fits[0]
  else if (fits.length > 1) {
    // v5.6–5.11 first line: PAGE_OFFSET ≤ its end; the usual case is equality.
    const ls = ev.linearStart
    const exact = ls?.mode === 'bug-end' ? fits.filter((f) => pageOffsetKva(f.va) === ls.kva) : []
    // Without hole lines (v5.4) a 64K dump also fits 4K and 16K: every boundary is 64K-aligned.
    // Take the granule whose page size the PTE lines meet exactly, when lines of another level
    // agree too; a real 4K dump always has 4K-odd boundaries (guard pages, odd-sized areas).
    const tight = fits.filter((f) => ev.align[0] === f.p)
    const otherLevels = [1, 2, 3, 4].some((c) => ev.count[c])
    if (exact.length === 1) chosen = exact[0]
    else if (new Set(fits.map((f) => f.p)).size > 1 && tight.length === 1 && otherLevels) chosen = tight[0]
    if (chosen === undefined) {
      const sizes = new Set(fits.map((f) => f.p))
      const list = fits.map((f) => label(f.p, f.va)).join(', ')
      if (sizes.size > 1) throw new GeometryUndecided(`cannot tell the page size: ${list} all fit the lines; pass --granule`, '--granule')
      throw new GeometryUndecided(`cannot tell VA_BITS: ${list} all fit the lines; pass --va-bits`, '--va-bits')
    }
  } else {
    // Nothing fits. Forced options win (with a note); otherwise say why each was rejected.
    if (opts.pageSize && opts.vaBits !== undefined) {
      misfits(`--granule ${formatPageSize(opts.pageSize)} --va-bits ${opts.vaBits} does not fit the dump: ${rejected.join('; ')}`)
      chosen = {p: opts.pageSize, va: opts.vaBits}
    } else if (rejected.length === 0 && opts.vaBits !== undefined) {
      // No granule allows this VA size at all (SUPPORTED, from arch/arm64/Kconfig).
      throw new RangeError(`${opts.vaBits} is not a valid VA_BITS${opts.pageSize ? ` with ${formatPageSize(opts.pageSize)} pages` : ''}; arm64 allows, by granule, ${vaBitsPerGranule()}`)
    } else {
      const flag = opts.pageSize ? '--va-bits' : '--granule'
      throw new GeometryUndecided(`no arm64 configuration fits the lines (${rejected.join('; ')}); pass --granule and --va-bits`, flag)
    }
  }
  const geo = makeGeometry(chosen!.p, chosen!.va)
  return {geo, reason: explain(ev, geo, opts)}
}

function explain(ev: GeometryEvidence, geo: Geometry, opts: {pageSize?: PageSize; vaBits?: number}): string {
  const parts: string[] = []
  if (opts.pageSize) parts.push(`${formatPageSize(geo.pageSize)} pages (--granule)`)
  else {
    const seen: string[] = []
    for (const code of [0, 1, 2]) {
      if (ev.count[code] && Number.isFinite(ev.align[code])) seen.push(`${LEVEL_NAMES[code]} lines on ${formatSize(ev.align[code]!)} boundaries`)
    }
    parts.push(`${seen.join(', ') || 'line boundaries'} ⇒ ${formatPageSize(geo.pageSize)} pages`)
  }
  const names = [4, 3, 2, 1, 0].filter((c) => ev.count[c]).map((c) => LEVEL_NAMES[c])
  parts.push(`${names.join('/')} lines ⇒ ${geo.levels} levels`)
  if (opts.vaBits !== undefined) parts.push(`${geo.vaBits}-bit VA (--va-bits)`)
  else if (ev.linearStart) parts.push(`linear map at ${formatKva(ev.linearStart.kva)} ⇒ ${geo.vaBits}-bit VA`)
  else parts.push(`${geo.vaBits}-bit VA (the only size that fits)`)
  return parts.join('; ')
}

/** The geometry of a dump with no usable range line: the options, else 4K/48. */
export function fallbackGeometry(opts: PtdumpOptions, file: string): {geo: Geometry; reason: string} {
  const p = opts.pageSize ?? 4096
  const va = opts.vaBits ?? 48
  try {
    return {geo: makeGeometry(p, va), reason: `no range lines; assuming ${formatPageSize(p)}/${va}`}
  } catch (e) {
    throw new PtdumpError(`${(e as Error).message} (--granule/--va-bits)`, 'geometry', file)
  }
}
