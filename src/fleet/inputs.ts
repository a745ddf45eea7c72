/**
 * The hosts of a fleet run, from the command line: bundle directories (one capture each, the
 * samples/ layout), ptdump files, glob patterns (quoted, so a 10,000-host fleet does not hit the
 * shell's argument limit), directories holding many bundles or dumps, and `-` (paths on stdin,
 * one a line). Expanded lazily (an async generator), so the run starts at once and the list of
 * hosts is never held in memory.
 */
import {existsSync, readdirSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {createInterface} from 'node:readline'
import type {Readable} from 'node:stream'

/** Snapshot file names a bundle may hold, in the order one is picked as "the host's state now". */
export const BUNDLE_DUMPS = ['kernel_page_tables.after', 'kernel_page_tables', 'kernel_page_tables.txt', 'kernel_page_tables.loaded', 'kernel_page_tables.before'] as const

const COMPRESSED = ['', '.gz', '.zst', '.xz']

export interface HostInput {
  /** The argument (or the entry of a directory / glob) that named this host. */
  arg: string
  /** The ptdump to audit. */
  dump: string
  /** The bundle directory, when the host is one (identity and facts are read from it). */
  bundle?: string
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile()
  } catch {
    return false
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory()
  } catch {
    return false
  }
}

/** The snapshot a bundle directory holds, or undefined when it is not a bundle. */
export function bundleDump(dir: string): string | undefined {
  for (const n of BUNDLE_DUMPS) {
    for (const s of COMPRESSED) {
      const p = join(dir, n + s)
      if (isFile(p)) return p
    }
  }
  return undefined
}

/** True when a pattern has glob characters (`*`, `?`, `[…]`). */
export function isGlob(p: string): boolean {
  return /[*?[]/.test(p)
}

/** One path segment's glob as a regular expression (`*` and `?` never match `/` nor a leading dot). */
function segmentRegex(seg: string): RegExp {
  let re = ''
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]!
    if (c === '*') re += '[^/]*'
    else if (c === '?') re += '[^/]'
    else if (c === '[') {
      const close = seg.indexOf(']', i + 1)
      if (close < 0) re += '\\['
      else {
        let body = seg.slice(i + 1, close).replace(/\\/g, '\\\\')
        if (body.startsWith('!')) body = '^' + body.slice(1)
        re += `[${body}]`
        i = close
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&')
  }
  return new RegExp(`^${re}$`)
}

/**
 * Expand a glob (segments with * ? […] and `**` for any depth), sorted per directory, lazily.
 * Hidden entries match only a segment that starts with a dot, as in sh.
 */
export function* expandGlob(pattern: string): Generator<string> {
  const abs = pattern.startsWith('/')
  // A trailing slash, as in sh, matches directories only.
  const dirsOnly = pattern.endsWith('/')
  const segs = pattern.split('/').filter((s, i) => s !== '' || i === 0)
  const base = abs ? '/' : '.'
  function* walk(dir: string, shown: string, i: number): Generator<string> {
    if (i === segs.length) {
      if (!dirsOnly || isDir(dir)) yield shown
      return
    }
    const seg = segs[i]!
    if (seg === '' && i === 0) return yield* walk('/', '/', 1)
    const join2 = (name: string) => (shown === '' ? name : shown.endsWith('/') ? shown + name : `${shown}/${name}`)
    if (!isGlob(seg)) {
      const p = join(dir, seg)
      if (i === segs.length - 1 ? existsSync(p) : isDir(p)) yield* walk(p, join2(seg), i + 1)
      return
    }
    let names: string[]
    try {
      names = readdirSync(dir).sort()
    } catch {
      return
    }
    if (seg === '**') {
      yield* walk(dir, shown, i + 1)
      for (const n of names) {
        if (n.startsWith('.')) continue
        const p = join(dir, n)
        if (isDir(p)) yield* walk(p, join2(n), i)
      }
      return
    }
    const re = segmentRegex(seg)
    for (const n of names) {
      if (n.startsWith('.') && !seg.startsWith('.')) continue
      if (!re.test(n)) continue
      const p = join(dir, n)
      if (i < segs.length - 1 && !isDir(p)) continue
      yield* walk(p, join2(n), i + 1)
    }
  }
  yield* walk(base, abs ? '/' : '', 0)
}

/**
 * One argument → its hosts: a bundle directory is one host; any other directory is a folder of
 * hosts (each bundle subdirectory, each regular file not hidden, sorted); a glob expands to
 * bundles and files; a file is a dump. A path that does not exist yields a host whose audit
 * fails with a one-line error (reported and counted like any other per-host error).
 */
export function* hostsOf(arg: string): Generator<HostInput> {
  if (isGlob(arg) && !existsSync(arg)) {
    for (const p of expandGlob(arg)) yield* hostsOfPath(p, arg, false)
    return
  }
  yield* hostsOfPath(arg, arg, true)
}

function* hostsOfPath(p: string, arg: string, descend: boolean): Generator<HostInput> {
  if (isDir(p)) {
    const dump = bundleDump(p)
    if (dump) {
      yield {arg, dump, bundle: p}
      return
    }
    if (!descend) return
    for (const n of readdirSync(p).sort()) {
      if (n.startsWith('.')) continue
      const q = join(p, n)
      if (isDir(q)) {
        const d = bundleDump(q)
        if (d) yield {arg, dump: d, bundle: q}
      } else if (isFile(q)) yield {arg, dump: q}
    }
    return
  }
  yield {arg, dump: p}
}

/** Every host of the arguments, `-` reading more arguments (paths, globs) from `stdin`, one a line. */
export async function* fleetInputs(args: readonly string[], stdin?: Readable): AsyncGenerator<HostInput> {
  for (const a of args) {
    if (a !== '-') {
      yield* hostsOf(a)
      continue
    }
    const rl = createInterface({input: stdin ?? process.stdin, crlfDelay: Infinity})
    for await (const line of rl) {
      const p = line.trim()
      if (p && !p.startsWith('#')) yield* hostsOf(p)
    }
  }
}
