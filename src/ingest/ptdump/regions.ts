/**
 * Regions by address from the markers (address_markers[]): a marker's address is the start of
 * the first range line after its header (note_page() prints the header when the walk first
 * reaches an entry ≥ the marker and starts the next line there).
 */
import {type Kva, pageOffsetKva} from '../../model/address.js'
import type {Geometry} from '../../model/geometry.js'
import type {Region, RegionName} from '../../model/layout.js'
import {MARKER_BY_NAME} from './tables.js'

/** A marker line as read. */
export interface MarkerSeen {
  name: string
  /** Index (in LineColumns) of the first range line kept after the header. */
  at: number
  line: number
}

/** The regions the markers bound; `lastEnd` is the end of the last range line (none: undefined). */
export function buildRegions(markers: readonly MarkerSeen[], geo: Geometry, addr: (m: MarkerSeen) => Kva, firstLineBug: boolean, lastEnd: Kva | undefined): Region[] {
  const out: Region[] = []
  const byRegion = new Map<RegionName, {start?: Kva; startIdx?: number; end?: Kva}>()
  markers.forEach((m, idx) => {
    const def = MARKER_BY_NAME.get(m.name)
    if (!def?.region) return
    const r = byRegion.get(def.region) ?? {}
    if (def.role === 'start') {
      r.start = addr(m)
      r.startIdx = idx
    } else r.end = addr(m)
    byRegion.set(def.region, r)
  })
  if (firstLineBug) {
    const r = byRegion.get('linear') ?? {}
    r.start = pageOffsetKva(geo.vaBits)
    r.startIdx = -1
    byRegion.set('linear', r)
  }
  for (const [name, r] of byRegion) {
    if (r.start === undefined) continue
    let end = r.end
    if (end === undefined) {
      // Truncated dump: the region runs to the next marker, or to the last line.
      const next = markers[(r.startIdx ?? -1) + 1]
      end = next ? addr(next) : (lastEnd ?? r.start)
    }
    if (end >= r.start) out.push({name, start: r.start, end})
  }
  out.sort((a, b) => a.start - b.start || a.end - b.end)
  return out
}
