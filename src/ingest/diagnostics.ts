/**
 * The one table of input diagnostics, shared by the ptdump and trace readers and by every command
 * that reports them: each code's severity and whether `--strict` makes it fatal. A command shows
 * the same summary (text on stderr, the `diagnostics` object in `--json`) for the same input.
 *
 * Severities: `info` (the input is fine, something is worth knowing), `data-loss` (input was
 * skipped, dropped or is missing: results are computed on less than the file holds), `error` (the
 * input contradicts itself; what was made of it may be wrong).
 */
import type {Diagnostic} from './events.js'
import {clipText} from './text.js'

export type Severity = 'info' | 'data-loss' | 'error'

export interface DiagnosticDef {
  severity: Severity
  /** `--strict` stops at the first occurrence. */
  strict: boolean
  /** One line for docs and --help. */
  what: string
}

const d = (severity: Severity, what: string, strict = severity !== 'info'): DiagnosticDef => ({severity, strict, what})

/** Every code a reader emits. A code missing here is treated as `error`, fatal under --strict. */
export const DIAGNOSTICS: ReadonlyMap<string, DiagnosticDef> = new Map([
  // both readers
  ['unrecognized', d('data-loss', 'a line that is neither a record, a range line, a marker nor a header; skipped')],
  ['line-too-long', d('data-loss', 'a line longer than the line-length cap; skipped')],
  ['nul-bytes', d('data-loss', 'a line holding NUL bytes (binary data, a file system hole); skipped')],
  // ptdump
  ['elided', d('data-loss', '"…" or "[...]" stands for lines omitted from a paste')],
  ['unknown-marker', d('error', 'a ---[ … ]--- marker no kernel version prints')],
  ['duplicate-marker', d('error', 'a marker a second time: two dumps in one file?')],
  ['marker-order', d('error', 'markers in an order no kernel version prints')],
  ['not-kernel-address', d('data-loss', 'a range below the kernel VA space; dropped')],
  ['empty-range', d('data-loss', 'a range that is empty or reversed; dropped')],
  ['size-mismatch', d('error', 'the printed size is not end - start')],
  ['out-of-order', d('data-loss', 'a range starting before the previous line; dropped')],
  ['overlap', d('data-loss', 'a range overlapping the previous line; dropped')],
  ['gap', d('data-loss', 'addresses no line covers in a dump that tiles the address space')],
  ['blk-mismatch', d('error', 'BLK shown where the level says otherwise')],
  ['misaligned', d('error', 'a line that is not whole entries of its level')],
  ['bad-level', d('data-loss', 'a level name the geometry has no level for; dropped')],
  ['unknown-token', d('error', 'an attribute token no kernel version prints')],
  ['conflicting-token', d('error', 'an attribute token repeated or contradicting another')],
  ['missing-token', d('error', 'an attribute column missing')],
  ['trailing-token', d('error', 'text after the memory type')],
  ['geometry-override', d('info', '--granule/--va-bits disagree with what the dump shows', false)],
  // traces
  ['bad-arg', d('data-loss', 'an argument value that does not decode (or overflows 64 bits); the event keeps no value')],
  ['repeated-arg', d('error', 'an argument given twice in one record; the first value is kept')],
  ['orphan-stack', d('data-loss', 'a stack trace with no record before it')],
  ['orphan-frame', d('data-loss', 'a stack frame outside a stack trace')],
  ['raw-format', d('data-loss', 'a record printed in raw (-R) form')],
  ['truncated', d('data-loss', 'the last line has no newline (capture cut short)')],
  ['bad-record', d('data-loss', 'a record the reader could not decode')],
  ['tool-error', d('data-loss', 'an error message of the capturing tool inside the trace')],
  ['latency-format', d('info', 'latency-format columns recognised', false)],
  ['lost-events', d('data-loss', 'the tracer lost events here')],
  ['overwritten', d('data-loss', 'the ring buffer overwrote the oldest events')],
  ['cpu-started', d('info', "a CPU's buffer starts here (earlier events overwritten)", false)],
  ['duplicate', d('error', 'the trace repeats itself (concatenated twice?); repeated records dropped')],
  ['clock', d('error', 'a per-CPU clock went backwards')],
  ['late', d('error', 'events arrived after later-stamped ones were emitted (sorter window exceeded)')],
  ['marker-continuation', d('info', 'a line that is no record, taken as the next line of the trace marker before it (a multi-line write, or junk?)', true)],
  ['duplicate-input', d('error', 'the same events in two inputs (two buffers of the same calls?)')],
])

export function diagnosticDef(code: string): DiagnosticDef {
  return DIAGNOSTICS.get(code) ?? {severity: 'error', strict: true, what: code}
}

/** Whether --strict stops at this code. */
export function fatalInStrict(code: string): boolean {
  return diagnosticDef(code).strict
}

/** The `diagnostics` object of every command's --json, and the source of its text summary. */
export interface DiagnosticsSummary {
  /** Occurrences of every code, over every input. */
  count: number
  byCode: Record<string, number>
  bySeverity: Record<Severity, number>
  /** The first few, `file:line: message`, in input order per file. */
  first: string[]
}

export interface DiagnosticsInput {
  diagnostics: readonly Diagnostic[]
  /** Occurrences by code (all of them, also those not kept in `diagnostics`). */
  counts: Readonly<Record<string, number>> | ReadonlyMap<string, number>
}

const FIRST = 10

/** Merge the diagnostics of several inputs (snapshots, then traces) into one summary. */
export function summarizeDiagnostics(inputs: readonly (DiagnosticsInput | undefined)[]): DiagnosticsSummary {
  const byCode = new Map<string, number>()
  const first: string[] = []
  for (const inp of inputs) {
    if (!inp) continue
    const entries = inp.counts instanceof Map ? [...inp.counts] : Object.entries(inp.counts)
    for (const [k, v] of entries) byCode.set(k, (byCode.get(k) ?? 0) + v)
    for (const x of inp.diagnostics) {
      if (first.length >= FIRST) break
      first.push(withPosition(x))
    }
  }
  const bySeverity: Record<Severity, number> = {info: 0, 'data-loss': 0, error: 0}
  let count = 0
  for (const [k, v] of byCode) {
    count += v
    bySeverity[diagnosticDef(k).severity] += v
  }
  return {count, byCode: Object.fromEntries(byCode), bySeverity, first}
}

/** `file:line: message` (trace messages already start with their position). */
function withPosition(x: Diagnostic): string {
  const pos = `${x.src.file}:${x.src.line}: `
  return clipText(x.message.startsWith(pos) ? x.message : pos + x.message, 400)
}

/** The text form, for stderr: one count line, then the first few. Empty when there are none. */
export function renderDiagnostics(s: DiagnosticsSummary, max = 5): string[] {
  if (!s.count) return []
  const codes = Object.entries(s.byCode)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ')
  return [`${s.count} input diagnostic${s.count === 1 ? '' : 's'} (${codes}); first:`, ...s.first.slice(0, max).map((l) => `  ${l}`)]
}
