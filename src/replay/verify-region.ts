/**
 * `verify` over one region: walk the predicted and the actual runs side by side, group the
 * differing stretches, and classify each by the calls that touched it (src/replay/verify.ts
 * describes the verdicts and causes).
 */
import {type Kva, formatKva} from '../model/address.js'
import {alignRuns, isPresent, pushMerged, sameEntry} from '../model/align.js'
import {REGION_LABELS, type Region} from '../model/layout.js'
import type {PageTables} from '../model/pagetable.js'
import type {Run} from '../model/run.js'
import type {DumpTiming} from './snapshot-clock.js'
import {type Flip, dumpTimingCause} from './verify-dump-timing.js'
import type {NotVerifiableReason, Presence, RegionStatus, RegionVerification, VerifiedDifference} from './verify-result.js'
import {type Touch, type TouchRecorder, callRef} from './verify-touches.js'

export interface CompareOptions {
  /** Differences listed per region (default 10). */
  maxDiffs?: number
  fromMarker?: string
  untilMarker?: string
  untilFound?: boolean
  /**
   * Linear-alias page updates of traced set_memory_* calls the replay could not place (the trace
   * named no backing page for them): a linear-map difference no placed call explains may be one
   * of them, so it is the replay's gap, never "no traced call touched this range".
   */
  unplacedAliasPages?: number
  /** The snapshots' dump times, when steps.log placed them. */
  dumps?: DumpTiming
}

/** Runs shown per side of a difference. */
export const MAX_RUNS_SHOWN = 8

interface Group {
  start: Kva
  end: Kva
  pred: Run[]
  actual: Run[]
}

/** Internal to the comparison: the call a dump-time difference turns on, for the region's consistency check. */
type Classified = Pick<VerifiedDifference, 'explainedByTrace' | 'cause' | 'note' | 'lastTouch' | 'nearest'> & {flip?: Flip}

function classify(g: Group, rec: TouchRecorder, opts: CompareOptions, region?: Region): Classified {
  const inWindow = rec.window.refsIn(g.start, g.end)
  const last = inWindow.reduce<Touch | undefined>((m, t) => (!m || t.ordinal > m.ordinal ? t : m), undefined)
  const before = rec.before.refsIn(g.start, g.end).reduce<Touch | undefined>((m, t) => (!m || t.ordinal > m.ordinal ? t : m), undefined)
  const after = rec.after.refsIn(g.start, g.end).reduce<Touch | undefined>((m, t) => (!m || t.ordinal < m.ordinal ? t : m), undefined)
  const nearest: VerifiedDifference['nearest'] = {}
  if (before) nearest.beforeWindow = callRef(before)
  if (after) nearest.afterWindow = callRef(after)
  if (!last) {
    const nb = rec.window.neighbours(g.start, g.end)
    if (nb.below) nearest.below = {...callRef(nb.below.ref), range: `${formatKva(nb.below.start)}-${formatKva(nb.below.end)}`}
    if (nb.above) nearest.above = {...callRef(nb.above.ref), range: `${formatKva(nb.above.start)}-${formatKva(nb.above.end)}`}
  }
  if (opts.dumps) {
    const d = dumpTimingCause(g, opts.dumps, last, before, after, region)
    if (d) return {...d, nearest}
  }
  // The tail: calls after the last marker before the until-marker (the from-marker counts as
  // epoch 0). The head: calls before the from-marker, after the marker before it.
  const tailEpoch = opts.untilMarker && opts.untilFound ? rec.windowMarkers - 1 : undefined
  const headEpoch = opts.fromMarker ? rec.beforeMarkers : undefined
  if (last) {
    const lastRef = callRef(last)
    if (tailEpoch !== undefined && last.epoch === tailEpoch) {
      const m = last.marker ?? opts.fromMarker ?? 'the start of the trace'
      return {
        explainedByTrace: false,
        cause: 'timing',
        note: `not explained by the trace: the last call touching it (${lastRef.call} at ${lastRef.at}) falls between "${m}" and the cut at "${opts.untilMarker}", so the snapshot may have been dumped before it`,
        lastTouch: lastRef,
        nearest,
      }
    }
    return {
      explainedByTrace: true,
      cause: 'replay',
      note: `the replay disagrees with the kernel after a traced call: last touched by ${lastRef.call} at ${lastRef.at}`,
      lastTouch: lastRef,
      nearest,
    }
  }
  if (before && headEpoch !== undefined && before.epoch === headEpoch) {
    const b = callRef(before)
    return {
      explainedByTrace: false,
      cause: 'timing',
      note: `not explained by the trace: no call in the window touched it; ${b.call} at ${b.at} did just before the window (after "${before.marker ?? 'the start of the trace'}", before "${opts.fromMarker}"), so the starting snapshot may have been dumped before or after it`,
      nearest,
    }
  }
  if (region?.name === 'linear' && opts.unplacedAliasPages) {
    return {
      explainedByTrace: true,
      cause: 'replay',
      note: `the replay could not place ${opts.unplacedAliasPages} linear-alias page update(s) of traced set_memory_* calls (the trace names no backing page for them); this range may be one of them`,
      nearest,
    }
  }
  return {
    explainedByTrace: false,
    cause: 'untraced',
    note: 'not explained by the trace: no traced call in the window touched this range',
    nearest,
  }
}

/** Compare predicted and actual tables over one region. */
export function verifyRegion(predicted: PageTables, actual: PageTables, region: Region, rec: TouchRecorder, opts: CompareOptions = {}): RegionVerification {
  const maxDiffs = opts.maxDiffs ?? 10
  const presence: Presence = {appearedBytes: 0, appearedRanges: 0, disappearedBytes: 0, disappearedRanges: 0, tableOnlyRanges: 0}
  let lastPresenceEnd = -1
  let lastKind = ''
  let differingRanges = 0
  let differingBytes = 0
  let notExplained = 0
  let dumpTimingRanges = 0
  // One dump time must explain every until-side flip: after the calls the snapshot shows, before those it does not.
  let latestShown: bigint | undefined
  let earliestHidden: bigint | undefined
  const differences: VerifiedDifference[] = []
  let cur: Group | undefined
  const close = (): void => {
    if (!cur) return
    const g = cur
    cur = undefined
    differingRanges++
    differingBytes += g.end - g.start
    const {flip, ...c} = classify(g, rec, opts, region)
    if (!c.explainedByTrace) notExplained++
    if (c.cause === 'dump-time' || c.cause === 'after-trace') dumpTimingRanges++
    if (flip?.side === 'until-after' && (latestShown === undefined || flip.ns > latestShown)) latestShown = flip.ns
    if (flip?.side === 'until' && (earliestHidden === undefined || flip.ns < earliestHidden)) earliestHidden = flip.ns
    if (differences.length < maxDiffs) {
      differences.push({
        start: formatKva(g.start),
        end: formatKva(g.end),
        bytes: g.end - g.start,
        predicted: g.pred.slice(0, MAX_RUNS_SHOWN),
        actual: g.actual.slice(0, MAX_RUNS_SHOWN),
        morePredicted: Math.max(0, g.pred.length - MAX_RUNS_SHOWN),
        moreActual: Math.max(0, g.actual.length - MAX_RUNS_SHOWN),
        ...c,
      })
    }
  }
  for (const s of alignRuns(predicted.runs(region.start, region.end), actual.runs(region.start, region.end), region.start, region.end)) {
    if (sameEntry(s.a, s.b)) {
      close()
      continue
    }
    const pa = isPresent(s.a)
    const pb = isPresent(s.b)
    // With vmap/vunmap replayed, an area present on one side only (or empty entries in different
    // tables) is an ordinary difference, not a call the trace does not carry.
    if ((!pa || !pb) && !(rec.vmMaps && s.a && s.b && region.name !== 'linear')) {
      close()
      const kind = !pa && pb ? 'appeared' : pa && !pb ? 'disappeared' : 'tables'
      const contiguous = lastPresenceEnd === s.start && lastKind === kind
      if (kind === 'appeared') {
        presence.appearedBytes += s.end - s.start
        if (!contiguous) presence.appearedRanges++
      } else if (kind === 'disappeared') {
        presence.disappearedBytes += s.end - s.start
        if (!contiguous) presence.disappearedRanges++
      } else if (!contiguous) presence.tableOnlyRanges++
      lastPresenceEnd = s.end
      lastKind = kind
      continue
    }
    if (!cur || cur.end !== s.start) {
      close()
      cur = {start: s.start, end: s.end, pred: [], actual: []}
    }
    cur.end = s.end
    if (cur.pred.length <= MAX_RUNS_SHOWN) pushMerged(cur.pred, s.a!)
    if (cur.actual.length <= MAX_RUNS_SHOWN) pushMerged(cur.actual, s.b!)
  }
  close()
  if (latestShown !== undefined && earliestHidden !== undefined && latestShown >= earliestHidden) {
    // No single dump time explains them all: they are the replay's to explain.
    for (const d of differences) {
      if (d.cause !== 'dump-time') continue
      d.cause = 'timing'
      d.explainedByTrace = false
      d.note += ' (but no single dump time explains every such range of this region)'
    }
    notExplained += dumpTimingRanges
    dumpTimingRanges = 0
  }

  const reasons: NotVerifiableReason[] = []
  if (presence.appearedRanges + presence.disappearedRanges + presence.tableOnlyRanges) reasons.push({kind: 'untraced-mappings', presence: {...presence}, vmEvents: rec.vmEvents})
  const unknown = rec.unknownByRegion.get(region.name)
  if (unknown?.count) reasons.push({kind: 'unknown-memory', count: unknown.count, ...(unknown.first ? {first: callRef(unknown.first)} : {})})
  const status: RegionStatus = reasons.length ? 'not-verifiable' : differingRanges > dumpTimingRanges ? 'differs' : 'match'
  return {
    name: region.name,
    label: REGION_LABELS[region.name],
    start: formatKva(region.start),
    end: formatKva(region.end),
    status,
    reasons,
    presence,
    callsOnUnknownMemory: unknown?.count ?? 0,
    differingRanges,
    differingBytes,
    notExplained,
    dumpTimingRanges,
    differences,
  }
}
