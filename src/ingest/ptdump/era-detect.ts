/**
 * Which kernel version range printed a dump, from the order of its markers (address_markers[]
 * of arch/arm64/mm/ptdump.c per version, ./tables.ts), the first-line bug of v5.6–5.11, and
 * v5.4's missing hole lines and column layout.
 */
import type {Diag} from './model-build.js'
import {MARKER_BY_NAME, MARKER_ORDERS, type PtdumpEra} from './tables.js'

/** What the reader counted while reading the lines. */
export interface EraEvidence {
  markers: readonly {name: string; line: number}[]
  firstLineBug: boolean
  /** AttrInfo.layout votes: [cannot tell, v5.4 columns, v5.8+ columns]. */
  layoutVotes: readonly number[]
  gapCount: number
  rangeLines: number
  holeLines: number
}

export function detectEra(ev: EraEvidence, diag: Diag): {era: PtdumpEra | 'unknown'; reason: string} {
  const seq = ev.markers.map((m) => m.name).filter((n) => MARKER_BY_NAME.has(n))
  const fits = (order: readonly string[]) => {
    let j = 0
    for (const n of seq) {
      while (j < order.length && order[j] !== n) j++
      if (j === order.length) return false
      j++
    }
    return true
  }
  const pre = fits(MARKER_ORDERS['pre-6.9'])
  const post = fits(MARKER_ORDERS['6.9+'])
  const bpf = seq.includes('BPF start') ? ' (BPF markers: ≈5.10–5.12)' : ''
  if (!pre && !post) {
    const line = ev.markers[0]?.line ?? 0
    diag('marker-order', `markers in an order no known version prints: ${seq.join(', ')}`, line)
  }
  if (ev.firstLineBug) return {era: '5.6-5.11', reason: `first line starts at 0x0 with PGD and no "Linear Mapping start" ⇒ 5.6–5.11${bpf}`}
  // v5.4 prints no holes. Absent holes alone also fit a short excerpt, so ask for a second sign:
  // the memory type in v5.4's columns, or gaps between lines under the markers.
  const old54 = ev.layoutVotes[1]! > 0 || (ev.gapCount > 0 && seq.length > 0)
  if (ev.rangeLines > 0 && ev.holeLines === 0 && old54 && !(post && !pre)) {
    const cols = ev.layoutVotes[1]! > 0 ? '; memory type where 5.4 prints it (no GP column)' : ''
    return {era: '5.4', reason: `no hole lines (empty entries not printed) ⇒ 5.4 arch walker${cols}`}
  }
  if (post && !pre) return {era: '6.9+', reason: 'vmemmap, PCI I/O, Fixmap markers in that order ⇒ 6.9+ layout'}
  if (pre && !post) return {era: '5.15-6.8', reason: `Fixmap, PCI I/O, vmemmap markers in that order, hole lines ⇒ 5.12–6.8 layout${bpf}`}
  if (pre && post) return {era: 'unknown', reason: seq.length ? `markers (${seq.join(', ')}) fit every layout` : 'no markers'}
  return {era: 'unknown', reason: 'markers fit no known layout'}
}
