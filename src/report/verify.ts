/**
 * `verify`'s output: the `--json` document and the text, rendered from the comparison of
 * src/replay/verify.ts (what each verdict and cause means is explained there). Runs are shown
 * the way the kernel's ptdump prints them; sizes and counts are worded here.
 */
import {placementText} from '../replay/snapshot-clock.js'
import {fmtBytesExact, fmtInt, plural} from './table.js'
import {type RunView, viewRuns} from './run-view.js'
import type {CallRef} from '../replay/verify-touches.js'
import type {NotVerifiableReason, RegionVerification, VerifiedDifference, Verification} from '../replay/verify-result.js'

// ---------------------------------------------------------------------------------------------
// JSON shape (the `--json` output of `ptreplay verify`).

/** A difference with its runs shown as ptdump lines. */
export interface Difference extends Omit<VerifiedDifference, 'predicted' | 'actual'> {
  /** Predicted (replay) and actual (snapshot) runs over the range, at most 8 each. */
  predicted: RunView[]
  actual: RunView[]
}

export interface RegionVerify extends Omit<RegionVerification, 'reasons' | 'differences'> {
  /** Why not verifiable (empty otherwise). */
  reasons: string[]
  /** The first --max-ranges of them. */
  differences: Difference[]
}

export interface VerifyResult extends Omit<Verification, 'regions' | 'geo' | 'era' | 'predicted'> {
  regions: RegionVerify[]
  /** One line: why this verdict. */
  summary: string
}

/** The words for a reason a region is not verifiable. */
export function reasonText(r: NotVerifiableReason): string {
  if (r.kind === 'unknown-memory') return `${r.count} traced call(s) acted on memory the starting snapshot does not map here${r.first ? ` (first: ${r.first.call} at ${r.first.at})` : ''}`
  const p = r.presence
  const parts: string[] = []
  if (p.appearedRanges) parts.push(`${plural(p.appearedRanges, 'range')} (${fmtBytesExact(p.appearedBytes)}) mapped in the snapshot but not in the replay`)
  if (p.disappearedRanges) parts.push(`${plural(p.disappearedRanges, 'range')} (${fmtBytesExact(p.disappearedBytes)}) mapped in the replay but gone from the snapshot`)
  if (p.tableOnlyRanges) parts.push(`${plural(p.tableOnlyRanges, 'range')} of empty entries whose table pages differ`)
  const vm = r.vmEvents
    ? `the trace has ${r.vmEvents} vmalloc/execmem alloc/free event(s), but the replay does not map or unmap vm areas`
    : 'the trace carries no vmalloc/execmem/module alloc or free events with addresses'
  return `mappings created or removed by calls the trace does not carry (vmalloc/vmap/module areas): ${parts.join('; ')}; ${vm}`
}

/** One region of the JSON document. */
export function regionVerifyView(r: RegionVerification, v: Pick<Verification, 'geo' | 'era'>): RegionVerify {
  return {
    ...r,
    reasons: r.reasons.map(reasonText),
    differences: r.differences.map((d) => ({...d, predicted: viewRuns(v.geo, d.predicted, v.era), actual: viewRuns(v.geo, d.actual, v.era)})),
  }
}

/** One line: why this verdict. */
function verdictSummary(regions: readonly RegionVerify[]): string {
  const linear = regions.find((r) => r.name === 'linear')
  const failing = regions.filter((r) => r.status === 'differs')
  if (!linear) return 'the snapshot has no linear map region: nothing that must verify'
  if (linear.status === 'not-verifiable') return `the linear map is not verifiable: ${linear.reasons.join('; ')}`
  if (failing.length) {
    const n = failing.reduce((a, r) => a + r.differingRanges, 0)
    const ne = failing.reduce((a, r) => a + r.notExplained, 0)
    return `${plural(n, 'differing range')} in ${failing.map((r) => r.name).join(', ')}; ${ne} not explained by the trace`
  }
  const nv = regions.filter((r) => r.status === 'not-verifiable').map((r) => r.name)
  const timed = regions.reduce((a, r) => a + (r.status === 'match' ? r.dumpTimingRanges : 0), 0)
  const exact = timed ? `, exactly but for ${plural(timed, 'range')} that changed within the dumps' timing (the snapshot shows one side of a call made as it was dumped, or a task stack after tracing stopped)` : ' exactly'
  return `every verifiable region matches${exact}${nv.length ? ` (not verifiable: ${nv.join(', ')})` : ''}`
}

/** The `--json` document of a verification. */
export function verifyResult(v: Verification): VerifyResult {
  const regions = v.regions.map((r) => regionVerifyView(r, v))
  return {
    before: v.before,
    after: v.after,
    traces: v.traces,
    geometry: v.geometry,
    policy: v.policy,
    policyReasons: v.policyReasons,
    ...(v.rebase ? {rebase: v.rebase} : {}),
    window: v.window,
    replay: v.replay,
    groundTruth: v.groundTruth,
    ...(v.returns ? {returns: v.returns} : {}),
    regions,
    regionNotes: v.regionNotes,
    diagnostics: v.diagnostics,
    verdict: v.verdict,
    summary: verdictSummary(regions),
    exitCode: v.exitCode,
  }
}

// ---------------------------------------------------------------------------------------------
// Text.

/** A region's verdict in words ("match", "DIFFERS: 2 ranges, 8 KiB, 0 not explained by the trace"). */
export function statusText(r: RegionVerify): string {
  switch (r.status) {
    case 'match':
      return r.dumpTimingRanges ? `match, but for ${plural(r.dumpTimingRanges, 'range')} the dump times explain (listed below)` : 'match'
    case 'differs':
      return `DIFFERS: ${plural(r.differingRanges, 'range')}, ${fmtBytesExact(r.differingBytes)}, ${r.notExplained} not explained by the trace`
    case 'not-verifiable':
      return 'not verifiable'
  }
}

export function refLine(label: string, c: CallRef & {range?: string}): string {
  return `${label}: ${c.call} at ${c.at} (t=${c.time}s, ${c.comm}-${c.pid}${c.range ? `, touched ${c.range}` : ''}${c.afterMarker ? `, after "${c.afterMarker}"` : ''})`
}

/** Where the replay started and stopped, in words. */
export function windowText(v: Pick<VerifyResult, 'window'>): string {
  const d = v.window.dumps
  return d?.placed
    ? `from the dump of ${d.cuts[0]!.name} to the dump of ${d.cuts[1]!.name}`
    : [v.window.fromMarker && !d ? `from "${v.window.fromMarker}"` : 'from the start', v.window.untilMarker && !d ? `until "${v.window.untilMarker}"` : 'to the end'].join(' ')
}

/** Human-readable report, one string per line. */
export function renderVerifyText(v: VerifyResult): string[] {
  const out: string[] = []
  const d = v.window.dumps
  const win = windowText(v)
  out.push(`verify: ${v.before} + ${v.traces.join(', ')} (${win}) against ${v.after}`)
  if (d) out.push(...placementText(d))
  if (v.window.dumpsAvailable && v.verdict !== 'match') out.push(`note: ${v.window.dumpsAvailable}`)
  out.push(`policy ${v.policy}${v.policyReasons.length ? `: ${v.policyReasons[0]}` : ''}`)
  for (const r of v.policyReasons.slice(1)) out.push(`  ${r}`)
  if (v.rebase) out.push(`linear map rebased for the policy: ${JSON.stringify(v.rebase)}`)
  out.push(`${fmtInt(v.window.callsApplied)} calls replayed from ${fmtInt(v.window.eventsInWindow)} of ${fmtInt(v.window.eventsSeen)} events; ${fmtInt(v.replay.callsOnUnknownMemory)} on memory the starting snapshot does not map`)
  if (v.replay.lostEvents || v.replay.overwritten) out.push(`the trace lost ${v.replay.lostEvents} and overwrote ${v.replay.overwritten} event(s): differences may come from them`)
  if (v.replay.unrecognizedLines) out.push(`${v.replay.unrecognizedLines} trace line(s) could not be read`)
  const errs = Object.entries(v.replay.errorCounts)
  if (errs.length) out.push(`kernel errors the replay hit: ${errs.map(([k, n]) => `${k} ${n}`).join(', ')}`)
  if (v.groundTruth.length) {
    out.push(`the kernel's own split probes in the window vs the replay: ${v.groundTruth.map((g) => `${g.fn} ${g.kernel}${g.kernel === g.replay ? ' (same)' : ` (replay ${g.replay})`}`).join(', ')}`)
  }
  if (v.returns) {
    const r = v.returns
    const errs = (m: Record<string, number>): string => Object.entries(m).map(([k, n]) => `${k} ${n.toLocaleString('en-US')}`).join(', ') || 'no error'
    out.push(`the kernel's return values vs the replay: ${r.calls.toLocaleString('en-US')} calls; kernel ${errs(r.kernelErrors)}, replay ${errs(r.replayErrors)}${r.disagree ? `; ${r.disagree.toLocaleString('en-US')} differ` : ' (same)'}`)
    for (const d of r.firstDisagreements.slice(0, 3)) out.push(`  ${d.fn} at ${d.at}: the kernel returned ${d.kernel}, the replay ${d.replay}`)
  }
  for (const n of v.regionNotes) out.push(`note: ${n}`)
  out.push('')
  const w = Math.max(...v.regions.map((r) => r.label.length))
  for (const r of v.regions) {
    out.push(`  ${r.label.padEnd(w)}  ${statusText(r)}`)
    for (const why of r.reasons) out.push(`  ${' '.repeat(w)}    ${why}`)
  }
  for (const r of v.regions) {
    if (!r.differences.length) continue
    out.push('')
    const tag = r.status === 'not-verifiable' ? ' (region not verifiable; differences where both sides map something)' : ''
    out.push(`${r.label}: ${plural(r.differingRanges, 'differing range')}, ${fmtBytesExact(r.differingBytes)}${tag}`)
    for (const d of r.differences) {
      out.push(`  ${d.start}-${d.end} ${fmtBytesExact(d.bytes)}: ${d.note}`)
      for (const p of d.predicted) out.push(`    predicted ${p.line}`)
      if (d.morePredicted) out.push(`    predicted … ${d.morePredicted} more run(s)`)
      for (const a of d.actual) out.push(`    actual    ${a.line}`)
      if (d.moreActual) out.push(`    actual    … ${d.moreActual} more run(s)`)
      if (d.nearest.below) out.push(`    ${refLine('nearest below', d.nearest.below)}`)
      if (d.nearest.above) out.push(`    ${refLine('nearest above', d.nearest.above)}`)
      if (d.nearest.beforeWindow) out.push(`    ${refLine('last call on it before the window', d.nearest.beforeWindow)}`)
      if (d.nearest.afterWindow) out.push(`    ${refLine('first call on it after the window', d.nearest.afterWindow)}`)
    }
    if (r.differingRanges > r.differences.length) out.push(`  … ${r.differingRanges - r.differences.length} more (--max-ranges)`)
  }
  out.push('')
  out.push(`${v.verdict === 'match' ? 'MATCH' : 'DIFFERS'}: ${v.summary}`)
  return out
}
