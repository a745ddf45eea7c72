/**
 * trace_marker windows: the markers a trace carries, and the error for a --from-marker or
 * --until-marker that matches none of them (a typo must not replay nothing, or everything, and
 * exit 0).
 */
import {InputError} from '../ingest/source.js'
import {flat} from '../ingest/trace/intern.js'

/** Distinct marker texts kept for messages; a trace with more repeats the kinds it has. */
const MAX_DISTINCT = 200

export class MarkerNotFoundError extends InputError {
  readonly code = 'marker-not-found'
}

/** Distinct marker texts in trace order, with how often each was written. */
export class MarkerLog {
  readonly counts = new Map<string, number>()
  total = 0

  add(text: string | undefined): void {
    const t = (text ?? '').trim()
    this.total++
    const n = this.counts.get(t)
    if (n !== undefined) this.counts.set(t, n + 1)
    // flat: a marker cut from the trace text would keep its whole chunk alive
    else if (this.counts.size < MAX_DISTINCT) this.counts.set(flat(t), 1)
  }

  list(): {text: string; count: number}[] {
    return [...this.counts].map(([text, count]) => ({text, count}))
  }
}

/**
 * Edit distance from `q` to the closest substring of `text` (Sellers' approximate matching: the
 * match may start and end anywhere in the text), case-insensitive. 0 means `text` contains `q`.
 */
export function substringDistance(q: string, text: string): number {
  const a = q.toLowerCase()
  const b = text.toLowerCase()
  let prev = new Array<number>(b.length + 1).fill(0)
  for (let i = 1; i <= a.length; i++) {
    const cur = new Array<number>(b.length + 1)
    cur[0] = i
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = cur
  }
  return Math.min(...prev)
}

/** Marker texts, closest to `q` first (ties in trace order). */
export function closestMarkers(q: string, markers: string[]): string[] {
  return markers
    .map((text, i) => ({text, i, d: substringDistance(q, text)}))
    .sort((x, y) => x.d - y.d || x.i - y.i)
    .map((m) => m.text)
}

/** The error for a window marker that matched nothing, listing what the trace has. */
export function markerNotFound(flag: '--from-marker' | '--until-marker', q: string, log: MarkerLog, traces: string[], afterFrom = false): MarkerNotFoundError {
  const where = traces.length === 1 ? traces[0]! : `${traces.length} traces`
  const list = closestMarkers(q, [...log.counts.keys()])
  const shown = list.slice(0, 8).map((t) => JSON.stringify(t))
  const more = list.length > shown.length ? `, … ${list.length - shown.length} more` : ''
  const has = log.total === 0 ? `${where} has no trace_marker writes` : `markers in ${where}, closest first: ${shown.join(', ')}${more}`
  return new MarkerNotFoundError(`${flag} ${JSON.stringify(q)}: no trace_marker write contains it${afterFrom ? ' after the from-marker' : ''}; ${has}`)
}
