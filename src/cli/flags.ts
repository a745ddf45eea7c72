/**
 * Flags shared by several commands, defined once so audit, replay, compare, verify and diff
 * cannot drift apart (one typed table of options, as vitest derives its CLI from one config).
 */
import {Errors, Flags, type Interfaces} from '@oclif/core'

import type {PtdumpSnapshot} from '../ingest/ptdump/index.js'
import {type DiagnosticsSummary, summarizeDiagnostics} from '../ingest/diagnostics.js'
import type {Diagnostic} from '../ingest/events.js'
import {InputError} from '../ingest/source.js'
import {checkOutputs} from '../report/atomic-file.js'
import {CodedInputError} from './errors.js'
import {type PageSize, allVaBits, parsePageSize, vaBitsPerGranule} from '../model/geometry.js'

export const snapshotFlags = {
  granule: Flags.string({
    description: 'Page size of the captured kernel (4k, 16k, 64k). Inferred from the dump when omitted.',
    helpGroup: 'SNAPSHOT',
    options: ['4k', '16k', '64k'],
  }),
  'va-bits': Flags.custom<number>({
    description: `VA_BITS of the captured kernel (${vaBitsPerGranule()}). Inferred from the linear-map start when omitted.`,
    helpGroup: 'SNAPSHOT',
    helpValue: 'N',
    parse: async (input) => parseVaBits(input),
  })(),
  strict: Flags.boolean({
    description: 'Stop at the first diagnostic of any kind in any input (unknown line, size mismatch, overlap, bad argument, …), exit 2.',
    default: false,
  }),
  snapshot: Flags.string({
    description: 'For a capture bundle directory given as a snapshot: which kernel_page_tables.NAME to read (before, loaded, after; default before, and after for a second snapshot).',
    helpGroup: 'SNAPSHOT',
    helpValue: 'NAME',
  }),
}

/** --va-bits N: one of the VA sizes arch/arm64/Kconfig allows for some granule (SUPPORTED in src/model/geometry.ts). */
export function parseVaBits(input: string): number {
  const n = /^\d+$/.test(input.trim()) ? Number(input.trim()) : Number.NaN
  if (!allVaBits().includes(n)) throw new CodedInputError('usage', `${input} is not a valid VA_BITS; arm64 allows, by granule, ${vaBitsPerGranule()}`)
  return n
}

/** The values of snapshotFlags, as oclif parses them (derived from the table, not restated). */
export type SnapshotFlagValues = Interfaces.InferredFlags<typeof snapshotFlags>

export function ptdumpOptions(flags: SnapshotFlagValues): {pageSize?: PageSize; vaBits?: number; strict: boolean; snapshot?: string} {
  return {
    pageSize: flags.granule ? parsePageSize(flags.granule) : undefined,
    vaBits: flags['va-bits'],
    strict: flags.strict,
    snapshot: flags.snapshot,
  }
}

/**
 * `--map NAME=KIND` values (events, replay, compare, verify) as a table; none: undefined. What
 * KIND may be is the normalizer's to say (ingest/normalize.ts).
 */
export function parseMapFlag(entries: readonly string[] | undefined): Record<string, string> | undefined {
  if (!entries?.length) return undefined
  const out: Record<string, string> = {}
  for (const e of entries) {
    const eq = e.indexOf('=')
    if (eq <= 0 || eq === e.length - 1) throw new InputError(`--map ${e}: expected NAME=KIND`)
    out[e.slice(0, eq)] = e.slice(eq + 1)
  }
  return out
}

/**
 * The extra outputs of a command (--html, --perfetto, --prom FILE), checked before any work: `-`
 * (stdout) is refused under --json, whose document stdout carries, and a path that cannot be
 * written is found now, not after the run.
 */
export function checkOutputFlags(outputs: Record<string, string | undefined>, json: boolean): void {
  if (json) for (const [flag, path] of Object.entries(outputs)) if (path === '-') throw new CodedInputError('usage', `${flag} -: stdout carries the --json document; give ${flag} a file`)
  checkOutputs(outputs)
}

/** Options for a second snapshot of a command (verify's after, diff's b): a bundle gives its `after`. */
export function secondSnapshotOptions<T extends {snapshot?: string}>(o: T): T {
  return {...o, snapshot: 'after'}
}

/** The `diagnostics` object of a command's --json: every input's, through the one table. */
export function inputDiagnostics(snaps: readonly PtdumpSnapshot[], trace?: {traceStats: {diagnosticsByCode: Record<string, number>}; traceDiagnostics: readonly Diagnostic[]}): DiagnosticsSummary {
  return summarizeDiagnostics([
    ...snaps.map((s) => ({diagnostics: s.diagnostics, counts: s.diagnosticCounts})),
    trace ? {diagnostics: trace.traceDiagnostics, counts: trace.traceStats.diagnosticsByCode} : undefined,
  ])
}

/** Which file each bundle argument stood for: one line each, for the text output. */
export function takenLines(snaps: readonly PtdumpSnapshot[], traces: readonly {bundle: string; path: string}[] = []): string[] {
  return [...snaps.filter((s) => s.bundle !== undefined).map((s) => ({bundle: s.bundle!, path: s.source})), ...traces].map((t) => `${t.bundle}: read ${t.path}`)
}

/**
 * Turn an expected failure (bad input, unreadable file) into a one-line CLI error with exit 2;
 * anything else is a bug and keeps its stack.
 */
export function asCliError(e: unknown): never {
  if (e instanceof Errors.CLIError) throw e
  if (e instanceof InputError || (e instanceof Error && (e as {cliExit?: number}).cliExit !== undefined) || isInputLike(e)) {
    const {file, line, code} = e as {file?: string; line?: number; code?: unknown}
    throw Object.assign(new Errors.CLIError((e as Error).message, {exit: 2, code: typeof code === 'string' ? code : undefined}), {file, line})
  }
  throw e
}

function isInputLike(e: unknown): boolean {
  return e instanceof Error && ['PtdumpError', 'TraceError', 'ModelError', 'InputError'].includes(e.name || e.constructor.name)
}

/**
 * A file that parsed to no range line at all is not a ptdump: stop with exit 2 and the first
 * diagnostic's file:line, rather than audit an empty machine.
 */
export function requirePtdump(...snaps: PtdumpSnapshot[]): void {
  for (const s of snaps) {
    if (s.rangeLines > 0) continue
    const first = s.diagnostics[0]
    throw new Errors.CLIError(`${s.source}: not a ptdump (no range lines)${first ? `; ${first.src.file}:${first.src.line}: ${first.message}` : ''}`, {exit: 2})
  }
}
