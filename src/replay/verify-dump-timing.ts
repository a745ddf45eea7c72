/**
 * `verify`: the differences a snapshot's dump time explains (src/replay/snapshot-clock.ts places
 * the dumps; docs/snapshot-timing.md says why and how well).
 */
import type {Kva} from '../model/address.js'
import {isPresent} from '../model/align.js'
import type {Region} from '../model/layout.js'
import type {Run} from '../model/run.js'
import type {DumpTiming} from './snapshot-clock.js'
import {type CallRef, type Touch, callRef} from './verify-touches.js'

/** The call a dump-time difference turns on, for the region's consistency check. */
export interface Flip {
  side: 'until' | 'until-after' | 'from'
  ns: bigint
}

export interface DumpTimingClass {
  explainedByTrace: true
  cause: 'dump-time' | 'after-trace'
  note: string
  lastTouch?: CallRef
  flip?: Flip
}

type Presence3 = 'present' | 'absent' | 'mixed'
function presenceOf(runs: Run[]): Presence3 {
  let p = 0
  for (const r of runs) if (isPresent(r)) p++
  return p === runs.length ? 'present' : p === 0 ? 'absent' : 'mixed'
}

function ms(ns: bigint): string {
  const v = Number(ns) / 1e6
  return `${Math.abs(v) < 10 ? v.toFixed(1) : Math.round(v).toLocaleString('en-US')} ms`
}

/**
 * A difference the dump times explain: a vm area mapped (vmap) or unmapped (vunmap) so close to a
 * snapshot's dump that the dump may have fallen on the other side of it, and the snapshot shows
 * exactly that other side; or, when the last dump came after the trace ended, a task's kernel
 * stack (THREAD_SIZE at THREAD_ALIGN) that the processes run after tracing stopped (the dump's own
 * `cat` first) mapped or freed.
 */
export function dumpTimingCause(g: {start: Kva; end: Kva; pred: Run[]; actual: Run[]}, dt: DumpTiming, last: Touch | undefined, before: Touch | undefined, after: Touch | undefined, region?: Region): DumpTimingClass | undefined {
  const p = presenceOf(g.pred)
  const a = presenceOf(g.actual)
  if (p === a || p === 'mixed' || a === 'mixed') return undefined
  const maps = (t: Touch): boolean => t.ev.kind === 'vmap'
  const unmaps = (t: Touch): boolean => t.ev.kind === 'vunmap'
  // Not applied though the replay applied it: the dump came before the call.
  const undoes = (t: Touch): boolean => (maps(t) && p === 'present' && a === 'absent') || (unmaps(t) && p === 'absent' && a === 'present')
  // Applied though the replay did not: the dump came after the call.
  const does = (t: Touch): boolean => (maps(t) && p === 'absent' && a === 'present') || (unmaps(t) && p === 'present' && a === 'absent')
  const w = dt.toleranceNs
  if (dt.untilNs !== undefined) {
    if (last && last.ev.tsNs >= dt.untilNs - w && undoes(last)) {
      const r = callRef(last)
      return {
        explainedByTrace: true,
        cause: 'dump-time',
        flip: {side: 'until', ns: last.ev.tsNs},
        lastTouch: r,
        note: `dump timing: ${r.call} at ${r.at} came ${ms(dt.untilNs - last.ev.tsNs)} before the placed dump time (t=${dt.untilSeconds}s, good to ±${ms(w)}), and the snapshot shows the state before it: the dump came first`,
      }
    }
    if (after && after.ev.tsNs <= dt.untilNs + w && (!last || last.ev.tsNs < after.ev.tsNs) && does(after)) {
      const r = callRef(after)
      return {
        explainedByTrace: true,
        cause: 'dump-time',
        flip: {side: 'until-after', ns: after.ev.tsNs},
        note: `dump timing: ${r.call} at ${r.at} came ${ms(after.ev.tsNs - dt.untilNs)} after the placed dump time (t=${dt.untilSeconds}s, good to ±${ms(w)}), and the snapshot shows the state after it: the dump came later`,
      }
    }
  }
  if (dt.fromNs !== undefined && !last && before && before.ev.tsNs >= dt.fromNs - w && does(before)) {
    const r = callRef(before)
    return {
      explainedByTrace: true,
      cause: 'dump-time',
      flip: {side: 'from', ns: before.ev.tsNs},
      note: `dump timing: ${r.call} at ${r.at} came ${ms(dt.fromNs - before.ev.tsNs)} before the placed dump time of the starting snapshot (t=${dt.fromSeconds}s, good to ±${ms(w)}), and the snapshots show it applied: that dump came first`,
    }
  }
  if (dt.afterTrace && region?.name === 'vmalloc') {
    const ts = dt.threadSize
    if (g.end - g.start === ts && g.start % (2 * ts) === 0) {
      return {
        explainedByTrace: true,
        cause: 'after-trace',
        note: `after the trace: a task's kernel stack (THREAD_SIZE ${ts / 1024} KiB at THREAD_ALIGN) ${a === 'present' ? 'mapped' : 'freed'} between the trace's last event (t=${dt.afterTrace.lastEventSeconds}s) and the dump (t≈${dt.untilSeconds}s), by the processes run after tracing stopped (the dump's own among them)`,
      }
    }
  }
  return undefined
}

