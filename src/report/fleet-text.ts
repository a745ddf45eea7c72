/**
 * The human summary of a fleet run (renderer only; the numbers come from src/fleet/summary.ts).
 */
import type {FleetSummary} from '../fleet/summary.js'
import {wrapText} from './output-style.js'
import {fmtBytes, fmtInt, renderTable} from './table.js'

export function renderFleetText(s: FleetSummary, meta: {jobs: number; mode: string; ndjson?: string; prom?: string}): string[] {
  const out: string[] = []
  out.push(`${fmtInt(s.hosts)} hosts audited, ${fmtInt(s.errors)} failed (${meta.jobs} ${meta.mode === 'threads' ? 'worker threads' : 'in-thread jobs'})`)
  if (s.hosts) {
    out.push('')
    out.push(
      ...renderTable(
        [{header: '', align: 'left'}, {header: 'p50'}, {header: 'p90'}, {header: 'max'}, {header: 'sum'}],
        [
          ['page-table bytes', fmtBytes(s.tableBytes.p50), fmtBytes(s.tableBytes.p90), fmtBytes(s.tableBytes.max), fmtBytes(s.tableBytes.sum)],
          ['TLB entries', fmtInt(s.tlbEntries.p50), fmtInt(s.tlbEntries.p90), fmtInt(s.tlbEntries.max), fmtInt(s.tlbEntries.sum)],
        ],
      ),
    )
    out.push(`linear-map page tables, all hosts: ${fmtBytes(s.linearTableBytes)}`)
    out.push('')
    out.push(...wrapText(`hosts by eligibility (block-mapped linear map): ${Object.entries(s.byEligibility).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${fmtInt(v)}`).join(', ')}`))
    out.push(...wrapText(`forecast, a BBML3 kernel on listed CPUs at boot: ${fmtBytes(s.forecastSavedTableBytes)} of page tables and ${fmtInt(s.forecastSavedTlbEntries)} TLB entries saved over the fleet`))
    if (s.worst.length) {
      out.push('')
      out.push(`worst hosts (page-table bytes):`)
      out.push(
        ...renderTable(
          [{header: 'host', align: 'left'}, {header: 'kernel', align: 'left'}, {header: 'cpu (MIDR)', align: 'left'}, {header: 'table bytes'}, {header: 'linear map'}, {header: 'TLB entries'}, {header: 'eligibility', align: 'left'}],
          s.worst.map((w) => [w.host, w.kernel ?? '?', w.cpu ?? '?', fmtBytes(w.tableBytes), fmtBytes(w.linearTableBytes), fmtInt(w.tlbEntries), w.eligibility ?? '?']),
        ),
      )
    }
  }
  if (meta.ndjson) out.push('', `NDJSON: ${meta.ndjson}`)
  if (meta.prom) out.push(`Prometheus textfile: ${meta.prom}`)
  return out
}
