/**
 * Run an oclif command in-process with stdout/stderr captured, so command tests see exactly what
 * a user would (oclif writes through console.log/console.error, ora through process.stderr) and
 * the test output stays clean. The exit status is the oclif error's exit code, else
 * process.exitCode as the command left it (restored afterwards), else 0.
 */
import {vi} from 'vitest'

/** What runCommand needs of a command class (oclif's static run). */
export type Cmd = {run(argv: string[], opts?: string): Promise<unknown>}

export interface CommandOutcome<T> {
  result?: T
  error?: Error & {oclif?: {exit?: number}}
  exit: number
  stdout: string
  stderr: string
}

export async function runCommand<T>(cmd: Cmd, argv: string[]): Promise<CommandOutcome<T>> {
  const out = process.stdout.write.bind(process.stdout)
  const err = process.stderr.write.bind(process.stderr)
  const savedExitCode = process.exitCode
  let stdout = ''
  let stderr = ''
  process.stdout.write = ((c: string | Uint8Array) => ((stdout += String(c)), true)) as typeof process.stdout.write
  process.stderr.write = ((c: string | Uint8Array) => ((stderr += String(c)), true)) as typeof process.stderr.write
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (stdout += a.join(' ') + '\n'))
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void (stderr += a.join(' ') + '\n'))
  try {
    const result = (await cmd.run(argv, process.cwd())) as T
    const exit = typeof process.exitCode === 'number' ? process.exitCode : 0
    return {result, exit, stdout, stderr}
  } catch (e) {
    const ex = e as Error & {oclif?: {exit?: number}}
    return {error: ex, exit: ex.oclif?.exit ?? -1, stdout, stderr}
  } finally {
    process.stdout.write = out
    process.stderr.write = err
    log.mockRestore()
    error.mockRestore()
    process.exitCode = savedExitCode
  }
}
