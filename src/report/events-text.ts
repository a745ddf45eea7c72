/**
 * `ptreplay events` as text: one line per input, the span, tables per kind, probe, comm and CPU,
 * the markers, losses and the first unrecognized lines.
 */
import type {EventsSummary} from './events-summary.js'
import {renderMarkers} from './markers.js'
import {fmtBytes, renderTable} from './table.js'

const n = (x: number) => x.toLocaleString('en-US')

function secondsOf(ns: string): string {
  const b = BigInt(ns)
  return `${b / 1_000_000_000n}.${(b % 1_000_000_000n).toString().padStart(9, '0')}`
}

/** The human summary (stdout). */
export function renderEventsText(r: EventsSummary): string[] {
  const out: string[] = []
  for (const i of r.inputs) out.push(`${i.path}: ${i.format}, ${n(i.lines)} lines, ${fmtBytes(i.bytes)}`)
  const span =
    r.span.firstNs !== undefined && r.span.lastNs !== undefined
      ? ` over ${r.span.seconds!.toFixed(6)} s (${secondsOf(r.span.firstNs)} → ${secondsOf(r.span.lastNs)})`
      : ''
  out.push(`${n(r.events)} events${span}${r.stacks ? `, ${n(r.stacks)} with a kernel stack` : ''}`)
  const table = (title: string, o: Record<string, number>, limit = 20) => {
    const rows = Object.entries(o)
    if (!rows.length) return
    out.push('')
    const shown = rows.slice(0, limit).map(([k, v]) => [k, n(v)])
    if (rows.length > limit) shown.push([`(${rows.length - limit} more)`, n(rows.slice(limit).reduce((s, [, v]) => s + v, 0))])
    out.push(...renderTable([{header: title, align: 'left'}, {header: 'events'}], shown))
  }
  table('kind', r.byKind)
  table('probe', r.byProbe)
  table('comm', r.byComm, 10)
  table('cpu', Object.fromEntries(Object.entries(r.byCpu).sort((a, b) => Number(a[0]) - Number(b[0]))))
  out.push(...renderMarkers(r.markers ?? []))
  out.push('')
  if (r.lost.markers === 0 && r.lost.overwritten === 0) out.push('lost events: none reported')
  else {
    const per = Object.entries(r.lost.byCpu)
      .map(([c, v]) => `${c === '-1' ? 'tracer' : `CPU ${c}`}: ${n(v)}`)
      .join(', ')
    out.push(`lost events: ${n(r.lost.events)} in ${n(r.lost.markers)} loss markers${per ? ` (${per})` : ''}${r.lost.overwritten ? `; ${n(r.lost.overwritten)} overwritten before the snapshot` : ''}`)
  }
  if (r.unrecognized.lines) {
    out.push(`unrecognized lines: ${n(r.unrecognized.lines)}; first:`)
    for (const e of r.unrecognized.examples.slice(0, 5)) out.push(`  ${e}`)
  }
  if (r.output) out.push(`wrote ${n(r.output.events)} events to ${r.output.path} (${r.output.to})`)
  return out
}
