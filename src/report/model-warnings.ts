/**
 * The model's warnings of one replay, apart from the kernel's counters: per kind a count, what it
 * means in the kernel's terms (the WARN it mirrors, if the kernel has one) and the first messages
 * with the trace line of the call that raised them. Text shows the first few; JSON every kind.
 */
import {WARNING_KINDS, type WarningKindId, type WarningLog} from '../kernel/warnings.js'
import {wrapText} from './output-style.js'
import {fmtInt} from './table.js'

export interface ModelWarningExample {
  /** file:line of the trace event being replayed, when known. */
  at: string | null
  /** The traced call (set_memory_ro, vmap, …). */
  call: string | null
  message: string
}

export interface ModelWarningKindReport {
  kind: WarningKindId
  title: string
  /** The kernel WARN this mirrors (the kernel would print it: check dmesg); null: the kernel prints nothing here. */
  kernelWarn: string | null
  explanation: string
  count: number
  /** The first few (at most 3). */
  examples: ModelWarningExample[]
}

export interface ModelWarningsReport {
  /** Warnings, all kinds. */
  count: number
  /** Of which a WARN the kernel itself would have printed. */
  kernelWarnCount: number
  /** Every kind that occurred, most frequent first. */
  kinds: ModelWarningKindReport[]
}

const EXAMPLES = 3

function exampleOf(w: {message: string; event?: unknown}): ModelWarningExample {
  const ev = w.event as {fn?: unknown; src?: {file?: unknown; line?: unknown}} | undefined
  const src = ev?.src
  const at = src && typeof src.file === 'string' && typeof src.line === 'number' ? `${src.file}:${src.line}` : null
  return {at, call: typeof ev?.fn === 'string' ? ev.fn : null, message: w.message}
}

export function modelWarningsReport(log: WarningLog): ModelWarningsReport {
  const kinds = log.kinds().map(({kind, count, examples}) => {
    const k = WARNING_KINDS[kind] as {title: string; kernelWarn?: string; explanation: string}
    return {kind, title: k.title, kernelWarn: k.kernelWarn ?? null, explanation: k.explanation, count, examples: examples.slice(0, EXAMPLES).map(exampleOf)}
  })
  return {
    count: kinds.reduce((n, k) => n + k.count, 0),
    kernelWarnCount: kinds.reduce((n, k) => n + (k.kernelWarn ? k.count : 0), 0),
    kinds,
  }
}

/** Text: a count per kind with what it means, then the first few messages. Empty when there are none. */
export function renderModelWarnings(r: ModelWarningsReport, opts: {firstMessages?: number} = {}): string[] {
  if (!r.count) return []
  const out: string[] = []
  const warns = r.kernelWarnCount
  out.push(
    ...wrapText(
      `Model warnings: ${fmtInt(r.count)} (not kernel counters; ${warns === 0 ? 'none is a WARN the kernel would print' : `${fmtInt(warns)} mirror a kernel WARN, which dmesg would show once per call site`})`,
      '  ',
    ),
  )
  const width = Math.max(...r.kinds.map((k) => fmtInt(k.count).length))
  for (const k of r.kinds) {
    const pad = ' '.repeat(width + 4)
    out.push(...wrapText(`  ${fmtInt(k.count).padStart(width)}  ${k.title}`, pad))
    out.push(...wrapText(`${pad}${k.kernelWarn ? `kernel: ${k.kernelWarn}` : 'no kernel WARN'}; ${k.explanation}`, pad))
  }
  // The first message of each kind, then the second of each, … : every kind gets a voice.
  const n = opts.firstMessages ?? 3
  const first: ModelWarningExample[] = []
  for (let i = 0; first.length < n && r.kinds.some((k) => k.examples.length > i); i++) {
    for (const k of r.kinds) if (k.examples[i] && first.length < n) first.push(k.examples[i]!)
  }
  if (first.length) {
    out.push('  first messages:')
    for (const e of first) out.push(...wrapText(`    ${e.at ? `${e.at}: ` : ''}${e.call ? `${e.call} → ` : ''}${e.message}`, '      '))
  }
  return out
}
