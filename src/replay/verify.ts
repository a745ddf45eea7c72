/**
 * `verify`: replay a trace over a snapshot and hold the predicted tables against a later real
 * snapshot, run by run, per region. This is the comparison and the classification; the JSON
 * document and the text are rendered by src/report/verify.ts.
 *
 * Per region the verdict is one of
 *   match           every entry equal (level, contiguous hint, attributes);
 *   differs         the first differing ranges, predicted vs actual, each with the call that last
 *                   touched it (or the nearest calls when none did) and whether the trace explains
 *                   it;
 *   not verifiable  the region's mappings are created or removed by calls the trace does not
 *                   carry (vmalloc/vmap/module areas appear or disappear and the trace has no
 *                   vmap/vunmap probes: every capture before 7.3), or traced calls acted on memory
 *                   the starting snapshot does not map. With vmap/vunmap probes the replay maps
 *                   and unmaps vm areas itself (src/kernel/vmalloc.ts) and such ranges are
 *                   ordinary differences.
 *
 * A difference is *explained by the trace* only when a traced call inside the window, surely
 * seen by both snapshots, asked for a change there: then the replay disagrees with the kernel
 * (a model problem or a missing event). Otherwise it is *not explained by the trace*:
 *   untraced  no traced call in the window touched the range (the change happened before the
 *             probes were registered, or through a path the trace does not carry);
 *   timing    the only calls touching it fall between the last marker before a cut and the cut
 *             (--from-marker / --until-marker), so whether the snapshot saw them depends on when
 *             it was dumped (e.g. KFENCE guard pages flipping in the background).
 *
 * Exit status: 0 only if the linear map is verifiable and every verifiable region matches.
 */
import {type DiagnosticsSummary, summarizeDiagnostics} from '../ingest/diagnostics.js'
import type {Diagnostic} from '../ingest/events.js'
import type {PtdumpSnapshot} from '../ingest/ptdump/index.js'
import type {TraceStats} from '../ingest/trace/stats.js'
import {type Kva, formatKva} from '../model/address.js'
import {alignRuns, isPresent, pairRegions, pushMerged, sameEntry} from '../model/align.js'
import type {Geometry} from '../model/geometry.js'
import {REGION_LABELS, type Region, type RegionName} from '../model/layout.js'
import type {PageTables} from '../model/pagetable.js'
import type {Run} from '../model/run.js'
import type {ReplayStats, ReturnCheck} from './engine.js'
import type {RebaseSummary} from './rebase.js'
import {type PolicyChoice, type RunReplayOptions, runReplay} from './run.js'
import {type CallRef, type Touch, TouchRecorder, callRef} from './verify-touches.js'
import {type Flip, dumpTimingCause} from './verify-dump-timing.js'
import {type DumpPlacement, type DumpTiming, SnapshotClock, describePlacement, dumpTiming, placementText, planSnapshotWindow} from './snapshot-clock.js'
import {threadSize} from '../kernel/vmalloc.js'
import {dirname} from 'node:path'

/**
 * replay: the replay disagrees after a traced call; untraced: no traced call explains it; timing:
 * a marker cut may have fallen on either side of the call; dump-time: a vm area mapped or unmapped
 * within the placement's uncertainty of a snapshot's dump time, on the side that explains the
 * snapshot (tolerated); after-trace: a task's kernel stack mapped or freed after the trace's last
 * event, before a dump taken after tracing stopped (tolerated).
 */
export type DifferenceCause = 'replay' | 'untraced' | 'timing' | 'dump-time' | 'after-trace'

export interface VerifiedDifference {
  start: string
  end: string
  bytes: number
  /** Predicted (replay) and actual (snapshot) runs over the range, at most MAX_RUNS_SHOWN each. */
  predicted: Run[]
  actual: Run[]
  morePredicted: number
  moreActual: number
  /** True only when a traced call surely seen by both snapshots touched the range (cause 'replay'). */
  explainedByTrace: boolean
  cause: DifferenceCause
  /** One line: why. */
  note: string
  /** The call inside the window that last touched the range. */
  lastTouch?: CallRef
  /** When none did or to add context: the nearest touched ranges below/above in address, the last call on the range before the window, the first after it. */
  nearest: {
    below?: CallRef & {range: string}
    above?: CallRef & {range: string}
    beforeWindow?: CallRef
    afterWindow?: CallRef
  }
}

export type RegionStatus = 'match' | 'differs' | 'not-verifiable'

/** Ranges where one side maps something and the other does not (or table pages differ over empty entries). */
export interface Presence {
  appearedBytes: number
  appearedRanges: number
  disappearedBytes: number
  disappearedRanges: number
  tableOnlyRanges: number
}

/** Why a region is not verifiable (the renderer words it). */
export type NotVerifiableReason =
  /** Mappings created or removed by calls the trace does not carry; `vmEvents`: vmalloc/execmem alloc/free events the trace has. */
  | {kind: 'untraced-mappings'; presence: Presence; vmEvents: number}
  /** Traced calls on memory the starting snapshot does not map, in this region. */
  | {kind: 'unknown-memory'; count: number; first?: CallRef}

export interface RegionVerification {
  name: RegionName
  label: string
  start: string
  end: string
  status: RegionStatus
  /** Why not verifiable (empty otherwise). */
  reasons: NotVerifiableReason[]
  presence: Presence
  /** Traced calls on memory the starting snapshot does not map, in this region. */
  callsOnUnknownMemory: number
  /** Differences where both sides map something (the only kind a verifiable region can have). */
  differingRanges: number
  differingBytes: number
  notExplained: number
  /**
   * Differing ranges the snapshots' dump times explain (causes dump-time and after-trace): a
   * region whose every difference is one of them matches.
   */
  dumpTimingRanges: number
  /** The first --max-ranges of them. */
  differences: VerifiedDifference[]
}

export interface Verification {
  before: string
  after: string
  traces: string[]
  geometry: string
  policy: string
  policyReasons: string[]
  rebase?: RebaseSummary
  window: {fromMarker?: string; untilMarker?: string; fromFound: boolean; untilFound: boolean; eventsSeen: number; eventsInWindow: number; callsApplied: number; dumps?: DumpPlacement; dumpsAvailable?: string}
  /** Kernel errors the replay hit (by code) and trace-level counts. */
  replay: {
    errorCounts: Record<string, number>
    callsOnUnknownMemory: number
    unknownAliasPages: number
    vmEvents: number
    /** Events the trace says it lost or overwrote, and lines it could not read: any of them can explain a difference. */
    lostEvents: number
    overwritten: number
    unrecognizedLines: number
  }
  /**
   * When the trace probed the kernel's own split helpers: their hits inside the window (what the
   * kernel did) beside the replay's count of the same primitive.
   */
  groundTruth: {fn: string; kernel: number; replay: number}[]
  /** The kernel's return values of the calls, where the trace has return probes of them. */
  returns?: ReturnCheck
  regions: RegionVerification[]
  regionNotes: string[]
  /** Every input's diagnostics (before, trace, after), through the one table. */
  diagnostics: DiagnosticsSummary
  /** match: exit 0; differs: exit 1 (some verifiable region differs, or the linear map is not verifiable). */
  verdict: 'match' | 'differs'
  exitCode: 0 | 1
  /** How the runs of a difference are shown: the snapshots' geometry and ptdump era. */
  geo: Geometry
  era?: PtdumpSnapshot['era']
  /** The page tables the replay predicts (for the HTML report's maps; not in --json). */
  predicted?: PageTables
}

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

export interface VerifyInputs {
  before: PtdumpSnapshot
  after: PtdumpSnapshot
  traces: string[]
  choice: PolicyChoice
  replay?: RunReplayOptions
  maxDiffs?: number
  /**
   * Where the window starts and ends: `dumps` at the two snapshots' dump times, placed by the
   * bundle's steps.log (an error when it cannot); `markers` at --from-marker/--until-marker;
   * `auto` (default) dumps when steps.log names both snapshots and no marker is given, else markers.
   */
  window?: 'auto' | 'dumps' | 'markers'
}

/** Thrown for inputs verify cannot work with (exit 2): different geometries, a marker not found. */
export class VerifyInputError extends Error {
  readonly cliExit = 2
  constructor(message: string) {
    super(message)
    this.name = 'InputError'
  }
}

/** Replay `traces` over `before` and compare with `after`. */
export async function runVerify(inp: VerifyInputs): Promise<Verification> {
  const {before, after} = inp
  if (before.geometry.label !== after.geometry.label) {
    throw new VerifyInputError(`${before.source} is ${before.geometry.label} but ${after.source} is ${after.geometry.label}: snapshots of different kernels cannot verify`)
  }
  const mode = inp.window ?? 'auto'
  const markersGiven = Boolean(inp.replay?.fromMarker || inp.replay?.untilMarker)
  if (mode === 'dumps' && markersGiven) throw new VerifyInputError('--window dumps cuts at the dumps: drop --from-marker/--until-marker, or use --window markers')
  // auto: the dumps when steps.log places them and no marker was given (a marker given is obeyed).
  const plan = mode === 'markers' || (mode === 'auto' && markersGiven) ? undefined : planSnapshotWindow(before.source, after.source)
  if (mode === 'dumps' && !plan) {
    throw new VerifyInputError(`--window dumps: no steps.log beside ${after.source} that logs the dumps of both ${before.source} and ${after.source} (kernel_page_tables.NAME: N lines), in that order`)
  }
  let replayOpts: RunReplayOptions = {...inp.replay}
  let clock: SnapshotClock | undefined
  if (plan) {
    // The snapshots' dump times, not the phase marks, bound the window (src/replay/snapshot-clock.ts).
    clock = new SnapshotClock(plan)
    const c = clock
    replayOpts = {...replayOpts, fromMarker: plan.from.marker, untilMarker: plan.until.marker, wrapEvents: (events) => c.wrap(events)}
  }
  const rec = new TouchRecorder(before.regions, before.geometry.pageSize, replayOpts.fromMarker)
  const run = await runReplay(before, inp.traces, inp.choice, {...replayOpts, ...rec.options()})
  const stats: ReplayStats = run.stats
  if (replayOpts.fromMarker && !stats.window.fromFound) throw new VerifyInputError(`--from-marker "${replayOpts.fromMarker}": no trace_marker write contains it`)
  if (replayOpts.untilMarker && !stats.window.untilFound) throw new VerifyInputError(`--until-marker "${replayOpts.untilMarker}": no trace_marker write contains it (after the from-marker)`)
  const placement = clock ? describePlacement(clock) : undefined
  if (mode === 'dumps' && placement && !placement.placed) throw new VerifyInputError(`--window dumps: ${placementText(placement)[0]!.replace(/^window: /, '')}`)
  const dumps = clock ? dumpTiming(clock, threadSize(after.geometry.pageSize)) : undefined
  const result = compareReplay({before, after, traces: inp.traces, run, rec, maxDiffs: inp.maxDiffs, fromMarker: replayOpts.fromMarker, untilMarker: replayOpts.untilMarker, dumps})
  if (placement) result.window.dumps = placement
  else if (markersGiven && mode === 'auto' && planSnapshotWindow(before.source, after.source)) {
    result.window.dumpsAvailable = `${dirname(after.source)}/steps.log logs both dumps: without --from-marker/--until-marker (or with --window dumps) the window is cut at the dumps themselves`
  }
  return result
}

/** The comparison proper, given a finished replay and its recorder. */
export function compareReplay(p: {
  before: PtdumpSnapshot
  after: PtdumpSnapshot
  traces: string[]
  run: {policy: {name: string}; reasons: string[]; rebase?: RebaseSummary; stats: ReplayStats; pt: PageTables; traceStats?: TraceStats; traceDiagnostics?: Diagnostic[]}
  rec: TouchRecorder
  maxDiffs?: number
  fromMarker?: string
  untilMarker?: string
  dumps?: DumpTiming
}): Verification {
  const {before, after, run, rec} = p
  const {regions, notes} = pairRegions(before.regions, after.regions)
  const opts: CompareOptions = {maxDiffs: p.maxDiffs, fromMarker: p.fromMarker, untilMarker: p.untilMarker, untilFound: run.stats.window.untilFound, unplacedAliasPages: run.stats.unknownAliasPages, dumps: p.dumps}
  const out = regions.map((r) => verifyRegion(run.pt, after.pt, r, rec, opts))
  const linear = out.find((r) => r.name === 'linear')
  const verdict: Verification['verdict'] = !linear || linear.status === 'not-verifiable' || out.some((r) => r.status === 'differs') ? 'differs' : 'match'
  const ts = run.traceStats
  return {
    before: before.source,
    after: after.source,
    traces: p.traces,
    geometry: after.geometry.label,
    policy: run.policy.name,
    policyReasons: run.reasons,
    ...(run.rebase ? {rebase: run.rebase} : {}),
    window: {
      fromMarker: p.fromMarker,
      untilMarker: p.untilMarker,
      fromFound: run.stats.window.fromFound,
      untilFound: run.stats.window.untilFound,
      eventsSeen: run.stats.eventsSeen,
      eventsInWindow: run.stats.eventsInWindow,
      callsApplied: run.stats.callsApplied,
    },
    replay: {
      errorCounts: run.stats.errorCounts,
      callsOnUnknownMemory: run.stats.callsOnUnknownMemory,
      unknownAliasPages: run.stats.unknownAliasPages,
      vmEvents: rec.vmEvents,
      lostEvents: ts?.lostEvents ?? 0,
      overwritten: ts?.overwritten ?? 0,
      unrecognizedLines: ts?.unrecognized ?? 0,
    },
    groundTruth: Object.entries(run.stats.truth)
      .filter(([fn]) => /^split_(pud|pmd|contpmd|contpte)$/.test(fn))
      .sort(([x], [y]) => x.localeCompare(y))
      .map(([fn, kernel]) => ({fn, kernel, replay: run.stats.counters[fn] ?? 0})),
    ...(run.stats.returns?.calls ? {returns: run.stats.returns} : {}),
    regions: out,
    regionNotes: notes,
    diagnostics: summarizeDiagnostics([
      {diagnostics: before.diagnostics, counts: before.diagnosticCounts},
      ts ? {diagnostics: run.traceDiagnostics ?? [], counts: ts.diagnosticsByCode} : undefined,
      {diagnostics: after.diagnostics, counts: after.diagnosticCounts},
    ]),
    verdict,
    exitCode: verdict === 'match' ? 0 : 1,
    geo: after.pt.geo,
    era: after.era,
    predicted: run.pt,
  }
}
