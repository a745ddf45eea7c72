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
import {dirname} from 'node:path'

import {summarizeDiagnostics} from '../ingest/diagnostics.js'
import type {Diagnostic} from '../ingest/events.js'
import type {PtdumpSnapshot} from '../ingest/ptdump/index.js'
import type {TraceStats} from '../ingest/trace/stats.js'
import {threadSize} from '../kernel/vmalloc.js'
import {pairRegions} from '../model/align.js'
import type {PageTables} from '../model/pagetable.js'
import type {ReplayStats} from './engine.js'
import type {RebaseSummary} from './rebase.js'
import {type PolicyChoice, type RunReplayOptions, runReplay} from './run.js'
import {SnapshotClock, type DumpTiming, describePlacement, dumpTiming, placementText, planSnapshotWindow} from './snapshot-clock.js'
import {type CompareOptions, verifyRegion} from './verify-region.js'
import type {Verification} from './verify-result.js'
import {TouchRecorder} from './verify-touches.js'

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
