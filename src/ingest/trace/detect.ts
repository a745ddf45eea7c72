/**
 * Trace format auto-detection from the first lines of a file. Every registered reader scores
 * the head (its `sniff`); the best score wins. `--format` (TraceReadOptions.format) overrides.
 */
import {READERS} from './registry.js'
import type {TraceReader} from './types.js'

/** Lines looked at. Enough to get past a tracefs header (12 lines) and a few events. */
export const SNIFF_LINES = 200

export interface Detection {
  reader?: TraceReader
  /** Every reader's score, for the error message and `--json`. */
  scores: Record<string, number>
}

export function detectFormat(head: readonly string[]): Detection {
  const lines = head.length > SNIFF_LINES ? head.slice(0, SNIFF_LINES) : head
  const scores: Record<string, number> = {}
  let best: TraceReader | undefined
  let bestScore = 0
  for (const name of Object.keys(READERS)) {
    const r = READERS[name]!
    let s = 0
    try {
      s = r.sniff ? r.sniff(lines) : 0
    } catch {
      s = 0
    }
    scores[name] = s
    if (s > bestScore) {
      bestScore = s
      best = r
    }
  }
  return {reader: best, scores}
}
