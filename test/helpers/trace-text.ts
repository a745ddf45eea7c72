/**
 * The sample texts and the event serialization the fast-path tests compare with: one copy for
 * test/ingest/trace/fastpath.test.ts (tracefs) and fastpath-tools.test.ts (trace-cmd, perf).
 */
import {readFileSync} from 'node:fs'
import {gunzipSync} from 'node:zlib'

import type {TraceEvent} from '../../src/ingest/events.js'
import {eventToCsvRow, eventToJson} from '../../src/report/events-export.js'

/** The text of a sample (path under samples/), decompressed once per test file. */
const texts = new Map<string, string>()
export function fileText(rel: string): string {
  let t = texts.get(rel)
  if (t === undefined) {
    const buf = readFileSync(`samples/${rel}`)
    t = (rel.endsWith('.gz') ? gunzipSync(buf) : buf).toString('utf8')
    texts.set(rel, t)
  }
  return t
}

/** Every line of `text` with its range. */
export function* ranges(text: string): Generator<{line: string; from: number; to: number}> {
  let from = 0
  for (const line of text.split('\n')) {
    yield {line, from, to: from + line.length}
    from += line.length + 1
  }
}

/** JSON with bigints as `Nn` and undefined kept visible. */
export function ser(x: unknown): string {
  return JSON.stringify(x, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v === undefined ? '<undefined>' : v))
}

/** normalize()'s field order: every event is serialized through it, `args` read by property. */
const EVENT_KEYS = ['kind', 'fn', 'probe', 'tsNs', 'cpu', 'pid', 'comm', 'addr', 'addrText', 'end', 'size', 'pages', 'op', 'enable', 'setMask', 'clearMask', 'setNames', 'clearNames', 'page', 'ret', 'text', 'stack', 'args', 'src'] as const

/** An event as its fields (own ones in order, then `args`), its CSV row and its JSON export. */
export function serEvent(e: TraceEvent): string {
  const own = Object.keys(e).join(',')
  const o: Record<string, unknown> = {}
  for (const k of EVENT_KEYS) o[k] = e[k]
  return ser({own: own.replace(/,args(?=,|$)/, ''), fields: o, csv: eventToCsvRow(e), json: eventToJson(e)})
}
