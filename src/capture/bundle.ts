/**
 * The capture bundle: one directory per capture, the layout of samples/<kernel>/<boot>/ (so the
 * real captures ARE bundles). `ptreplay capture-script` writes it on the target; ptreplay reads
 * it back by directory (`ptreplay events BUNDLE/`).
 *
 * Every entry is optional except a trace (or a page-table dump); the table says who writes it.
 */
import {closeSync, createReadStream, createWriteStream, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {basename, join} from 'node:path'
import type {Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {createGunzip} from 'node:zlib'


import {XZ_MAGIC, xzDecoder, ZSTD_MAGIC, zstdDecoder} from '../ingest/decompress.js'
import {InputError} from '../ingest/source.js'
import {onAbnormalExit} from '../report/atomic-file.js'

export interface BundleEntry {
  /** File name inside the bundle (a trace may also carry .gz/.zst/.xz). */
  name: string
  what: string
}

/** README "Capture bundle layout": generated from this table. */
export const BUNDLE_LAYOUT: readonly BundleEntry[] = [
  {name: 'uname.txt', what: '`uname -a`'},
  {name: 'version.txt', what: '/proc/version (kernel version and compiler)'},
  {name: 'cmdline', what: '/proc/cmdline (rodata=, kfence.*, debug_pagealloc)'},
  {name: 'config', what: 'full kernel config from /proc/config.gz or /boot/config-$(uname -r), when available'},
  {name: 'config.excerpt', what: 'the CONFIG_ lines that matter for page tables (page size, VA bits, levels, RODATA_FULL, KFENCE, …)'},
  {name: 'pagesize', what: '`getconf PAGESIZE`'},
  {name: 'cpuinfo', what: '/proc/cpuinfo (CPU implementer/variant/part/revision = MIDR, for BBML2 allow-lists)'},
  {name: 'meminfo', what: '/proc/meminfo at the start'},
  {name: 'meminfo.end', what: '/proc/meminfo at the end'},
  {name: 'iomem', what: '/proc/iomem (RAM ranges of the linear map)'},
  {name: 'kallsyms.excerpt', what: 'the probed functions and section symbols from /proc/kallsyms'},
  {name: 'kptr_restrict', what: '/proc/sys/kernel/kptr_restrict'},
  {name: 'bpf_jit_enable', what: '/proc/sys/net/core/bpf_jit_enable'},
  {name: 'debugfs-ls.txt', what: '`ls /sys/kernel/debug`'},
  {name: 'kernel_page_tables.before', what: 'ptdump (/sys/kernel/debug/kernel_page_tables) before the probes are defined'},
  {name: 'kernel_page_tables.probed', what: 'ptdump right after tracing started: the first state the trace fully covers (registering probes can change the map)'},
  {name: 'kernel_page_tables.after', what: 'ptdump after tracing stopped'},
  {name: 'vmallocinfo.before', what: '/proc/vmallocinfo before'},
  {name: 'vmallocinfo.probed', what: '/proc/vmallocinfo right after tracing started'},
  {name: 'vmallocinfo.after', what: '/proc/vmallocinfo after'},
  {name: 'modules.before', what: '/proc/modules before'},
  {name: 'modules.probed', what: '/proc/modules right after tracing started'},
  {name: 'modules.after', what: '/proc/modules after'},
  {name: 'tracepoints.enabled', what: 'tracefs, 7.x: the tracepoints enabled in the main buffer (vmalloc:*, module:*), one `group/event` a line'},
  {name: 'kprobe_events.requested', what: 'the kprobe definitions the script wrote, one a line'},
  {name: 'kprobe_events', what: "the kernel's own listing of the defined probes"},
  {name: 'kprobes_list.txt', what: '/sys/kernel/debug/kprobes/list'},
  {name: 'kprobe_profile', what: 'per-probe hit and miss counts (the true event counts)'},
  {name: 'trace.txt', what: 'tracefs: the top-level buffer (`cat trace`), every probe'},
  {name: 'trace_stacktrace.txt', what: 'tracefs: instance `full` with options/stacktrace and module_load/module_free'},
  {name: 'trace_stats.txt', what: 'per_cpu/cpuN/stats of every buffer (overruns, dropped events)'},
  {name: 'trace.dat', what: 'trace-cmd: `trace-cmd extract` output (read directly: the bundle\'s trace)'},
  {name: 'trace-cmd.txt', what: 'trace-cmd: `trace-cmd report -t` of trace.dat (for reading; the same events)'},
  {name: 'perf.data', what: 'perf: `perf record` output'},
  {name: 'perf.txt', what: 'perf: `perf script --ns` of perf.data'},
  {name: 'pgprot.bt', what: 'bpftrace: the program that ran (only the probes whose symbols exist)'},
  {name: 'bpftrace.txt', what: 'bpftrace: its output ("PGP " records)'},
  {name: 'steps.log', what: '`<uptime seconds> <step>` per step, including every phase mark'},
  {name: 'errors.txt', what: 'what failed: missing symbols ("not in kallsyms: …"), rejected probes, missing files'},
  {name: 'dmesg.txt', what: '`dmesg` at the end'},
]

/**
 * Trace files in a bundle, in the order ptreplay picks the primary one (trace.txt is the
 * complete top-level buffer; trace_stacktrace.txt repeats the outer probes with stacks).
 */
export const BUNDLE_TRACES: readonly {name: string; format: string}[] = [
  {name: 'trace.txt', format: 'tracefs'},
  {name: 'trace.dat', format: 'trace.dat'},
  {name: 'trace-cmd.txt', format: 'trace-cmd'},
  {name: 'perf.txt', format: 'perf'},
  {name: 'bpftrace.txt', format: 'bpftrace'},
  {name: 'bpftrace.json', format: 'bpftrace-json'},
  {name: 'trace.csv', format: 'csv'},
  {name: 'trace_stacktrace.txt', format: 'tracefs'},
]

export const COMPRESSED_SUFFIXES = ['', '.gz', '.zst', '.xz'] as const


/** The primary trace of a bundle directory, or undefined when it has none. */
export function bundleTrace(dir: string): {path: string; format: string} | undefined {
  for (const t of BUNDLE_TRACES) {
    // trace.dat is read by offset: only as it is (a compressed one is left to trace-cmd.txt)
    for (const suffix of t.format === 'trace.dat' ? [''] : COMPRESSED_SUFFIXES) {
      const path = join(dir, t.name + suffix)
      if (existsSync(path) && statSync(path).isFile()) return {path, format: t.format}
    }
  }
  return undefined
}

/** What a bundle says about its kernel, for messages and defaults. */
export interface BundleInfo {
  dir: string
  kernelRelease?: string
  pageSize?: number
  cmdline?: string
}

function readIf(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

export function bundleInfo(dir: string): BundleInfo {
  const info: BundleInfo = {dir}
  const version = readIf(join(dir, 'version.txt'))
  const m = version && /Linux version (\S+)/.exec(version)
  if (m) info.kernelRelease = m[1]!
  const ps = readIf(join(dir, 'pagesize'))?.trim()
  if (ps && /^\d+$/.test(ps)) info.pageSize = Number(ps)
  else {
    const cfg = readIf(join(dir, 'config.excerpt')) ?? ''
    const p = /^CONFIG_ARM64_(4|16|64)K_PAGES=y/m.exec(cfg)
    if (p) info.pageSize = Number(p[1]) * 1024
  }
  const cmdline = readIf(join(dir, 'cmdline'))?.trim()
  if (cmdline !== undefined) info.cmdline = cmdline
  return info
}

/** A bundle packed by `capture.sh -t` (tar, optionally gzip/zstd/xz-compressed), by name. */
export function isBundleTar(path: string): boolean {
  return /\.(tar|tgz|tar\.(gz|zst|xz))$/i.test(path)
}

/** Files taken out of a bundle tar: the traces and the small files bundleInfo() reads. */
function wanted(base: string): boolean {
  const stem = base.replace(/\.(gz|zst|xz)$/, '')
  return BUNDLE_TRACES.some((t) => t.name === stem) || ['version.txt', 'pagesize', 'config.excerpt', 'cmdline'].includes(base)
}

/**
 * Extract the trace(s) and metadata of a bundle tar into a temporary directory (streamed through
 * tar-stream: memory stays bounded whatever the trace size). Throws InputError on a tar that is
 * cut short or not a tar.
 */
export async function extractBundleTar(path: string): Promise<{dir: string; cleanup: () => void}> {
  // Removed by the caller when done, or on SIGINT/SIGTERM/exit before that (R14); the handlers
  // first, so a signal right after the directory is made cannot kill the process before them.
  let made = ''
  const release = onAbnormalExit(() => made && rmSync(made, {recursive: true, force: true}))
  // Named after the archive, so file:line diagnostics still say where the trace came from.
  const dir = (made = mkdtempSync(join(tmpdir(), `ptreplay-${basename(path)}-`)))
  const cleanup = () => {
    rmSync(dir, {recursive: true, force: true})
    release()
  }
  try {
    const head = Buffer.alloc(6)
    const fd0 = openSync(path, 'r')
    readSync(fd0, head, 0, 6, 0)
    closeSync(fd0)
    const raw = createReadStream(path, {highWaterMark: 1 << 20})
    const starts = (m: number[]) => m.every((b, i) => head[i] === b)
    const input: Readable =
      head[0] === 0x1f && head[1] === 0x8b ? raw.pipe(createGunzip()) : starts(ZSTD_MAGIC) ? zstdDecoder(raw) : starts(XZ_MAGIC) ? xzDecoder(raw) : raw
    // tar-stream reads ustar, GNU (long names) and pax headers, streaming. Imported here, for a
    // tarball, not with every command that names a bundle.
    const {default: tarStream} = await import('tar-stream')
    const extract = tarStream.extract()
    raw.on('error', (e) => input.destroy(e))
    input.on('error', (e) => extract.destroy(e))
    input.pipe(extract)
    let entries = 0
    try {
      for await (const entry of extract) {
        entries++
        const base = basename(entry.header.name)
        if (entry.header.type === 'file' && wanted(base)) await pipeline(entry, createWriteStream(join(dir, base)))
        else entry.resume()
      }
    } catch (e) {
      const m = (e as Error).message
      if (/invalid tar header/i.test(m)) throw new InputError(`${path}: not a tar archive (${m})`, path)
      if (/unexpected end of data/i.test(m)) throw new InputError(entries ? `${path}: tar archive cut short` : `${path}: not a tar archive (it ends before a whole tar header)`, path)
      throw e
    }
    if (!entries) throw new InputError(`${path}: not a tar archive`, path)
    return {dir, cleanup}
  } catch (e) {
    cleanup()
    const err = e as NodeJS.ErrnoException
    if (e instanceof InputError) throw e
    throw new InputError(`${path}: cannot read the bundle archive (${err.code ?? err.message})`, path)
  }
}
