import {Flags} from '@oclif/core'
import {positionalArgs} from '../cli/args.js'
import {PtreplayCommand} from '../cli/base-command.js'

import {asCliError, checkOutputFlags, inputDiagnostics, ptdumpOptions, snapshotFlags, requirePtdump, takenLines} from '../cli/flags.js'
import {type DiagnosticsSummary, renderDiagnostics} from '../ingest/diagnostics.js'
import {Progress} from '../cli/progress.js'
import {knobFlags, knobsFrom, policyFlag, replayOptionsFrom, traceFlags, snapshotTraceArgs} from '../cli/replay-flags.js'
import {type ReplayReport, buildReplayReport, renderReplayText} from '../report/replay.js'
import {renderAuditText} from '../report/audit-text.js'
import {useColor} from '../report/terminal/strip.js'
import {outputStyle, wrapText} from '../report/output-style.js'
import {kernelLine, loadFacts} from '../capture/facts.js'
import {readPtdump} from '../ingest/ptdump/index.js'
import {choosePolicy, runReplay} from '../replay/run.js'

export interface ReplayResult extends ReplayReport {
  source: {snapshot: string; traces: string[]; facts: string[]}
  /** Every input's diagnostics (snapshot and traces), through the one table. */
  diagnostics: DiagnosticsSummary
  htmlFile?: string
  /** The Perfetto trace written with --perfetto. */
  perfettoFile?: string
}

export default class Replay extends PtreplayCommand {
  static override summary = "Replay a trace through the kernel's split/collapse logic and report what it cost."

  static override description = `Starts from a ptdump snapshot, drives every set_memory_*/set_direct_map_*/
__change_memory_common/update_range_prot call of the trace through the kernel's own logic
(split_kernel_leaf_mapping, the pageattr walk, the proposed collapse, …) under a policy, and
reports the final page tables (as \`audit\`), the kernel's counters under the kernel's names,
table pages allocated and freed, kernel errors the calls would have hit, calls on memory the
snapshot does not describe, and the top offenders (caller from stacks, probe, module, comm).

--policy auto (the default) infers what the captured kernel did from the files beside the
snapshot in a capture bundle (version.txt, cmdline, config, cpuinfo, dmesg) and from the
snapshot itself, and prints the reasoning. When the policy maps the linear map differently
from the snapshot (a PTE-mapped 6.1 capture replayed under bbml2), the boot map is first
re-derived with map_mem() and the captured permissions re-applied; the output says so.

Hits of the kernel's own split helpers in the trace (split_pmd, split_contpte, …) are not
replayed: they are the ground truth the prediction is printed against.`

  static override examples = [
    {
      description: 'The 6.19 BBML2 capture from its "loaded" snapshot through the BPF phase',
      command:
        '<%= config.bin %> replay samples/linux-6.19-bbml2-qemu/max-2G-default/kernel_page_tables.loaded samples/linux-6.19-bbml2-qemu/max-2G-default/trace.txt.gz --from-marker "capture: bpf phase begin"',
    },
    {
      description: 'What mainline BBML2 splitting would do with a 6.1 rodata=full workload',
      command: '<%= config.bin %> replay samples/debian-6.1-qemu/max-2G-default/kernel_page_tables.before samples/debian-6.1-qemu/max-2G-default/trace.txt --policy bbml2',
    },
    {
      description: 'The series and the markers as Perfetto counter tracks (open in ui.perfetto.dev)',
      command: '<%= config.bin %> replay samples/linux-6.19-bbml2-qemu/max-2G-default/kernel_page_tables.loaded samples/linux-6.19-bbml2-qemu/max-2G-default/trace.txt.gz --perfetto replay.pftrace',
    },
    {description: 'Machine-readable, with an HTML report', command: '<%= config.bin %> replay samples/debian-6.12-qemu/max-2G-default/kernel_page_tables.before samples/debian-6.12-qemu/max-2G-default/trace.txt --json --html report.html'},
  ]

  static override enableJsonFlag = true

  static override strict = false

  static override args = snapshotTraceArgs

  static override flags = {
    ...snapshotFlags,
    policy: policyFlag,
    ...knobFlags,
    ...traceFlags,
    html: Flags.string({description: 'Also write a self-contained HTML report (fragmentation map, charts over the trace, offenders) to FILE.'}),
    perfetto: Flags.string({
      description: "Also write the time series (page-table bytes, TLB entries, splits, collapses) and the trace's markers as a Perfetto trace (TrackEvent counter tracks, the trace's own ns timestamps) to FILE; open it in ui.perfetto.dev.",
      helpValue: 'FILE',
    }),
    chart: Flags.boolean({description: 'Print the table-bytes chart over the trace.', default: true, allowNo: true}),
  }

  async run(): Promise<ReplayResult> {
    const parsed = await this.parse(Replay)
    const {flags} = parsed
    const argv = positionalArgs(parsed, this.id ?? 'replay')
    const [ptdump, ...traces] = argv as string[]
    const progress = new Progress(!this.jsonEnabled())
    let result: ReplayResult
    let taken: string[] = []
    const writeFailures: string[] = []
    try {
      checkOutputFlags({'--html': flags.html, '--perfetto': flags.perfetto}, this.jsonEnabled())
      const snapshot = await readPtdump(ptdump!, ptdumpOptions(flags))
      requirePtdump(snapshot)
      const {facts, files} = loadFacts(snapshot.source)
      const choice = choosePolicy(flags.policy, knobsFrom(flags), snapshot, facts)
      const opts = replayOptionsFrom(flags, flags.strict)
      opts.trace = {...opts.trace, onProgress: progress.bytes}
      opts.onProgress = (n) => (progress.items = n)
      // The Perfetto writer (protobufjs), the HTML renderers and the chart load only when asked for.
      const perfetto = flags.perfetto ? await import('../report/perfetto.js') : undefined
      const html = flags.html ? {...(await import('../report/html/render.js')), ...(await import('../report/html/replay-doc.js'))} : undefined
      const markers = perfetto ? new perfetto.MarkerLog() : undefined
      markers?.hook(opts)
      const timeline = html ? new html.TimelineLog() : undefined
      timeline?.hook(opts)
      const run = await runReplay(snapshot, traces, choice, opts)
      progress.stop()
      const report = buildReplayReport(run, snapshot.pt, snapshot.regions)
      result = {source: {snapshot: snapshot.source, traces: run.traceStats.files.map((f) => f.name), facts: files}, diagnostics: inputDiagnostics([snapshot], run), ...report}
      taken = takenLines([snapshot], run.traceTaken)
      if (flags.perfetto) {
        try {
          await perfetto!.writePerfettoTrace(flags.perfetto, [{label: choice.policy.name, series: report.series}], markers!.markers)
        } catch (e) {
          writeFailures.push(`${flags.perfetto}: cannot write the Perfetto trace: ${(e as Error).message}`)
        }
        result.perfettoFile = flags.perfetto
      }
      if (flags.html) {
        const doc = html!.replayHtmlDoc({report, pt: run.pt, regions: snapshot.regions, source: snapshot.source, kernel: kernelLine(facts), version: this.config.version, log: timeline})
        html!.writeHtmlOrNote(flags.html, html!.renderHtmlReport(doc), writeFailures)
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
      for (const line of renderReplayText(result)) log(line)
      log('')
      log('After the replay')
      for (const line of renderAuditText(result.after)) log(line)
      if (flags.chart && result.series.length > 2) {
        log('')
        const {renderAsciiSeries} = await import('../report/terminal/chart.js')
        for (const line of renderAsciiSeries(
          [result.tableBytesBefore, ...result.series.map((x) => x.tableBytes)],
          {height: 8, width: Math.min(72, outputStyle().width - 14), format: 'bytes', color: useColor(), title: 'table bytes over the trace', xLabel: 'kernel calls', xRange: [0, result.series.at(-1)!.calls]},
        ))
          log(line)
      }
      if (result.htmlFile && result.htmlFile !== '-') log(`\nHTML report: ${result.htmlFile}`)
      if (result.perfettoFile) log(`${result.htmlFile ? '' : '\n'}Perfetto trace: ${result.perfettoFile} (open in ui.perfetto.dev)`)
      for (const line of renderDiagnostics(result.diagnostics)) this.logToStderr(line)
    }
    // A late write failure: the report above is still printed, then the error (exit 2).
    if (writeFailures.length) this.error(writeFailures.join('; '), {exit: 2})
    return result
  }
}
