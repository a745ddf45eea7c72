/**
 * The base of every ptreplay command: one way to end with an error (src/cli/errors.ts), in text
 * and under --json, instead of oclif's pretty-printer (wraps long messages onto ` › ` lines) and
 * its JSON error (the parser's whole context).
 */
import {Command} from '@oclif/core'

import {outputStyle, setOutputStyle, styleFor, styled} from '../report/output-style.js'
import {classifyError, errorJson, oneLine, reportedError} from './errors.js'

export abstract class PtreplayCommand extends Command {
  /** Human output fits stdout: its width (80 when unknown), ASCII when piped or NO_COLOR. */
  override async init(): Promise<void> {
    await super.init()
    setOutputStyle(styleFor(process.stdout))
  }

  override log(message = '', ...args: unknown[]): void {
    super.log(typeof message === 'string' ? styled(message) : message, ...args)
  }

  override logToStderr(message = '', ...args: unknown[]): void {
    super.logToStderr(typeof message === 'string' && outputStyle().ascii ? styled(message) : message, ...args)
  }

  override async catch(err: Error & {code?: string; oclif?: {exit?: number}; skipOclifErrorHandling?: boolean}): Promise<unknown> {
    // this.exit(n) (verify's "differs"): the result is already printed; exit quietly. Under
    // --json only the status is recorded (a thrown exit would be printed as a second document).
    if (err.code === 'EEXIT') {
      process.exitCode = err.oclif?.exit ?? 1
      if (this.jsonEnabled()) return
      throw err
    }
    if (err.skipOclifErrorHandling) throw err
    const c = classifyError(err, this.id)
    process.exitCode = c.exit
    if (this.jsonEnabled()) process.stdout.write(JSON.stringify(errorJson(c)) + '\n')
    console.error(`Error: ${oneLine(c.message)}`)
    if (c.code === 'internal' && process.env.PTREPLAY_DEBUG) console.error(err.stack)
    throw reportedError(c)
  }
}
