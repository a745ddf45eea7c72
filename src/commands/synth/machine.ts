import {Flags} from '@oclif/core'
import {checkOutputPath} from '../../report/atomic-file.js'
import {PtreplayCommand} from '../../cli/base-command.js'

import {asCliError, parseVaBits} from '../../cli/flags.js'
import {formatSize} from '../../model/address.js'
import {type PageSize, parsePageSize, vaBitsPerGranule} from '../../model/geometry.js'
import {POLICIES, type PolicyName} from '../../kernel/policy.js'
import {type MachineSummary, type TablePagesByLevel, summarizeMachine} from '../../synth/machine-summary.js'
import {renderMachine, synthMachine} from '../../synth/machine.js'
import {parseBanks, parseKernelVersion, parseSize} from '../../synth/units.js'
import {writeLines} from '../../synth/write.js'

export interface SynthMachineResult extends MachineSummary {
  /** ptdump lines written. */
  lines: number
  bytes: number
  /** The file written, or '-' for stdout; absent with --json and no --output (nothing written). */
  output?: string
}

function tableText(t: TablePagesByLevel, bytes: number): string {
  const parts = Object.entries(t).map(([k, v]) => `${k} ${v.toLocaleString('en-US')}`)
  return `${parts.join(', ')} = ${(bytes / 2 ** 20).toLocaleString('en-US', {maximumFractionDigits: 2})} MiB`
}

export default class SynthMachine extends PtreplayCommand {
  static override id = 'synth:machine'

  static override summary = 'Write the ptdump of a plausible arm64 machine at boot (linear map per policy, image, modules, vmemmap, fixmap).'

  static override description = `Builds the kernel page tables a 6.9+ arm64 kernel has right after boot and prints them
exactly as /sys/kernel/debug/kernel_page_tables would: the linear map from map_mem() for the
chosen policy (pte-only: rodata=full without BBML2; bbml2: block-mapped, 6.18+; noalias; ...),
the kernel image at KIMAGE_VADDR (no KASLR) with its linear alias, a few modules, vmap stacks
and ioremaps with guard pages, vmemmap (PMD blocks on 4K), a PCI I/O window and the fixmap.
Region addresses follow the memory.h/fixmap.h formulas of the chosen granule and VA size.

Default memory map: one bank at 0x40000000 (up to 4G) or 0x80000000, with a 1M firmware
NOMAP hole 0x8300000 into it. The output reads back with \`ptreplay audit\` and is a starting
machine for \`synth workload --machine\` and \`replay\`.

--rox-cache N adds the PROPOSED execmem ROX cache of the June 2026 RFC (https://lore.kernel.org/r/ajvqh8Ac0Sj5UzP_@google.com/T/): N PMD-size
huge vmalloc pages in the module region, ROX PMD leaves, each backed by a PMD-aligned chunk of
RAM whose linear alias is read-only (rodata_full), as execmem_cache_populate_alloc() leaves
them. \`synth workload --kind execmem-rox --machine\` then targets those pages.`

  static override examples = [
    {description: 'The 256 GB case: PTE-only linear map (~512 MiB of PTE tables)', command: '<%= config.bin %> synth machine --memory 256G --policy pte-only --output m256-pte.txt'},
    {description: 'The same machine with BBML2 (block-mapped, a few table pages)', command: '<%= config.bin %> synth machine --memory 256G --policy bbml2 --output m256-bbml2.txt'},
    {description: 'A 4 GB BBML2 machine with a 2-page execmem ROX cache (for synth workload --kind execmem-rox)', command: '<%= config.bin %> synth machine --memory 4G --policy bbml2 --rox-cache 2 --output m4-rox.txt'},
    {description: 'Two banks, 16K granule, just the figures', command: '<%= config.bin %> synth machine --banks 0x80000000:2G,0x8080000000:254G --granule 16k --va-bits 47 --json'},
  ]

  static override enableJsonFlag = true

  static override flags = {
    memory: Flags.string({description: 'Installed RAM, e.g. 256G, 2G, 4T (one bank at a realistic base with a firmware hole). Ignored with --banks.', helpValue: 'SIZE'}),
    banks: Flags.string({description: 'memblock banks as physical START:SIZE list, e.g. 0x80000000:2G,0x8080000000:254G (no default hole).', helpValue: 'LIST'}),
    nomap: Flags.string({description: 'Firmware NOMAP ranges START:SIZE (in memblock, not in the linear map).', helpValue: 'LIST'}),
    granule: Flags.string({description: 'Page size.', options: ['4k', '16k', '64k'], default: '4k'}),
    'va-bits': Flags.custom<number>({description: `VA_BITS (${vaBitsPerGranule()}).`, helpValue: 'N', parse: async (input) => parseVaBits(input), default: 48})(),
    policy: Flags.string({description: 'Boot linear-map policy (the presets of `ptreplay replay --help`).', options: Object.keys(POLICIES), default: 'pte-only'}),
    kfence: Flags.string({description: "KFENCE: 'early' maps its 2M pool (last pages of RAM) page by page at boot.", options: ['off', 'early', 'late']}),
    kpti: Flags.boolean({description: 'KPTI: kernel mappings carry nG, fixmap has trampoline slots.', default: false}),
    kernel: Flags.string({description: 'Kernel version whose ptdump format is written (markers, BLK column); 6.9 or later.', default: '6.19'}),
    seed: Flags.integer({description: 'Seed for module sizes and placement.', default: 1}),
    modules: Flags.integer({description: 'Loaded modules to place in the module region.', default: 16, min: 0}),
    'rox-cache': Flags.integer({
      description:
        'PROPOSED execmem ROX cache (RFC, https://lore.kernel.org/r/ajvqh8Ac0Sj5UzP_@google.com/T/): N PMD-size huge pages in the module region, mapped ROX by PMD leaves, each backed by a PMD-aligned chunk of RAM whose linear alias is read-only (rodata_full).',
      default: 0,
      min: 0,
      helpValue: 'N',
    }),
    output: Flags.string({char: 'o', description: 'Write the dump to FILE (temp file + rename); default stdout.', helpValue: 'FILE'}),
  }

  async run(): Promise<SynthMachineResult> {
    const {flags} = await this.parse(SynthMachine)
    let result!: SynthMachineResult
    try {
      if (!flags.memory && !flags.banks) this.error('give --memory SIZE (e.g. 256G) or --banks START:SIZE,…', {exit: 2})
      if (flags.output !== undefined) checkOutputPath(flags.output, '--output')
      const m = synthMachine({
        memoryBytes: flags.memory ? parseSize(flags.memory, '--memory') : undefined,
        banks: flags.banks ? parseBanks(flags.banks, '--banks') : undefined,
        nomap: flags.nomap ? parseBanks(flags.nomap, '--nomap') : undefined,
        pageSize: parsePageSize(flags.granule) as PageSize,
        vaBits: flags['va-bits'],
        policy: flags.policy as PolicyName,
        knobs: flags.kfence ? {kfence: flags.kfence as 'off' | 'early' | 'late'} : {},
        kpti: flags.kpti,
        kernel: parseKernelVersion(flags.kernel),
        seed: flags.seed,
        modules: flags.modules,
        roxCache: flags['rox-cache'],
      })
      const summary = summarizeMachine(m)
      const quiet = this.jsonEnabled() && !flags.output
      const w = quiet ? {lines: [...renderMachine(m)].length, bytes: 0} : await writeLines(renderMachine(m), flags.output)
      result = {...summary, lines: w.lines, bytes: w.bytes, output: quiet ? undefined : (flags.output ?? '-')}
    } catch (e) {
      asCliError(e)
    }
    if (!this.jsonEnabled() && result.output && result.output !== '-') {
      this.log(`${result.output}: ${result.lines.toLocaleString('en-US')} lines, ${result.geometry}, kernel ${result.kernel}, policy ${result.policy}, ${formatSize(result.ramBytes)} RAM`)
      this.log(`  page tables: ${tableText(result.tablePages, result.tableBytes)}`)
      this.log(`  linear map:  ${tableText(result.linear.tablePages, result.linear.tableBytes)}`)
      if (result.roxCache) {
        this.log(`  ROX cache:   ${result.roxCache.hugePages} × ${formatSize(result.roxCache.pmdBytes)} huge pages`)
        for (const p of result.roxCache.pages) this.log(`    ${p.va}  alias ${p.alias}  phys ${p.phys}`)
      }
    }
    return result
  }
}
