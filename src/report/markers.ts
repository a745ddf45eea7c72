/** The trace_marker texts a trace carries, as `events` lists them (for --from-marker/--until-marker). */
import {renderTable} from './table.js'

export function renderMarkers(markers: {text: string; count: number}[], limit = 50): string[] {
  if (!markers.length) return ['', 'markers: none (no trace_marker writes)']
  const rows = markers.slice(0, limit).map((m) => [m.text, m.count.toLocaleString('en-US')])
  if (markers.length > limit) rows.push([`(${markers.length - limit} more)`, ''])
  return ['', ...renderTable([{header: 'marker (--from-marker/--until-marker take any part of it)', align: 'left'}, {header: 'writes'}], rows)]
}
