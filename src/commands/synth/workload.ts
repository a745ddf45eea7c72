import {Flags} from '@oclif/core'
import {checkOutputPath} from '../../report/atomic-file.js'
import {PtreplayCommand} from '../../cli/base-command.js'

import {asCliError} from '../../cli/flags.js'
import {readPtdump} from '../../ingest/ptdump/index.js'
import {InputError} from '../../ingest/source.js'
import {type PageSize, parsePageSize} from '../../model/geometry.js'
import {synthMachine} from '../../synth/machine.js'
import {parseKernelVersion, parseSize} from '../../synth/units.js'
import {WORKLOAD_KINDS, type WorkloadKind, type WorkloadTarget, targetFromMachine, targetFromSnapshot, workloadLines} from '../../synth/workload.js'
import {writeLines} from '../../synth/write.js'

export interface SynthWorkloadResult {
  kind: WorkloadKind
  /** Trace events written (probe hits and markers). */
  events: number
  lines: number
  bytes: number
  kernel: string
  seed: number
  /** Where addresses come from: the --machine file or a synthesized default machine. */
  machine: string
  output: string
}

export default class SynthWorkload extends PtreplayCommand {
  static override id = 'synth:workload'

  static override summary = 'Write a synthesized set_memory_*/set_direct_map_* trace (tracefs text) for a machine.'

  static override description = `Generates N trace events of one workload kind, in the kprobe shapes of the real captures
(set_memory_* → change_memory_common → per-page __change_memory_common of the linear alias under
rodata_full → the vmalloc range; set_direct_map_*_noflush with struct page pointers in
vmemmap; set_memory_valid; tracing_mark_write markers):

  module-churn  insmod/rmmod loops: ro/nx/x on module areas, init freed, direct map reset on free
  bpf-jit       bpf_prog_pack: 2M packs made ROX, programs packed, empty packs freed page by page
  execmem-rox   a 2M ROX cache whose sub-ranges flip rw and back ro for each text allocation
                (on a machine from \`synth machine --rox-cache N\`: its huge pages and their real
                linear aliases, nx+rw then ro+x as execmem_force_rw()/execmem_restore_rox() do)
  kfence        KFENCE object pages protected on free and unprotected on reuse

--kernel 6.18 or later adds update_range_prot under every change (6.19 shape); 6.12 does not.
The kernel's split helpers are never emitted: predicting them is the replay's job.
Addresses land in memory of --machine (a synthesized or captured ptdump), so replaying the
trace on that dump finds every linear-alias page mapped. The output is streamed.`

  static override examples = [
    {description: 'Module churn for the synthesized 256 GB machine', command: '<%= config.bin %> synth workload --kind module-churn --events 1000000 --machine m256-bbml2.txt --output churn.txt'},
    {description: 'A 6.12-shaped BPF JIT trace on a real capture', command: '<%= config.bin %> synth workload --kind bpf-jit --events 100000 --kernel 6.12 --machine samples/debian-6.12-qemu/max-2G-default/kernel_page_tables.before -o bpf.txt'},
  ]

  static override enableJsonFlag = true

  static override flags = {
    kind: Flags.string({description: 'Workload kind.', options: [...WORKLOAD_KINDS], required: true}),
    events: Flags.integer({description: 'Trace events to write (exactly; the last call may be cut as a stopped buffer cuts it).', required: true, min: 1}),
    seed: Flags.integer({description: 'Seed (same seed, same trace).', default: 1}),
    machine: Flags.string({description: 'ptdump whose RAM, vmemmap, module region and KFENCE pool the addresses use.', helpValue: 'FILE'}),
    memory: Flags.string({description: 'Without --machine: RAM of the synthesized default machine.', default: '16G', helpValue: 'SIZE'}),
    granule: Flags.string({description: 'Without --machine: page size of the synthesized default machine.', options: ['4k', '16k', '64k'], default: '4k'}),
    kernel: Flags.string({description: 'Trace shape: 6.18+ adds update_range_prot probes (6.19 shape); earlier kernels do not.', default: '6.19'}),
    rodata: Flags.string({description: 'rodata= of the traced kernel: full (set_memory_ro/rw also change the linear alias page by page), or on/noalias/off (they leave the alias alone).', options: ['full', 'on', 'noalias', 'off'], default: 'full'}),
    'rodata-full': Flags.boolean({description: 'Same as --rodata full (--no-rodata-full: --rodata on).', allowNo: true, hidden: true, deprecated: {to: 'rodata'}}),
    cpus: Flags.integer({description: 'CPUs the events are spread over.', default: 4, min: 1}),
    'execmem-force-nx': Flags.boolean({
      description: 'execmem-rox on a ROX cache: make ranges writable as execmem_force_rw() does (set_memory_nx + set_memory_rw); --no-execmem-force-nx emits set_memory_rw alone.',
      default: true,
      allowNo: true,
    }),
    output: Flags.string({char: 'o', description: 'Write the trace to FILE (temp file + rename); default stdout.', helpValue: 'FILE'}),
  }

  async run(): Promise<SynthWorkloadResult> {
    const {flags} = await this.parse(SynthWorkload)
    let result!: SynthWorkloadResult
    try {
      if (flags.output !== undefined) checkOutputPath(flags.output, '--output')
      // The trace and the JSON summary cannot share stdout (12.14).
      if (this.jsonEnabled() && (flags.output === undefined || flags.output === '-')) this.error('--json with the trace on stdout would mix the two: give --output FILE', {exit: 2})
      const kernel = parseKernelVersion(flags.kernel)
      let target: WorkloadTarget
      let machine: string
      if (flags.machine) {
        const snap = await readPtdump(flags.machine)
        const t = targetFromSnapshot(snap)
        if (typeof t === 'string') throw new InputError(t)
        target = t
        machine = flags.machine
      } else {
        const m = synthMachine({memoryBytes: parseSize(flags.memory, '--memory'), pageSize: parsePageSize(flags.granule) as PageSize, policy: 'bbml2'})
        target = targetFromMachine(m)
        machine = `synthesized ${flags.memory} ${flags.granule} machine (synth machine --memory ${flags.memory} --granule ${flags.granule} --policy bbml2)`
      }
      const opts = {kind: flags.kind as WorkloadKind, events: flags.events, seed: flags.seed, kernel, rodataFull: flags['rodata-full'] ?? flags.rodata === 'full', cpus: flags.cpus, execmemForceNx: flags['execmem-force-nx']}
      const w = await writeLines(workloadLines(target, opts), flags.output)
      result = {kind: opts.kind, events: flags.events, lines: w.lines, bytes: w.bytes, kernel: kernel.join('.'), seed: flags.seed, machine, output: flags.output ?? '-'}
    } catch (e) {
      asCliError(e)
    }
    if (!this.jsonEnabled() && result.output !== '-') {
      this.log(`${result.output}: ${result.events.toLocaleString('en-US')} ${result.kind} events (${(result.bytes / 1e6).toFixed(1)} MB), kernel ${result.kernel} shape, seed ${result.seed}, addresses from ${result.machine}`)
    }
    return result
  }
}
