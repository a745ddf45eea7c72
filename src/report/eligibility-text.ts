/**
 * Eligibility and the BBML3 forecast for people: a few text lines (audit) and metadata rows
 * (HTML). Renderers only; the figures come from ./eligibility.ts.
 */
import type {Eligibility} from './eligibility.js'
import {wrapText} from './output-style.js'
import {fmtBytes, fmtInt} from './table.js'

function forecastLine(e: Eligibility): string | undefined {
  const f = e.forecast
  if (!f) return undefined
  const saved = f.savedTableBytes > 0 || f.savedTlbEntries > 0
  return saved
    ? `BBML3 forecast (a 7.3 kernel on a listed CPU, map_mem() on this dump): linear map ${fmtBytes(f.linearTableBytes)} of page tables, ${fmtInt(f.linearTlbEntries)} TLB entries; saves ${fmtBytes(f.savedTableBytes)} and ${fmtInt(f.savedTlbEntries)} TLB entries`
    : `BBML3 forecast (a 7.3 kernel on a listed CPU, map_mem() on this dump): nothing to save (${fmtBytes(f.tableBytes)} of page tables, ${fmtInt(f.tlbEntries)} TLB entries, as now or more)`
}

/** Text lines, wrapped to the output width (ASCII when piped: src/report/output-style.ts). */
export function renderEligibilityText(e: Eligibility): string[] {
  const out = wrapText(`Block-mapped linear map: ${e.eligible ? 'yes' : 'no'} (${e.status}, policy ${e.policy}): ${e.reason}`)
  if (e.observedPteOnly !== undefined && e.status !== 'unknown' && e.observedPteOnly === e.eligible) {
    out.push(...wrapText(`  note: the dump's linear map is ${e.observedPteOnly ? 'PTE-only' : 'block-mapped'}, not what these facts predict (patched allow-list, other cmdline, or not the kernel that made it)`, '    '))
  }
  const f = forecastLine(e)
  if (f) out.push(...wrapText(f))
  return out
}

export function eligibilityMeta(e: Eligibility): Record<string, string> {
  const meta: Record<string, string> = {'block-mapped linear map': `${e.eligible ? 'yes' : 'no'} (${e.status}): ${e.reason}`}
  const f = forecastLine(e)
  if (f) meta['BBML3 forecast'] = f
  return meta
}
