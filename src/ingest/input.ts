/**
 * What a path argument names, the same for every command: a file, `-` (stdin), or a capture
 * bundle — a directory laid out like samples/<kernel>/<boot>/, or its tarball (`capture.sh -t`).
 * A bundle stands for its snapshot (`kernel_page_tables.<NAME>`, NAME from --snapshot, default
 * `before` for the first snapshot of a command and `after` for a second) or its primary trace
 * (capture/bundle.ts BUNDLE_TRACES). Every command says which file it took.
 */
import {existsSync, statSync} from 'node:fs'
import {dirname, join} from 'node:path'

import {BUNDLE_TRACES, COMPRESSED_SUFFIXES, bundleInfo, bundleTrace, extractBundleTar, isBundleTar} from '../capture/bundle.js'
import {InputError} from './source.js'

/** Snapshot names a bundle holds (`kernel_page_tables.<name>`), in the order capture.sh writes them. */
export const BUNDLE_SNAPSHOTS = ['before', 'loaded', 'after'] as const

export function isDirectory(path: string): boolean {
  if (path === '-') return false
  try {
    return statSync(path).isDirectory()
  } catch {
    return false
  }
}

/** The snapshot file a path names: itself, or `DIR/kernel_page_tables.<name>` (compressed too). */
export function resolveSnapshotPath(path: string, name = 'before'): {path: string; bundle?: string} {
  if (!isDirectory(path)) return {path}
  for (const suffix of COMPRESSED_SUFFIXES) {
    const p = join(path, `kernel_page_tables.${name}${suffix}`)
    if (existsSync(p) && statSync(p).isFile()) return {path: p, bundle: path}
  }
  const have = BUNDLE_SNAPSHOTS.filter((n) => COMPRESSED_SUFFIXES.some((s) => existsSync(join(path, `kernel_page_tables.${n}${s}`))))
  throw new InputError(
    `${path}: a bundle without kernel_page_tables.${name}` + (have.length ? ` (it has: ${have.join(', ')}; pick one with --snapshot NAME)` : ' (no kernel_page_tables.* in it)'),
    path,
  )
}

export interface ResolvedTrace {
  /** The file read. */
  path: string
  /** The argument, when it was a bundle directory or tarball. */
  bundle?: string
  /** Reader named by the bundle layout (a hint; detection still runs when no --format). */
  format?: string
  /** Removes the extraction directory of a tarball. */
  cleanup?: () => void
}

/** The trace a path names: itself, a bundle directory's primary trace, or a tarball's (extracted). */
export async function resolveTracePath(path: string): Promise<ResolvedTrace> {
  if (path === '-') return {path}
  let dir: string | undefined
  let cleanup: (() => void) | undefined
  if (isDirectory(path)) dir = path
  else if (isBundleTar(path) && existsSync(path)) {
    const x = await extractBundleTar(path)
    dir = x.dir
    cleanup = x.cleanup
  }
  if (dir === undefined) return {path}
  const t = bundleTrace(dir)
  if (!t) {
    cleanup?.()
    throw new InputError(`${path}: a bundle without a trace (expected ${BUNDLE_TRACES.map((b) => b.name).join(', ')})`, path)
  }
  return {path: t.path, bundle: path, format: t.format, cleanup}
}

/** Trace arguments resolved to the files to read, with what their bundles say. */
export interface ResolvedTraces {
  /** The files to read, in the order given (`-` as it is). */
  paths: string[]
  /** PAGE_SIZE of the first bundle that tells it (its pagesize file or config), if any. */
  pageSize?: number
  /** Removes what tarballs were extracted to; call when the reading is done. */
  cleanup: () => void
}

/**
 * Every trace argument resolved at once (`ptreplay events`): bundles stand for their trace, and
 * the first bundle that knows its kernel's page size gives it.
 */
export async function resolveTraceInputs(args: readonly string[]): Promise<ResolvedTraces> {
  const cleanups: (() => void)[] = []
  const cleanup = () => {
    for (const c of cleanups) c()
  }
  const paths: string[] = []
  let pageSize: number | undefined
  try {
    for (const a of args) {
      const r = await resolveTracePath(a)
      if (r.cleanup) cleanups.push(r.cleanup)
      if (r.bundle !== undefined) pageSize ??= bundleInfo(dirname(r.path)).pageSize
      paths.push(r.path)
    }
  } catch (e) {
    cleanup()
    throw e
  }
  return {paths, pageSize, cleanup}
}
