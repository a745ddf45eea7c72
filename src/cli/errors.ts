/**
 * One shape for every error a command ends with, whatever raised it: an input error of ours, an
 * oclif parse error (unknown flag, missing argument, bad option value), or a bug.
 *
 *   exit 2  bad input or usage: unreadable or malformed file, bad flag or argument, a marker
 *           that matches nothing, an output that cannot be written;
 *   exit 1  an internal error (a bug; also `verify`'s "differs", which is a result, not an error).
 *
 * Text mode prints one line on stderr. Under --json the same error is also printed on stdout as
 * {"error": {"code", "message", "file", "line"}} — never oclif's own error object, which carries
 * the whole parser context (config, plugin list, cache paths).
 */
import {Errors} from '@oclif/core'

import {InputError} from '../ingest/source.js'

export type ErrorCode = 'bad-input' | 'usage' | 'marker-not-found' | 'internal'

export interface CliErrorJson {
  error: {code: ErrorCode; message: string; file: string | null; line: number | null}
}

export interface ClassifiedError {
  code: ErrorCode
  message: string
  file?: string
  line?: number
  exit: number
}

/** An input error that knows its error code (e.g. a marker that matches nothing). */
export class CodedInputError extends InputError {
  constructor(
    readonly code: ErrorCode,
    message: string,
    file?: string,
    line?: number,
  ) {
    super(message, file, line)
  }
}

const PARSE_ERRORS = new Set([
  'RequiredArgsError',
  'UnexpectedArgsError',
  'NonExistentFlagsError',
  'FlagInvalidOptionError',
  'ArgInvalidOptionError',
  'FailedFlagValidationError',
  'ViolatedFlagConstraintError',
  'InvalidArgsSpecError',
  'CLIParseError',
])

const INPUT_ERROR_NAMES = new Set(['PtdumpError', 'TraceError', 'ModelError', 'InputError', 'VerifyInputError'])

/** One line: newlines and runs of blanks folded, oclif's "See more help with --help" dropped. */
export function oneLine(s: string): string {
  return s
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^See more help with/.test(l) && !/^The following errors? occurred:$/.test(l))
    .join('; ')
    .replace(/\s+/g, ' ')
}

/** A usage error's message, rewritten to one line that names what was expected. */
function usageMessage(err: Error & {args?: {name: string; description?: string}[]; flags?: string[]}, commandId?: string): string {
  const help = commandId ? `; see ptreplay ${commandId.replaceAll(':', ' ')} --help` : ''
  const name = err.constructor?.name ?? err.name
  if (name === 'RequiredArgsError' && err.args?.length) {
    const names = err.args.map((a) => `<${a.name}>${a.description ? ` (${a.description})` : ''}`).join(', ')
    return `missing argument ${names}${help}`
  }
  if (name === 'NonExistentFlagsError' && err.flags?.length) return `unknown flag ${err.flags.join(', ')}${help}`
  if (name === 'UnexpectedArgsError' && err.args) return `unexpected argument ${(err.args as unknown as string[]).join(' ')}${help}`
  return oneLine(err.message).replace(/Missing required flag (\S+)/g, 'missing flag --$1') + help
}

/** file:line at the start of a message ("trace.txt:12: expected …"), when the error has none. */
function fileLineOf(message: string): {file?: string; line?: number} {
  const m = /^(\S+?):(\d+)(?::\d+)?: /.exec(message)
  if (m) return {file: m[1], line: Number(m[2])}
  const f = /^(\S+?): /.exec(message)
  if (f && /[./]/.test(f[1]!) && !f[1]!.startsWith('--')) return {file: f[1]}
  return {}
}

export function classifyError(err: unknown, commandId?: string): ClassifiedError {
  const e = err instanceof Error ? err : new Error(String(err))
  const name = e.constructor?.name ?? e.name
  const own = e as Error & {file?: string; line?: number; code?: unknown; cause?: unknown; oclif?: {exit?: number}; ptreplay?: ClassifiedError}
  if (own.ptreplay) return own.ptreplay
  if (PARSE_ERRORS.has(name)) return {code: 'usage', message: usageMessage(e, commandId), exit: 2}
  const input = e instanceof InputError || INPUT_ERROR_NAMES.has(name) || INPUT_ERROR_NAMES.has(e.name)
  const cli = e instanceof Errors.CLIError
  if (input || cli || own.oclif?.exit === 2) {
    // oclif prefixes a flag's own parse error with "Parsing --flag \n\t".
    const message = oneLine(e.message).replace(/^Parsing (--[\w-]+); /, '$1: ')
    const where = own.file !== undefined ? {file: own.file, line: own.line} : fileLineOf(message)
    const code: ErrorCode = e instanceof CodedInputError ? e.code : typeof own.code === 'string' && isErrorCode(own.code) ? own.code : 'bad-input'
    return {code, message, ...where, exit: own.oclif?.exit ?? 2}
  }
  return {code: 'internal', message: `internal error: ${oneLine(e.message)}`, exit: 1}
}

function isErrorCode(c: string): c is ErrorCode {
  return c === 'bad-input' || c === 'usage' || c === 'marker-not-found' || c === 'internal'
}

export function errorJson(c: ClassifiedError): CliErrorJson {
  return {error: {code: c.code, message: c.message, file: c.file ?? null, line: c.line ?? null}}
}

/**
 * The error oclif's handler receives once the command has reported: it exits with our code and
 * prints nothing more (no ` › ` wrapping, no help dump).
 */
export function reportedError(c: ClassifiedError): Errors.CLIError {
  const out = new Errors.CLIError(c.message, {exit: c.exit})
  out.skipOclifErrorHandling = true
  ;(out as unknown as {ptreplay: ClassifiedError}).ptreplay = c
  return out
}
