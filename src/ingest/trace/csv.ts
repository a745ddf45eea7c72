/**
 * CSV traces: a column schema any exporter can target (a database dump, a custom BPF tool, a
 * spreadsheet), parsed with csv-parse (RFC 4180 quoting, so text and stacks may hold commas or
 * newlines) into the same RawRecords the text readers produce. `ptreplay events --to csv`
 * writes this schema too.
 *
 * Schema (README "CSV trace schema"):
 * - The first line that is not blank or a `#` comment is the header. Delimiter `,` (a header
 *   with tabs and no commas means TSV). Column names are case-insensitive; order is free.
 * - Required: `event` and one timestamp column:
 *     `ts`    integer = nanoseconds; with a decimal point = seconds (up to 9 fraction digits,
 *             tracefs `39.894771` works as is);
 *     `ts_ns`, `ts_us`, `ts_s`: that unit, integer or decimal (converted exactly).
 * - Optional context: `cpu` (default 0), `pid` (thread id as tracefs prints it; default 0),
 *   `tgid`, `comm` (default empty), `group` (event system, e.g. `kprobes`, `module`).
 * - `function`: the kernel function the probe is on (`set_memory_ro`, `__change_memory_common`);
 *   `return`: `1`/`true`/`r` for a return probe, then `function` is the function returned from.
 *   Without `function` the event name alone decides the kind (and `--map NAME=KIND` applies).
 * - `text`: free text: the marker text of `tracing_mark_write`, the module name of module_load.
 * - `stack`: kernel frames innermost first, separated by `;` (`set_memory_ro;load_module`).
 * - `kind`: ignored (the normalized kind `events --to csv` writes for people reading the file).
 * - Every other column is an argument named as the probe argument it stands for:
 *   `addr numpages enable` (set_memory_*), `page nr valid` (set_direct_map_*),
 *   `start size set_mask clear_mask` (__change_memory_common, update_range_prot),
 *   `addr numpages set_mask clear_mask` (change_memory_common), `start end` / `addr`
 *   (split_kernel_leaf_mapping / _locked), `ret` (return probes), `ptr size type` (execmem).
 *   An empty cell means the argument is absent.
 * - Values: `0x…` hex, unsigned decimal, or negative decimal (64-bit two's complement, as BTF
 *   and func-args print). Bare hex without `0x` is not accepted for addresses (`10` is ten).
 *   Masks are the raw pgprot_t bits __change_memory_common receives (`0x80` = PTE_RDONLY,
 *   `0x8000000000000` = PTE_WRITE/DBM). Sizes are bytes (`size`) or pages (`numpages`, `nr`).
 */
import {Readable} from 'node:stream'
import type {RawRecord} from '../events.js'
import {InputError, type LineBatch} from '../source.js'
import {registerReader} from './registry.js'
import type {ReaderOptions, StreamReader} from './types.js'
import type {Token} from './tokens.js'

/** Columns with a fixed meaning; everything else is an argument. `kind` is informational (written by `events --to csv`) and ignored. */
export const CSV_FIXED_COLUMNS = ['ts', 'ts_ns', 'ts_us', 'ts_s', 'cpu', 'pid', 'tgid', 'comm', 'event', 'group', 'function', 'return', 'kind', 'text', 'stack'] as const

const TS_SCALE: Record<string, number> = {ts_s: 9, ts_us: 3, ts_ns: 0}

/**
 * Exact ns from a decimal string scaled by 10^exp ("39.894771" with exp 9 → 39894771000n).
 * Returns undefined for anything but digits with at most one '.'.
 */
export function decimalToNs(text: string, exp: number): bigint | undefined {
  const m = /^(\d*)(?:\.(\d*))?$/.exec(text)
  if (!m || (m[1] === '' && !m[2])) return undefined
  const frac = m[2] ?? ''
  if (frac.length > exp) {
    // More digits than a nanosecond: only zeros may be dropped.
    if (!/^0*$/.test(frac.slice(exp))) return undefined
  }
  const digits = (m[1] || '0') + frac.slice(0, exp).padEnd(exp, '0')
  return BigInt(digits)
}

function parseTs(column: string, text: string): bigint | undefined {
  if (column === 'ts') return text.includes('.') ? decimalToNs(text, 9) : decimalToNs(text, 0)
  return decimalToNs(text, TS_SCALE[column]!)
}

interface Header {
  names: string[]
  tsCol: number
  tsName: string
  idx: Partial<Record<(typeof CSV_FIXED_COLUMNS)[number], number>>
  argCols: number[]
}

function makeHeader(row: string[], file: string, line: number): Header {
  const names = row.map((c) => c.trim().toLowerCase())
  const idx: Header['idx'] = {}
  for (const f of CSV_FIXED_COLUMNS) {
    const i = names.indexOf(f)
    if (i >= 0) idx[f] = i
  }
  const tsName = (['ts', 'ts_ns', 'ts_us', 'ts_s'] as const).find((n) => idx[n] !== undefined)
  if (!tsName || idx.event === undefined) {
    const missing = [tsName ? undefined : 'ts (or ts_ns/ts_us/ts_s)', idx.event === undefined ? 'event' : undefined].filter(Boolean).join(' and ')
    throw new InputError(`${file}:${line}: expected a CSV header with columns ts and event (missing ${missing}), got ${JSON.stringify(row.join(',').slice(0, 120))}`, file, line)
  }
  const fixed = new Set<string>(CSV_FIXED_COLUMNS)
  const argCols: number[] = []
  names.forEach((n, i) => {
    if (!fixed.has(n) && n !== '') argCols.push(i)
  })
  return {names, tsCol: idx[tsName]!, tsName, idx, argCols}
}

const INT = /^\d+$/
const TRUE = new Set(['1', 'true', 'yes', 'r', 'ret', 'return'])

/** One data row → a RawRecord, or a message saying what was expected. */
export function csvRowToRecord(h: Header, row: string[], file: string, line: number): RawRecord | string {
  const where = `${file}:${line}`
  if (row.length !== h.names.length) return `${where}: expected ${h.names.length} columns as in the header, got ${row.length}`
  const cell = (i: number | undefined) => (i === undefined ? '' : row[i]!.trim())
  const tsText = cell(h.tsCol)
  const tsNs = parseTs(h.tsName, tsText)
  if (tsNs === undefined) return `${where}: expected ${h.tsName} as ${h.tsName === 'ts' ? 'integer nanoseconds or decimal seconds' : 'a decimal number'}, got ${JSON.stringify(tsText)}`
  const event = cell(h.idx.event)
  if (!event) return `${where}: expected an event name, got an empty event cell`
  const num = (name: 'cpu' | 'pid' | 'tgid'): number | string | undefined => {
    const t = cell(h.idx[name])
    if (t === '') return undefined
    return INT.test(t) ? Number(t) : `${where}: expected ${name} as a non-negative integer, got ${JSON.stringify(t)}`
  }
  const cpu = num('cpu')
  const pid = num('pid')
  const tgid = num('tgid')
  for (const v of [cpu, pid, tgid]) if (typeof v === 'string') return v
  const rec: RawRecord = {
    tsNs,
    cpu: (cpu as number | undefined) ?? 0,
    pid: (pid as number | undefined) ?? 0,
    comm: cell(h.idx.comm),
    event,
    args: {},
    src: {file, line},
  }
  if (tgid !== undefined) rec.tgid = tgid as number
  const group = cell(h.idx.group)
  if (group) rec.group = group
  const fn = cell(h.idx.function)
  if (fn) {
    if (TRUE.has(cell(h.idx.return).toLowerCase())) rec.returnFrom = fn
    else rec.probeSymbol = fn
  }
  if (h.idx.text !== undefined) {
    // Free text keeps its inner spacing (module_load's trailing space is not significant here).
    const t = row[h.idx.text]!
    if (t !== '') rec.text = t
  }
  const stack = cell(h.idx.stack)
  if (stack) rec.stack = stack.split(';').map((f) => f.trim()).filter((f) => f.length > 0)
  for (const i of h.argCols) {
    const v = row[i]!.trim()
    if (v !== '') rec.args[h.names[i]!] = v
  }
  return rec
}

/** Turn line batches back into a text stream for csv-parse (it does its own line splitting). */
async function* textOf(batches: AsyncIterable<LineBatch>): AsyncGenerator<string> {
  for await (const b of batches) yield b.lines.join('\n') + '\n'
}

/** The whole-stream CSV reader: yields RawRecords and per-row diagnostics in file order. */
export async function* parseCsv(batches: AsyncIterable<LineBatch>, opts: ReaderOptions): AsyncGenerator<Token[]> {
  const file = opts.file
  // Peek the first text to choose the delimiter from the header line.
  const it = textOf(batches)[Symbol.asyncIterator]()
  const first = await it.next()
  if (first.done) return
  const headerLine = first.value.split('\n').find((l) => l.trim() !== '' && !l.startsWith('#')) ?? ''
  const delimiter = headerLine.includes('\t') && !headerLine.includes(',') ? '\t' : ','
  async function* all(): AsyncGenerator<string> {
    yield first.value as string
    for (;;) {
      const r = await it.next()
      if (r.done) return
      yield r.value
    }
  }
  // csv-parse is imported for a CSV input only, not with every command that reads traces.
  const {parse} = await import('csv-parse')
  const parser = Readable.from(all()).pipe(
    parse({
      delimiter,
      comment: '#',
      comment_no_infix: true,
      skip_empty_lines: true,
      relax_column_count: true,
      info: true,
    }),
  )
  let header: Header | undefined
  let out: Token[] = []
  try {
    for await (const item of parser as AsyncIterable<{record: string[]; info: {lines: number}}>) {
      const line = item.info.lines
      if (!header) {
        header = makeHeader(item.record, file, line)
        continue
      }
      const rec = csvRowToRecord(header, item.record, file, line)
      out.push(typeof rec === 'string' ? {src: {file, line}, message: rec, code: 'bad-record'} : rec)
      if (out.length >= 4096) {
        yield out
        out = []
      }
    }
  } catch (e) {
    if (e instanceof InputError) throw e
    const err = e as {message?: string; lines?: number; code?: string}
    const line = err.lines ?? 0
    throw new InputError(`${file}:${line}: expected CSV (RFC 4180), got ${err.code ?? 'a parse error'}: ${err.message ?? String(e)}`, file, line)
  }
  if (out.length) yield out
}

/** Confidence that `head` is a CSV trace in this schema (a header with ts and event). */
export function sniffCsv(head: readonly string[]): number {
  const h = head.find((l) => l.trim() !== '' && !l.startsWith('#'))
  if (!h) return 0
  const cols = h
    .split(h.includes('\t') && !h.includes(',') ? '\t' : ',')
    .map((c) => c.trim().replace(/^"|"$/g, '').toLowerCase())
  const hasTs = cols.some((c) => c === 'ts' || c === 'ts_ns' || c === 'ts_us' || c === 'ts_s')
  return hasTs && cols.includes('event') ? 1 : 0
}

export const csvReader: StreamReader = {
  type: 'stream',
  name: 'csv',
  description: 'CSV with a header naming ts and event (see the CSV trace schema)',
  sniff: sniffCsv,
  parse: parseCsv,
}

registerReader(csvReader)
