/**
 * Positional arguments of the commands that take a variable number of files (replay, compare,
 * verify, events), in the order the user typed them.
 *
 * oclif's non-strict parser returns `argv` sorted by `originalArgv.indexOf(value)`, which moves a
 * repeated value next to its first occurrence (`verify A trace A` came back as A A trace), and it
 * lets unknown flags through as if they were files. The parser's `raw` tokens keep the order.
 */
import {CodedInputError} from './errors.js'

export interface ParsedTokens {
  raw: {type: string; input: string}[]
  nonExistentFlags?: string[]
}

export function positionalArgs(parsed: ParsedTokens, commandId: string): string[] {
  if (parsed.nonExistentFlags?.length) {
    throw new CodedInputError('usage', `unknown flag ${parsed.nonExistentFlags.join(', ')}; see ptreplay ${commandId.replaceAll(':', ' ')} --help`)
  }
  return parsed.raw.filter((t) => t.type === 'arg').map((t) => t.input)
}
