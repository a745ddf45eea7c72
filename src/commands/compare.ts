import {Flags} from '@oclif/core'
import {positionalArgs} from '../cli/args.js'
import {PtreplayCommand} from '../cli/base-command.js'
import {wrapText} from '../report/output-style.js'

import {asCliError, checkOutputFlags, inputDiagnostics, ptdumpOptions, snapshotFlags, requirePtdump, takenLines} from '../cli/flags.js'
import {type DiagnosticsSummary, renderDiagnostics} from '../ingest/diagnostics.js'
import {Progress} from '../cli/progress.js'
import {knobFlags, knobsFrom, parsePolicyList, replayOptionsFrom, traceFlags, snapshotTraceArgs} from '../cli/replay-flags.js'
import {POLICIES} from '../kernel/policy.js'
import {type CompareReport, buildCompareReport, renderCompareText} from '../report/compare.js'
import {buildReplayReport} from '../report/replay.js'
import {kernelLine, loadFacts} from '../capture/facts.js'
import {readPtdump} from '../ingest/ptdump/index.js'
import {replayPolicies} from '../replay/compare.js'

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
    const names = parsePolicyList(flags.policies)
    // One pass over the trace per policy: the expected work is the trace's text × the policies.
    const progress = new Progress(!this.jsonEnabled(), 'events', names.length)
    let result: CompareResult
    let taken: string[] = []
    const writeFailures: string[] = []
    try {
      checkOutputFlags({'--html': flags.html, '--perfetto': flags.perfetto}, this.jsonEnabled())
      const snapshot = await readPtdump(ptdump!, ptdumpOptions(flags))
      requirePtdump(snapshot)
      const {facts} = loadFacts(snapshot.source)
      // The Perfetto writer (protobufjs) loads only when asked for.
      const perfetto = flags.perfetto ? await import('../report/perfetto.js') : undefined
      const markers = perfetto ? new perfetto.MarkerLog() : undefined
      const policyRuns = await replayPolicies(snapshot, traces, names, knobsFrom(flags), facts, (pass, name) => {
        const opts = replayOptionsFrom(flags, flags.strict)
        progress.label = name
        progress.pass = pass
        opts.trace = {...opts.trace, onProgress: progress.bytes}
        opts.onProgress = (n) => (progress.items = n)
        // The markers are the trace's: the first pass collects them.
        if (markers && pass === 0) markers.hook(opts)
        return opts
      })
      progress.stop()
      const runs = policyRuns.map((r) => ({label: r.label, run: r.run, report: buildReplayReport(r.run, snapshot.pt, snapshot.regions)}))
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
          kernel: kernelLine(facts),
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
