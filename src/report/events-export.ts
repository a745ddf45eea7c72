/**
 * Normalized trace events → CSV / JSON / NDJSON, written atomically (temp file in the same
 * directory, renamed over the target only when everything was written; removed on failure).
 *
 * The CSV is the CSV trace schema of src/ingest/trace/csv.ts (`ts_ns`, `event`, `function`,
 * `return`, the probe argument columns as captured), so `ptreplay events out.csv` reads it back
 * into the same normalized events. `kind` is an informational column the reader ignores.
 * JSON/NDJSON carry every normalized field; bigints (timestamps, masks, return values) are
 * strings, addresses `0x%016lx`.
 */
import type {OutputSink} from './atomic-file.js'

import {formatKva} from '../model/address.js'
import type {TraceEvent} from '../ingest/events.js'

export const EXPORT_FORMATS = ['csv', 'json', 'ndjson'] as const
export type ExportFormat = (typeof EXPORT_FORMATS)[number]

/** The format a file name asks for by its extension (.csv, .json), else NDJSON. */
export function exportFormatFor(path: string): ExportFormat {
  if (/\.csv$/i.test(path)) return 'csv'
  if (/\.json$/i.test(path)) return 'json'
  return 'ndjson'
}

/**
 * Argument columns of the CSV export: every argument the capture-script probes print (see
 * src/capture/probes.ts), plus the common ones of other recipes. Arguments of other names are
 * not in the CSV (NDJSON keeps them).
 */
export const CSV_ARG_COLUMNS = [
  'addr',
  'numpages',
  'enable',
  'page',
  'nr',
  'valid',
  'start',
  'size',
  'end',
  'set_mask',
  'clear_mask',
  'ret',
  'ptr',
  'type',
  'pudp',
  'pud',
  'pmdp',
  'pmd',
  'ptep',
] as const

const CSV_HEADER = ['ts_ns', 'cpu', 'pid', 'comm', 'event', 'function', 'return', 'kind', ...CSV_ARG_COLUMNS, 'text', 'stack']

/** RFC 4180 quoting: only when needed. */
export function csvCell(s: string): string {
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s
}

export function eventToCsvRow(ev: TraceEvent): string {
  const args = ev.args ?? {}
  const cells = [
    ev.tsNs.toString(),
    String(ev.cpu),
    String(ev.pid),
    ev.comm,
    ev.probe,
    ev.fn,
    ev.kind === 'return' ? '1' : '',
    ev.kind,
    ...CSV_ARG_COLUMNS.map((c) => args[c] ?? ''),
    ev.kind === 'marker' || ev.kind === 'module_load' || ev.kind === 'module_free' || ev.kind === 'other' ? (ev.text ?? '') : '',
    ev.stack ? ev.stack.join(';') : '',
  ]
  return cells.map(csvCell).join(',')
}

const hex = (b: bigint | undefined) => (b === undefined ? undefined : '0x' + b.toString(16))

/** The JSON shape of one event (README "events --to json"). */
export function eventToJson(ev: TraceEvent): Record<string, unknown> {
  const o: Record<string, unknown> = {
    ts_ns: ev.tsNs.toString(),
    cpu: ev.cpu,
    pid: ev.pid,
    comm: ev.comm,
    kind: ev.kind,
    fn: ev.fn,
    probe: ev.probe,
  }
  if (ev.addr !== undefined) o.addr = formatKva(ev.addr)
  else if (ev.addrText !== undefined) o.addr_text = ev.addrText
  if (ev.end !== undefined) o.end = formatKva(ev.end)
  if (ev.size !== undefined) o.size = ev.size
  if (ev.pages !== undefined) o.pages = ev.pages
  if (ev.op !== undefined) o.op = ev.op
  if (ev.enable !== undefined) o.enable = ev.enable
  if (ev.setMask !== undefined) o.set_mask = hex(ev.setMask)
  if (ev.clearMask !== undefined) o.clear_mask = hex(ev.clearMask)
  if (ev.setNames?.length) o.set_names = ev.setNames
  if (ev.clearNames?.length) o.clear_names = ev.clearNames
  if (ev.page !== undefined) o.page = formatKva(ev.page)
  if (ev.ret !== undefined) o.ret = ev.ret.toString()
  if (ev.text !== undefined) o.text = ev.text
  if (ev.stack?.length) o.stack = ev.stack
  if (ev.args && Object.keys(ev.args).length) o.args = ev.args
  o.src = `${ev.src.file}:${ev.src.line}`
  return o
}

/** Streams events into an output sink (a file through AtomicWriter, or stdout) in one format. */
export class EventExporter {
  private n = 0
  private buf: string[] = []

  constructor(
    readonly writer: OutputSink,
    readonly format: ExportFormat,
  ) {}

  get count(): number {
    return this.n
  }

  async begin(): Promise<void> {
    if (this.format === 'csv') await this.writer.write(CSV_HEADER.join(',') + '\n')
    else if (this.format === 'json') await this.writer.write('[')
  }

  async add(batch: readonly TraceEvent[]): Promise<void> {
    const buf = this.buf
    for (let i = 0; i < batch.length; i++) {
      const ev = batch[i]!
      if (this.format === 'csv') buf.push(eventToCsvRow(ev))
      else {
        const j = JSON.stringify(eventToJson(ev))
        buf.push(this.format === 'json' ? (this.n === 0 ? '\n' : ',\n') + j : j)
      }
      this.n++
    }
    if (buf.length >= 2048) await this.flush()
  }

  private async flush(): Promise<void> {
    if (!this.buf.length) return
    const sep = this.format === 'json' ? '' : '\n'
    await this.writer.write(this.buf.join(sep) + sep)
    this.buf = []
  }

  async end(): Promise<void> {
    await this.flush()
    if (this.format === 'json') await this.writer.write(this.n ? '\n]\n' : ']\n')
  }
}
