/**
 * `verify`'s result: per region a verdict (match, differs, not verifiable) and the differing
 * ranges, each with its cause and the calls that touched it. Built by src/replay/verify.ts and
 * src/replay/verify-region.ts; rendered by src/report/verify.ts.
 */
import type {DiagnosticsSummary} from '../ingest/diagnostics.js'
import type {PtdumpSnapshot} from '../ingest/ptdump/index.js'
import type {Geometry} from '../model/geometry.js'
import type {PageTables} from '../model/pagetable.js'
import type {RegionName} from '../model/layout.js'
import type {Run} from '../model/run.js'
import type {ReturnCheck} from './engine.js'
import type {RebaseSummary} from './rebase.js'
import type {DumpPlacement} from './snapshot-clock.js'
import type {CallRef} from './verify-touches.js'

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
