/**
 * The capture bundle: one directory per capture, the layout of samples/<kernel>/<boot>/ (so the
 * real captures ARE bundles). `ptreplay capture-script` writes it on the target; ptreplay reads
 * it back by directory (`ptreplay events BUNDLE/`).
 *
 * Every entry is optional except a trace (or a page-table dump); the table says who writes it.
 */
import {existsSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'

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
  {name: 'kernel_page_tables.after', what: 'ptdump after tracing stopped'},
  {name: 'vmallocinfo.before', what: '/proc/vmallocinfo before'},
  {name: 'vmallocinfo.after', what: '/proc/vmallocinfo after'},
  {name: 'modules.before', what: '/proc/modules before'},
  {name: 'modules.after', what: '/proc/modules after'},
  {name: 'kprobe_events.requested', what: 'the kprobe definitions the script wrote, one a line'},
  {name: 'kprobe_events', what: "the kernel's own listing of the defined probes"},
  {name: 'kprobes_list.txt', what: '/sys/kernel/debug/kprobes/list'},
  {name: 'kprobe_profile', what: 'per-probe hit and miss counts (the true event counts)'},
  {name: 'trace.txt', what: 'tracefs: the top-level buffer (`cat trace`), every probe'},
  {name: 'trace_stacktrace.txt', what: 'tracefs: instance `full` with options/stacktrace and module_load/module_free'},
  {name: 'trace_stats.txt', what: 'per_cpu/cpuN/stats of every buffer (overruns, dropped events)'},
  {name: 'trace.dat', what: 'trace-cmd: `trace-cmd extract` output'},
  {name: 'trace-cmd.txt', what: 'trace-cmd: `trace-cmd report` of trace.dat'},
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
    for (const suffix of COMPRESSED_SUFFIXES) {
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
