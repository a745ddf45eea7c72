import {Flags} from '@oclif/core'
import {checkOutputs} from '../report/atomic-file.js'
import {positionalArgs} from '../cli/args.js'
import {PtreplayCommand} from '../cli/base-command.js'
import {CodedInputError} from '../cli/errors.js'
import {wrapText} from '../report/output-style.js'

import {asCliError, inputDiagnostics, ptdumpOptions, snapshotFlags, requirePtdump, takenLines} from '../cli/flags.js'
import {type DiagnosticsSummary, renderDiagnostics} from '../ingest/diagnostics.js'
import {Progress} from '../cli/progress.js'
import {knobFlags, knobsFrom, replayOptionsFrom, traceFlags, snapshotTraceArgs} from '../cli/replay-flags.js'
import {POLICIES} from '../kernel/policy.js'
import {type CompareReport, buildCompareReport, renderCompareText} from '../report/compare.js'
import {buildReplayReport} from '../report/replay.js'
import {choosePolicy, loadFacts, loadSnapshot, runReplay} from '../replay/run.js'

export interface CompareResult extends CompareReport {
  source: {snapshot: string; traces: string[]}
  /** Every input's diagnostics (snapshot and traces, read once per policy: the first read's), through the one table. */
  diagnostics: DiagnosticsSummary
  htmlFile?: string
  /** The Perfetto trace written with --perfetto. */
  perfettoFile?: string
}

export default class Compare extends PtreplayCommand {
  static override summary = 'The same capture replayed under several policies, side by side.'

  static override description = `Replays one snapshot and trace under each policy given and prints, per policy,
the page-table bytes, TLB entries, splits, collapses, table pages allocated and freed, peak
table bytes and kernel errors, with the change against the first policy. "auto" is allowed
as a policy (what the captured kernel did).

Policies: ${Object.keys(POLICIES).join(', ')}, auto.`

  static override examples = [
    {
      description: 'Mainline PTE-only vs BBML2 vs the proposed collapse on the 6.19 capture',
      command:
        '<%= config.bin %> compare samples/linux-6.19-bbml2-qemu/max-2G-default/kernel_page_tables.loaded samples/linux-6.19-bbml2-qemu/max-2G-default/trace.txt.gz --from-marker "capture: bpf phase begin" --policies pte-only,bbml2,collapse-general,x86-cpa',
    },
    {description: 'HTML with one bar group per policy and the maps side by side', command: '<%= config.bin %> compare samples/debian-6.1-qemu/max-2G-default/kernel_page_tables.before samples/debian-6.1-qemu/max-2G-default/trace.txt --policies auto,bbml2 --html compare.html'},
  ]

  static override enableJsonFlag = true

  static override strict = false

  static override args = snapshotTraceArgs

  static override flags = {
    ...snapshotFlags,
    policies: Flags.string({description: 'Comma-separated policies; the first is the baseline for deltas.', default: 'auto,pte-only,bbml2,collapse-both'}),
    ...knobFlags,
    ...traceFlags,
    html: Flags.string({description: 'Also write a self-contained HTML report (bars per policy, maps side by side) to FILE.'}),
    perfetto: Flags.string({
      description: "Also write each policy's time series (page-table bytes, TLB entries, splits, collapses: one set of counter tracks per policy) and the trace's markers as a Perfetto trace to FILE.",
      helpValue: 'FILE',
    }),
  }

  async run(): Promise<CompareResult> {
    const parsed = await this.parse(Compare)
    const {flags} = parsed
    const argv = positionalArgs(parsed, this.id ?? 'compare')
    const [ptdump, ...traces] = argv as string[]
    const names = flags.policies.split(',').map((s) => s.trim()).filter(Boolean)
    if (!names.length) this.error('--policies: give at least one policy', {exit: 2})
    for (const n of names) if (n !== 'auto' && !(n in POLICIES)) this.error(`--policies: unknown policy "${n}" (known: ${Object.keys(POLICIES).join(', ')}, auto)`, {exit: 2})
    // One pass over the trace per policy: the expected work is the trace's text × the policies.
    const progress = new Progress(!this.jsonEnabled(), 'events', names.length)
    let result: CompareResult
    let taken: string[] = []
    const writeFailures: string[] = []
    try {
      for (const [flag, path] of Object.entries({'--html': flags.html, '--perfetto': flags.perfetto})) if (path === '-' && this.jsonEnabled()) throw new CodedInputError('usage', `${flag} -: stdout carries the --json document; give ${flag} a file`)
      checkOutputs({'--html': flags.html, '--perfetto': flags.perfetto})
      const snapshot = await loadSnapshot(ptdump!, ptdumpOptions(flags))
      requirePtdump(snapshot)
      const {facts} = loadFacts(snapshot.source)
      const knobs = knobsFrom(flags)
      const runs = []
      // The Perfetto writer (protobufjs) loads only when asked for.
      const perfetto = flags.perfetto ? await import('../report/perfetto.js') : undefined
      const markers = perfetto ? new perfetto.MarkerLog() : undefined
      for (const name of names) {
        const choice = choosePolicy(name, knobs, snapshot, facts)
        const opts = replayOptionsFrom(flags, flags.strict)
        progress.label = name
        progress.pass = runs.length
        opts.trace = {...opts.trace, onProgress: progress.bytes}
        opts.onProgress = (n) => (progress.items = n)
        if (markers && runs.length === 0) markers.hook(opts)
        const run = await runReplay(snapshot, traces, choice, opts)
        runs.push({label: name === 'auto' ? `auto (${choice.policy.name})` : name, run, report: buildReplayReport(run, snapshot.pt, snapshot.regions)})
      }
      progress.stop()
      const first = runs[0]!.run
      result = {
        source: {snapshot: snapshot.source, traces: first.traceStats.files.map((f) => f.name)},
        diagnostics: inputDiagnostics([snapshot], first),
        ...buildCompareReport(runs.map((r) => ({label: r.label, report: r.report}))),
      }
      taken = takenLines([snapshot], first.traceTaken)
      if (flags.perfetto) {
        try {
          await perfetto!.writePerfettoTrace(flags.perfetto, runs.map((r) => ({label: r.label, series: r.report.series})), markers!.markers)
        } catch (e) {
          writeFailures.push(`${flags.perfetto}: cannot write the Perfetto trace: ${(e as Error).message}`)
        }
        result.perfettoFile = flags.perfetto
      }
      if (flags.html) {
        const [{renderHtmlReport, writeHtmlOrNote}, {compareHtmlDoc}] = await Promise.all([import('../report/html/render.js'), import('../report/html/replay-doc.js')])
        const doc = compareHtmlDoc({
          report: result,
          runs: runs.map((r) => ({label: r.label, pt: r.run.pt, report: r.report})),
          regions: snapshot.regions,
          source: snapshot.source,
          kernel: facts.version?.trim().split('\n')[0],
          version: this.config.version,
        })
        writeHtmlOrNote(flags.html, renderHtmlReport(doc), writeFailures)
        result.htmlFile = flags.html
      }
    } catch (e) {
      progress.stop()
      asCliError(e)
    }
    if (!this.jsonEnabled()) {
      // An output written to stdout (-) is stdout's only content: the text goes to stderr.
      const log = flags.html === '-' || flags.perfetto === '-' ? (l: string) => this.logToStderr(l) : (l: string) => this.log(l)
      for (const line of taken) this.logToStderr(line)
      for (const line of wrapText(`${result.source.snapshot} + ${result.source.traces.join(', ')}`)) log(line)
      for (const line of renderCompareText(result)) log(line)
      if (result.htmlFile && result.htmlFile !== '-') log(`\nHTML report: ${result.htmlFile}`)
      if (result.perfettoFile) log(`${result.htmlFile ? '' : '\n'}Perfetto trace: ${result.perfettoFile} (open in ui.perfetto.dev)`)
      for (const line of renderDiagnostics(result.diagnostics)) this.logToStderr(line)
    }
    // A late write failure: the report above is still printed, then the error (exit 2).
    if (writeFailures.length) this.error(writeFailures.join('; '), {exit: 2})
    return result
  }
}
