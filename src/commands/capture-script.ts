import {checkOutputPath, writeFileAtomic} from '../report/atomic-file.js'
import {Flags} from '@oclif/core'
import {PtreplayCommand} from '../cli/base-command.js'

import {BUNDLE_LAYOUT} from '../capture/bundle.js'
import {kprobeDefinition, LATEST, probesFor, skippedProbesFor, tracepointsFor} from '../capture/probes.js'
import {formatVersion, parseKernelVersion} from '../kernel/version.js'
import {buildCaptureScript, CAPTURE_TOOLS, type CaptureTool} from '../capture/script.js'

export interface CaptureScriptResult {
  kernel: string
  tool: CaptureTool
  /** kprobe_events lines the script defines (before the kallsyms check on the target). */
  probes: string[]
  /** Probes of the table this kernel cannot take (inlined), with why. */
  skipped: {event: string; note: string}[]
  /** Tracepoints enabled in the main buffer (7.x: vmalloc:*, module:*), `group/event`. */
  tracepoints: string[]
  /** Where the script was written, when --output was given. */
  output?: string
  script: string
  bundle: {name: string; what: string}[]
}

export default class CaptureScript extends PtreplayCommand {
  static override id = 'capture-script'

  static override summary = 'Print the shell script that captures a ptreplay bundle on an arm64 target.'

  static override description = `The script (POSIX sh, run as root on the target) writes one bundle directory, the layout
of samples/<kernel>/<boot>/: kernel version, cmdline, config, /proc/cpuinfo (MIDR), meminfo,
ptdump and vmallocinfo before and after, the kprobe definitions and the kernel's listing,
the trace, kprobe_profile and per-CPU buffer stats, with "capture: …" phase marks written to
trace_marker. Read it back with \`ptreplay events DIR/\`.

Probes: set_memory_{ro,rw,x,nx,valid}, set_direct_map_*_noflush, change_memory_common,
__change_memory_common; set_direct_map_valid_noflush from 6.13; update_range_prot,
split_kernel_leaf_mapping (+ return), split_kernel_leaf_mapping_locked and the split helpers
split_pud/pmd/contpmd/contpte from 6.18; from 7.x the vmalloc mapping functions
(__vmap_pages_range_noflush, __vunmap_range_noflush, ioremap_page_range, vfree, the return of
__vmalloc_node_range_noprof) and the vmalloc:/module: tracepoints, as the 7.3 capture has them
(__change_memory_common, split_contpmd and split_contpte are inlined in Debian's 7.3 build and
skipped with a note). A probe whose symbol is not in /proc/kallsyms on the target is skipped and
logged in errors.txt. Every script also dumps kernel_page_tables.probed right after tracing
starts: the first state the trace fully covers.`

  static override examples = [
    {description: 'tracefs capture for a 6.19 kernel, saved as capture.sh', command: '<%= config.bin %> capture-script --kernel 6.19 --output capture.sh'},
    {description: 'the 7.3 capture set (vmalloc probes and tracepoints, the probed snapshot)', command: '<%= config.bin %> capture-script --kernel 7.3 > capture.sh'},
    {description: 'bpftrace with kernel stacks for a Debian 6.12 kernel', command: '<%= config.bin %> capture-script --kernel 6.12 --tool bpftrace --stacks > capture.sh'},
    {description: 'On the target: capture while loading a module, packed as a tarball', command: 'sudo sh capture.sh -o bundle -t -- modprobe xfs'},
  ]

  static override enableJsonFlag = true

  static override flags = {
    kernel: Flags.string({
      description: `Target kernel version (major.minor, e.g. 6.1, 6.12, 6.19; a full release such as 6.12.117+deb12-arm64 works). Default: ${formatVersion(LATEST)} (every probe).`,
    }),
    tool: Flags.string({description: 'Capture tool on the target.', options: [...CAPTURE_TOOLS], default: 'tracefs'}),
    fetch: Flags.string({
      description: 'How probes read arguments: %xN registers (as the real captures) or $argN.',
      options: ['register', 'arg'],
      default: 'register',
    }),
    untyped: Flags.boolean({description: 'Omit fetch types (:x64, :s32); reproduces the samples\' kprobe_events.requested exactly.', default: false}),
    stacks: Flags.boolean({description: 'Kernel stacks for perf (-g), bpftrace (kstack) and trace-cmd (-T); tracefs always writes trace_stacktrace.txt.', default: false}),
    'buffer-kb': Flags.integer({description: 'Per-CPU ring buffer size in KB (tracefs, trace-cmd).', default: 16384, min: 64}),
    output: Flags.string({char: 'o', description: 'Write the script to this file (made executable) instead of stdout.'}),
  }

  async run(): Promise<CaptureScriptResult> {
    const {flags} = await this.parse(CaptureScript)
    const kernel = flags.kernel === undefined ? LATEST : parseKernelVersion(flags.kernel)
    if (!kernel) this.error(`--kernel: expected a version such as 6.1, 6.12, 6.19 or 7.3, got ${JSON.stringify(flags.kernel)}`, {exit: 2})
    const tool = flags.tool as CaptureTool
    const opts = {kernel, tool, fetch: flags.fetch as 'register' | 'arg', typed: !flags.untyped, stacks: flags.stacks, bufferKb: flags['buffer-kb']}
    const script = buildCaptureScript(opts)
    const result: CaptureScriptResult = {
      kernel: formatVersion(kernel),
      tool,
      probes: probesFor(kernel).map((p) => kprobeDefinition(p, {style: opts.fetch, typed: opts.typed})),
      skipped: skippedProbesFor(kernel),
      tracepoints: tracepointsFor(kernel),
      script,
      bundle: BUNDLE_LAYOUT.map((e) => ({...e})),
    }
    if (flags.output !== undefined && flags.output !== '-') {
      try {
        checkOutputPath(flags.output, '--output')
        writeFileAtomic(flags.output, script, {mode: 0o755})
      } catch (e) {
        this.error((e as Error).message, {exit: 2})
      }
      result.output = flags.output
      if (!this.jsonEnabled()) this.logToStderr(`wrote ${flags.output} (${tool}, kernel ${result.kernel}, ${result.probes.length} probes)`)
    } else if (!this.jsonEnabled()) {
      process.stdout.write(script)
    }
    return result
  }
}
