/** Shared by the trace.dat tests: the real capture, reading everything, comparing events field by field. */
import type {TraceEvent} from '../../src/ingest/events.js'
import {readTrace, type TraceReadOptions} from '../../src/ingest/trace/index.js'

export const TOOLS = 'samples/linux-7.3-debian-qemu/ampere1a-2G-tools'

export async function readAll(paths: string[], opts: TraceReadOptions = {}) {
  const r = readTrace(paths, opts)
  const events: TraceEvent[] = []
  let error: unknown
  try {
    for await (const b of r.batches) for (const e of b) events.push(e)
  } catch (e) {
    error = e
  }
  return {events, stats: r.stats, diagnostics: r.diagnostics, error}
}

/** Every field of a normalized event but its source position (file:line vs file:offset). */
export function fields(e: TraceEvent, ts: (ns: bigint) => bigint = (ns) => ns): string {
  return JSON.stringify({...e, tsNs: ts(e.tsNs), args: e.args, src: undefined}, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))
}

/** First differing index of two event lists (by fields()), or -1. */
export function firstDiff(a: TraceEvent[], b: TraceEvent[], ts?: (ns: bigint) => bigint): number {
  const n = Math.max(a.length, b.length)
  for (let i = 0; i < n; i++) if (!a[i] || !b[i] || fields(a[i]!, ts) !== fields(b[i]!, ts)) return i
  return -1
}

