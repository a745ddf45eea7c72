import {Args, Flags} from '@oclif/core'

import {positionalArgs} from '../cli/args.js'
import {PtreplayCommand} from '../cli/base-command.js'
import {asCliError, parseMapFlag} from '../cli/flags.js'
import {Progress} from '../cli/progress.js'
import {renderDiagnostics} from '../ingest/diagnostics.js'
import {resolveTraceInputs} from '../ingest/input.js'
import {InputError} from '../ingest/source.js'
import '../ingest/trace/bpftrace.js'
import '../ingest/trace/csv.js'
import {readerNames, readTrace} from '../ingest/trace/index.js'
import {parsePageSize} from '../model/geometry.js'
import {type OutputSink, checkOutputPath, openOutput} from '../report/atomic-file.js'
import {EXPORT_FORMATS, EventExporter, type ExportFormat, exportFormatFor} from '../report/events-export.js'
import {type EventsSummary, EventsTally, summarizeEvents} from '../report/events-summary.js'
import {renderEventsText} from '../report/events-text.js'
import {fitProse} from '../report/output-style.js'

export type EventsResult = EventsSummary

interface EventsFlags {
  format?: string
  map?: string[]
  granule?: string
  strict: boolean
  output?: string
  to?: string
}

export default class Events extends PtreplayCommand {
  static override summary = 'Summarize a trace of page-permission events, or convert it to CSV/JSON.'

  static override description = `Reads traces in any supported format (detected from the first lines, or --format):
tracefs trace/trace_pipe, trace-cmd's binary trace.dat (versions 6 and 7, compressed or not;
by its magic bytes), trace-cmd report, perf script, bpftrace (text and -f json, the
capture-script's "PGP " lines) and CSV (the CSV trace schema); gzip, zstd and xz by magic bytes;
a capture bundle directory or its tarball from \`capture.sh -t\` (.tar, .tar.gz, .tar.zst, .tar.xz:
its trace.txt, trace.dat, trace-cmd.txt, perf.txt, bpftrace.txt or trace.csv).
Several inputs are merged in time order.

Prints events per kind, probe, comm and CPU, the time span, lost events and the lines it did
not understand (first examples with file:line). With --output, writes the normalized events as
CSV (re-readable by ptreplay), JSON (an array) or NDJSON (one object a line), atomically.`

  static override examples = [
    {description: 'Summary of a real capture', command: '<%= config.bin %> events samples/debian-6.1-qemu/max-2G-default/trace.txt'},
    {description: 'A trace-cmd recording (trace.dat, read directly)', command: '<%= config.bin %> events samples/linux-7.3-debian-qemu/ampere1a-2G-tools/trace.dat'},
    {description: 'A bundle written by capture-script (directory or tarball)', command: '<%= config.bin %> events samples/linux-7.3-debian-qemu/ampere1a-2G-default/'},
    {description: 'Convert a compressed trace to CSV (gzip, zstd or xz)', command: '<%= config.bin %> events samples/linux-7.3-debian-qemu/max-2G-default/trace.txt.gz --output events.csv --to csv'},
    {
      description: 'A trace whose probes have custom names (here set_memory_ro renamed to "ro")',
      command: "sed 's|set_memory_ro: (set_memory_ro+0x0/0x30)|ro:|' samples/debian-6.1-qemu/max-2G-default/trace.txt | <%= config.bin %> events - --map ro=set_memory_ro",
    },
  ]

  static override enableJsonFlag = true
  static override strict = false

  static override args = {
    trace: Args.string({description: 'trace file(s), bundle directories, or - for stdin', required: true}),
  }

  static override flags = {
    format: Flags.string({description: 'Input format instead of detection (tracefs, trace.dat, trace-cmd, perf, bpftrace, bpftrace-json, csv).'}),
    map: Flags.string({description: 'NAME=KIND: treat event or symbol NAME as kernel function or event kind KIND (repeatable).', multiple: true}),
    granule: Flags.string({description: 'Page size of the traced kernel (4k, 16k, 64k or bytes); default from the bundle, else 4k.', aliases: ['page-size']}),
    strict: Flags.boolean({description: 'Fail on the first line that does not parse.', default: false}),
    output: Flags.string({char: 'o', description: 'Write the normalized events to this file (written to a temp file, then renamed).'}),
    to: Flags.string({description: 'Output format for --output (default from its extension, else ndjson).', options: [...EXPORT_FORMATS]}),
  }

  async run(): Promise<EventsResult> {
    const parsed = await this.parse(Events)
    const {flags} = parsed
    const argv = positionalArgs(parsed, this.id ?? 'events')
    // Bundles (directories, tarballs) stand for their trace; the first tells the page size.
    const inputs = await resolveTraceInputs(argv)
    try {
      return await this.readAndReport(inputs.paths, inputs.pageSize, flags)
    } finally {
      inputs.cleanup()
    }
  }

  private async readAndReport(paths: string[], bundlePageSize: number | undefined, flags: EventsFlags): Promise<EventsResult> {
    const json = this.jsonEnabled()
    let pageSize = bundlePageSize
    if (flags.granule !== undefined) {
      pageSize = parsePageSize(flags.granule.replace(/^(\d+k)b$/i, '$1'))
      if (pageSize === undefined) this.error(`--granule ${flags.granule}: expected 4k, 16k or 64k`, {exit: 2})
    }
    const formats = [...readerNames(), 'trace.dat']
    if (flags.format !== undefined && !formats.includes(flags.format)) {
      this.error(`--format ${flags.format}: unknown trace format; expected one of ${formats.join(', ')}`, {exit: 2})
    }
    const map = parseMapFlag(flags.map)
    const to: ExportFormat | undefined = flags.output !== undefined ? ((flags.to as ExportFormat | undefined) ?? exportFormatFor(flags.output)) : undefined
    if (flags.to && flags.output === undefined) this.error('--to needs --output FILE', {exit: 2})
    if (flags.output !== undefined) {
      // Before any reading: a bad output path is found now, not after the run.
      checkOutputPath(flags.output, '--output')
      if (flags.output === '-' && json) this.error('--output - and --json both write to stdout: give --output a file', {exit: 2})
    }

    const progress = new Progress(!json)
    const tally = new EventsTally()
    const onProgress = progress.bytes

    const read = readTrace(paths, {format: flags.format, map, pageSize, strict: flags.strict, onProgress})
    let writer: OutputSink | undefined
    let exporter: EventExporter | undefined
    try {
      if (flags.output !== undefined && to) {
        writer = openOutput(flags.output)
        exporter = new EventExporter(writer, to)
        await exporter.begin()
      }
      for await (const batch of read.batches) {
        progress.items += batch.length
        tally.add(batch)
        if (exporter) await exporter.add(batch)
      }
      if (exporter) {
        await exporter.end()
        await writer!.commit()
      }
    } catch (e) {
      writer?.abort()
      progress.stop()
      if (e instanceof InputError) this.error(e.message, {exit: 2})
      if ((e as NodeJS.ErrnoException).code && flags.output) this.error(`${flags.output}: cannot write (${(e as NodeJS.ErrnoException).code})`, {exit: 2})
      asCliError(e)
    }
    progress.stop()
    const result: EventsResult = summarizeEvents(read.stats, read.diagnostics, tally)
    if (exporter && flags.output !== undefined && to) result.output = {path: flags.output, to, events: exporter.count}
    if (!json) {
      // With --output - the events own stdout: the summary goes to stderr.
      for (const line of fitProse(renderEventsText(result))) {
        if (flags.output === '-') this.logToStderr(line)
        else this.log(line)
      }
      for (const line of renderDiagnostics(result.diagnostics)) this.logToStderr(line)
    }
    return result
  }
}
