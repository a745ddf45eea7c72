/** A batch of lines as the per-file loop (file-events.ts consumeBatch) reads it, from either reader. */
import type {LineBatch} from '../source.js'
import type {ProbeEvent} from './probe-event.js'

/**
 * Events a worker thread made of some lines of a batch (parallel.ts): `lineOf(k)` is the batch
 * index of the k-th such line, in increasing order, and `take(k, pos)` builds its event.
 */
export interface BatchHints {
  readonly count: number
  lineOf(k: number): number
  take(k: number, pos: {file: string; line: number}): ProbeEvent
}

/**
 * A batch as consumeBatch() reads it: a LineBatch of source.ts, or one of the parallel reader,
 * which has no `lines` array but the batch text, the end of each line in it and the hints.
 */
export interface FeedBatch extends Omit<LineBatch, 'lines'> {
  lines: string[] | undefined
  /** Number of lines (lines.length when there are lines). */
  count: number
  /** End offset in `text` of each line (when there are no `lines`). */
  ends?: Int32Array
  hints?: BatchHints
}
