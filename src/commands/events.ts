import {existsSync, statSync} from 'node:fs'
import {Args, Flags} from '@oclif/core'
import {positionalArgs} from '../cli/args.js'
import {PtreplayCommand} from '../cli/base-command.js'
import {fitProse} from '../report/output-style.js'
import {renderMarkers} from '../report/markers.js'
import {MarkerLog} from '../replay/markers.js'

import {bundleInfo, bundleTrace, extractBundleTar, isBundleTar} from '../capture/bundle.js'
import {asCliError} from '../cli/flags.js'
import {Progress} from '../cli/progress.js'
import {type DiagnosticsSummary, renderDiagnostics, summarizeDiagnostics} from '../ingest/diagnostics.js'
import type {Diagnostic} from '../ingest/events.js'
import {InputError} from '../ingest/source.js'
import '../ingest/trace/bpftrace.js'
import '../ingest/trace/csv.js'
import {readerNames, readTrace, type TraceStats} from '../ingest/trace/index.js'
import {type OutputSink, checkOutputPath, openOutput} from '../report/atomic-file.js'
import {EXPORT_FORMATS, EventExporter, type ExportFormat} from '../report/events-export.js'
import {fmtBytes, renderTable} from '../report/table.js'


export interface EventsResult {
  inputs: {path: string; format: string; lines: number; bytes: number}[]
  format: string
  events: number
  span: {firstNs?: string; lastNs?: string; seconds?: number}
  /** trace_marker texts in trace order (the first 200 distinct), for --from-marker/--until-marker. */
  markers?: {text: string; count: number}[]
  byKind: Record<string, number>
  byProbe: Record<string, number>
  byComm: Record<string, number>
  byCpu: Record<string, number>
  lost: {events: number; markers: number; byCpu: Record<string, number>; overwritten: number}
  unrecognized: {lines: number; examples: string[]}
  /** Events that carry a kernel stack. */
  stacks: number
  /** Every input's diagnostics through the one table (the same object on every command). */
  diagnostics: DiagnosticsSummary
  output?: {path: string; to: ExportFormat; events: number}
}

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
    const inputs = (argv as string[]).length ? (argv as string[]) : []
    let pageSize: number | undefined
    const paths: string[] = []
    const cleanups: (() => void)[] = []
    try {
      for (const p of inputs) {
        let dir: string | undefined
        if (p !== '-' && existsSync(p) && statSync(p).isDirectory()) dir = p
        else if (p !== '-' && isBundleTar(p) && existsSync(p)) {
          // capture.sh -t: the bundle as a tarball; its trace is extracted to a temp dir.
          const x = await extractBundleTar(p).catch((e: unknown) => asCliError(e))
          cleanups.push(x.cleanup)
          dir = x.dir
        }
        if (dir !== undefined) {
          const t = bundleTrace(dir)
          if (!t) this.error(`${p}: a bundle without a trace (expected trace.txt, trace.dat, trace-cmd.txt, perf.txt, bpftrace.txt or trace.csv)`, {exit: 2})
          pageSize ??= bundleInfo(dir).pageSize
          paths.push(t.path)
        } else paths.push(p)
      }
      return await this.readAndReport(paths, pageSize, flags)
    } finally {
      for (const c of cleanups) c()
    }
  }

  private async readAndReport(paths: string[], bundlePageSize: number | undefined, flags: EventsFlags): Promise<EventsResult> {
    const json = this.jsonEnabled()
    let pageSize = bundlePageSize
    if (flags.granule !== undefined) pageSize = parsePageSizeFlag(flags.granule, (m) => this.error(m, {exit: 2}))
    const formats = [...readerNames(), 'trace.dat']
    if (flags.format !== undefined && !formats.includes(flags.format)) {
      this.error(`--format ${flags.format}: unknown trace format; expected one of ${formats.join(', ')}`, {exit: 2})
    }
    const map: Record<string, string> = {}
    for (const m of flags.map ?? []) {
      const eq = m.indexOf('=')
      if (eq <= 0 || eq === m.length - 1) this.error(`--map ${m}: expected NAME=KIND`, {exit: 2})
      map[m.slice(0, eq)] = m.slice(eq + 1)
    }
    const to: ExportFormat | undefined = flags.output !== undefined ? ((flags.to as ExportFormat | undefined) ?? formatFromName(flags.output)) : undefined
    if (flags.to && flags.output === undefined) this.error('--to needs --output FILE', {exit: 2})
    if (flags.output !== undefined) {
      // Before any reading: a bad output path is found now, not after the run.
      checkOutputPath(flags.output, '--output')
      if (flags.output === '-' && json) this.error('--output - and --json both write to stdout: give --output a file', {exit: 2})
    }

    const progress = new Progress(!json)
    // Counted here, on the events delivered, whatever reader attached the stack.
    let withStack = 0
    const markers = new MarkerLog()
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
        for (let i = 0; i < batch.length; i++) {
          if (batch[i]!.stack) withStack++
          if (batch[i]!.kind === 'marker') markers.add(batch[i]!.text)
        }
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
    const result = summarize(read.stats, read.diagnostics)
    result.stacks = withStack
    result.markers = markers.list()
    if (exporter && flags.output !== undefined && to) result.output = {path: flags.output, to, events: exporter.count}
    if (!json) {
      // With --output - the events own stdout: the summary goes to stderr.
      for (const line of fitProse(renderSummary(result))) {
        if (flags.output === '-') this.logToStderr(line)
        else this.log(line)
      }
      for (const line of renderDiagnostics(result.diagnostics)) this.logToStderr(line)
    }
    return result
  }
}

function parsePageSizeFlag(text: string, fail: (m: string) => never): number {
  const m = /^(\d+)(k|K|kb|KB)?$/.exec(text.trim())
  const n = m ? Number(m[1]) * (m[2] ? 1024 : 1) : NaN
  if (n !== 4096 && n !== 16384 && n !== 65536) fail(`--granule ${text}: expected 4k, 16k or 64k`)
  return n
}

function formatFromName(path: string): ExportFormat {
  if (/\.csv$/i.test(path)) return 'csv'
  if (/\.json$/i.test(path)) return 'json'
  return 'ndjson'
}

export function summarize(stats: TraceStats, diagnostics: Diagnostic[]): EventsResult {
  const first = stats.firstTsNs
  const last = stats.lastTsNs
  return {
    inputs: stats.files.map((f) => ({path: f.name, format: f.format, lines: f.lines, bytes: f.bytes})),
    format: stats.format,
    events: stats.events,
    span: {
      firstNs: first?.toString(),
      lastNs: last?.toString(),
      seconds: first !== undefined && last !== undefined ? Number(last - first) / 1e9 : undefined,
    },
    byKind: sortDesc(stats.byKind),
    byProbe: sortDesc(stats.byProbe),
    byComm: sortDesc(stats.byComm),
    byCpu: stats.byCpu,
    lost: {events: stats.lostEvents, markers: stats.lostMarkers, byCpu: stats.lostByCpu, overwritten: stats.overwritten},
    unrecognized: {lines: stats.unrecognized, examples: stats.unrecognizedExamples.map((d) => d.message)},
    stacks: stats.stacks,
    diagnostics: summarizeDiagnostics([{diagnostics, counts: stats.diagnosticsByCode}]),
  }
}

function sortDesc(o: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)))
}

const n = (x: number) => x.toLocaleString('en-US')

function secondsOf(ns: string): string {
  const b = BigInt(ns)
  return `${b / 1_000_000_000n}.${(b % 1_000_000_000n).toString().padStart(9, '0')}`
}

/** Human summary (stdout). */
export function renderSummary(r: EventsResult): string[] {
  const out: string[] = []
  for (const i of r.inputs) out.push(`${i.path}: ${i.format}, ${n(i.lines)} lines, ${fmtBytes(i.bytes)}`)
  const span =
    r.span.firstNs !== undefined && r.span.lastNs !== undefined
      ? ` over ${r.span.seconds!.toFixed(6)} s (${secondsOf(r.span.firstNs)} → ${secondsOf(r.span.lastNs)})`
      : ''
  out.push(`${n(r.events)} events${span}${r.stacks ? `, ${n(r.stacks)} with a kernel stack` : ''}`)
  const table = (title: string, o: Record<string, number>, limit = 20) => {
    const rows = Object.entries(o)
    if (!rows.length) return
    out.push('')
    const shown = rows.slice(0, limit).map(([k, v]) => [k, n(v)])
    if (rows.length > limit) shown.push([`(${rows.length - limit} more)`, n(rows.slice(limit).reduce((s, [, v]) => s + v, 0))])
    out.push(...renderTable([{header: title, align: 'left'}, {header: 'events'}], shown))
  }
  table('kind', r.byKind)
  table('probe', r.byProbe)
  table('comm', r.byComm, 10)
  table('cpu', Object.fromEntries(Object.entries(r.byCpu).sort((a, b) => Number(a[0]) - Number(b[0]))))
  out.push(...renderMarkers(r.markers ?? []))
  out.push('')
  if (r.lost.markers === 0 && r.lost.overwritten === 0) out.push('lost events: none reported')
  else {
    const per = Object.entries(r.lost.byCpu)
      .map(([c, v]) => `${c === '-1' ? 'tracer' : `CPU ${c}`}: ${n(v)}`)
      .join(', ')
    out.push(`lost events: ${n(r.lost.events)} in ${n(r.lost.markers)} loss markers${per ? ` (${per})` : ''}${r.lost.overwritten ? `; ${n(r.lost.overwritten)} overwritten before the snapshot` : ''}`)
  }
  if (r.unrecognized.lines) {
    out.push(`unrecognized lines: ${n(r.unrecognized.lines)}; first:`)
    for (const e of r.unrecognized.examples.slice(0, 5)) out.push(`  ${e}`)
  }
  if (r.output) out.push(`wrote ${n(r.output.events)} events to ${r.output.path} (${r.output.to})`)
  return out
}
