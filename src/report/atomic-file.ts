/**
 * The one way ptreplay writes an output file: a temp file created exclusively (O_CREAT|O_EXCL|
 * O_NOFOLLOW, random name) in the target's directory, renamed over the target on success and
 * removed on failure, on SIGINT/SIGTERM and at exit. A planted symlink at a temp name is never
 * followed (the open fails and another name is drawn); a target that exists and is not a regular
 * file (a symlink, a directory, a device) is never renamed over. `-` is stdout.
 */
import {randomBytes} from 'node:crypto'
import {accessSync, closeSync, constants, fchmodSync, lstatSync, openSync, renameSync, unlinkSync, writeSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'

import {InputError} from '../ingest/source.js'

/** A bad output path or a failed write: one line, `path: cannot write (…)`, exit 2. */
export class WriteError extends InputError {
  constructor(
    readonly path: string,
    why: string,
  ) {
    super(`${path}: cannot write (${why})`, path)
    this.name = 'WriteError'
  }
}

function why(e: unknown): string {
  const err = e as NodeJS.ErrnoException
  const code = err.code
  if (code === 'ENOENT') return 'ENOENT: no such directory'
  if (code === 'EACCES' || code === 'EPERM') return `${code}: permission denied`
  if (code === 'ENOSPC') return 'ENOSPC: no space left on the device'
  if (code === 'EROFS') return 'EROFS: read-only file system'
  if (code === 'EISDIR') return 'EISDIR: is a directory'
  return code ?? err.message ?? String(e)
}

// -----------------------------------------------------------------------------------------------
// Cleanup of temp files and directories on failure, signals and exit.

const cleanups = new Set<() => void>()
let hooked = false

function runCleanups(): void {
  for (const c of [...cleanups]) {
    try {
      c()
    } catch {
      // best effort: the process is ending
    }
  }
  cleanups.clear()
}

/**
 * Run `fn` if the process ends (exit, SIGINT, SIGTERM) before the returned function is called.
 * For temp files and the bundle tarball's extraction directory.
 */
export function onAbnormalExit(fn: () => void): () => void {
  if (!hooked) {
    hooked = true
    process.on('exit', runCleanups)
    for (const [sig, code] of [
      ['SIGINT', 130],
      ['SIGTERM', 143],
    ] as const) {
      process.on(sig, () => {
        runCleanups()
        process.exit(code)
      })
    }
  }
  cleanups.add(fn)
  return () => cleanups.delete(fn)
}

// -----------------------------------------------------------------------------------------------

/** Check, before any work, that `path` can be written: exit 2 now rather than after the run. */
export function checkOutputPath(path: string, flag: string): void {
  if (path === '') throw new InputError(`${flag}: empty path (give a file name, or - for stdout)`)
  if (path === '-') return
  targetCheck(path)
  try {
    accessSync(dirname(path), constants.W_OK | constants.X_OK)
  } catch (e) {
    throw new WriteError(path, why(e))
  }
}

/** checkOutputPath() for each output flag given (undefined = not given). */
export function checkOutputs(flags: Record<string, string | undefined>): void {
  for (const [flag, path] of Object.entries(flags)) if (path !== undefined) checkOutputPath(path, flag)
}

/** The target may be absent or a regular file; anything else is refused. */
function targetCheck(path: string): void {
  let st
  try {
    st = lstatSync(path)
  } catch {
    return
  }
  if (st.isSymbolicLink()) throw new WriteError(path, 'it is a symbolic link; not replaced')
  if (!st.isFile()) throw new WriteError(path, `not a regular file${st.isDirectory() ? ' (a directory)' : ''}; not replaced`)
}

/** Where temp-name suffixes come from (tests replace `next` to plant files at the names drawn). */
export const tempNames = {next: (): string => randomBytes(8).toString('hex')}

/** Create a fresh temp file beside `path`, exclusively, never through a symlink. */
function createTemp(path: string, mode: number): {tmp: string; fd: number} {
  const dir = dirname(path)
  const base = basename(path)
  for (let attempt = 0; ; attempt++) {
    const tmp = join(dir, `.${base}.${tempNames.next()}.tmp`)
    try {
      const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode)
      return {tmp, fd}
    } catch (e) {
      // EEXIST (something planted at the name, even a dangling symlink): draw another name.
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && attempt < 16) continue
      throw new WriteError(path, why(e))
    }
  }
}

/** Sink for streamed output: a temp file renamed into place, or stdout for `-`. */
export interface OutputSink {
  readonly path: string
  write(data: string | Uint8Array): Promise<void>
  /** Flush and put the file in place (nothing for stdout). */
  commit(): Promise<void>
  /** Remove the temp file; the target is left as it was. */
  abort(): void
}

/** A file written through an exclusive temp file and renamed into place by commit(). */
export class AtomicWriter implements OutputSink {
  private readonly tmp: string = ''
  private fd: number | undefined
  private readonly release: () => void
  private done = false

  constructor(
    readonly path: string,
    opts: {mode?: number} = {},
  ) {
    targetCheck(path)
    // The signal handlers first: a SIGINT between creating the temp file and installing them
    // would take the default action (die at once) and leave the file.
    this.release = onAbnormalExit(() => this.abort())
    try {
      const {tmp, fd} = createTemp(path, opts.mode ?? 0o666)
      this.tmp = tmp
      this.fd = fd
    } catch (e) {
      this.release()
      throw e
    }
    if (opts.mode !== undefined) fchmodSync(this.fd, opts.mode)
  }

  /** Write text or bytes (synchronously: the file is local and callers write ~1 MiB chunks). */
  writeSync(data: string | Uint8Array): void {
    if (this.fd === undefined) throw new WriteError(this.path, 'already closed')
    try {
      if (typeof data === 'string') writeSync(this.fd, data)
      else {
        let off = 0
        while (off < data.length) off += writeSync(this.fd, data, off)
      }
    } catch (e) {
      throw new WriteError(this.path, why(e))
    }
  }

  async write(data: string | Uint8Array): Promise<void> {
    this.writeSync(data)
    // Let the event loop run (a SIGINT handler, progress) between chunks of a long synchronous producer.
    await new Promise<void>((resolve) => setImmediate(resolve))
  }

  /** Close and rename into place; on failure the temp file is removed and a WriteError thrown. */
  commitSync(): void {
    if (this.fd === undefined) throw new WriteError(this.path, 'already closed')
    try {
      closeSync(this.fd)
      this.fd = undefined
      // Re-check: something may have been planted at the target meanwhile.
      targetCheck(this.path)
      renameSync(this.tmp, this.path)
    } catch (e) {
      this.abort()
      throw e instanceof WriteError ? e : new WriteError(this.path, why(e))
    }
    this.done = true
    this.release()
  }

  async commit(): Promise<void> {
    this.commitSync()
  }

  abort(): void {
    if (this.done) return
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd)
      } catch {
        // already closed
      }
      this.fd = undefined
    }
    try {
      unlinkSync(this.tmp)
    } catch {
      // already gone
    }
    this.done = true
    this.release()
  }
}

class StdoutSink implements OutputSink {
  readonly path = '-'
  async write(data: string | Uint8Array): Promise<void> {
    if (!process.stdout.write(data)) await new Promise<void>((resolve) => process.stdout.once('drain', () => resolve()))
  }
  async commit(): Promise<void> {}
  abort(): void {}
}

/** Open an output flag's value: `-` is stdout, anything else an AtomicWriter. */
export function openOutput(path: string, opts: {mode?: number} = {}): OutputSink {
  return path === '-' ? new StdoutSink() : new AtomicWriter(path, opts)
}

/** Write a whole file atomically (or to stdout for `-`). */
export function writeFileAtomic(path: string, data: string | Uint8Array, opts: {mode?: number} = {}): void {
  if (path === '-') {
    process.stdout.write(data)
    return
  }
  const w = new AtomicWriter(path, opts)
  try {
    w.writeSync(data)
  } catch (e) {
    w.abort()
    throw e
  }
  w.commitSync()
}
