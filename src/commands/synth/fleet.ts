import {Flags} from '@oclif/core'

import {PtreplayCommand} from '../../cli/base-command.js'
import {asCliError} from '../../cli/flags.js'
import {type SynthFleetSummary, writeSynthFleet} from '../../synth/fleet-bundles.js'

export type SynthFleetResult = SynthFleetSummary

export default class SynthFleet extends PtreplayCommand {
  static override id = 'synth:fleet'

  static override summary = 'Write N capture bundles of varied arm64 hosts (16 GiB–4 TiB, PTE-only and block-mapped, fragmented) for `ptreplay fleet`.'

  static override description = `Each host is a bundle directory DIR/host-NNNNN/ as \`ptreplay capture-script\` writes it, with
uname.txt, version.txt, cmdline, cpuinfo and kernel_page_tables.after. Per host (deterministic from
--seed and its number): RAM from 16 GiB to 4 TiB, a CPU model with its real MIDR (Neoverse
N1/V1/N2/V2, AmpereOne, Neoverse V3), a kernel release (6.1 … 7.3), rodata=on on a tenth. The
boot map is what that kernel does with those facts (the --policy auto inference: PTE-only,
noalias, BBML2 or BBML3, mapped by map_mem()); a third of the rodata_full hosts then have up to
2,000 random linear-map pages made read-only (split on demand where the kernel can).`

  static override examples = [
    {description: 'Twenty hosts, then audit them', command: '<%= config.bin %> synth fleet --hosts 20 --output-dir fleet && <%= config.bin %> fleet fleet --ndjson fleet.ndjson'},
    {description: 'The 10,000-host benchmark fleet', command: '<%= config.bin %> synth fleet --hosts 10000 --output-dir /tmp/fleet10k --seed 7'},
  ]

  static override enableJsonFlag = true

  static override flags = {
    hosts: Flags.integer({char: 'n', description: 'Number of hosts.', required: true, min: 1, max: 1_000_000}),
    'output-dir': Flags.string({char: 'o', description: 'Directory to write the bundles into (created).', required: true, helpValue: 'DIR'}),
    seed: Flags.integer({description: 'Seed: the same seed writes the same fleet.', default: 1}),
  }

  async run(): Promise<SynthFleetResult> {
    const {flags} = await this.parse(SynthFleet)
    const dir = flags['output-dir']
    const tty = process.stderr.isTTY && !this.jsonEnabled()
    let result!: SynthFleetResult
    try {
      result = await writeSynthFleet(dir, flags.hosts, flags.seed, (i) => {
        if (tty && i % 100 === 0) process.stderr.write(`\r\x1b[Ksynth fleet: ${i.toLocaleString('en-US')} / ${flags.hosts.toLocaleString('en-US')} hosts`)
      })
      if (tty) process.stderr.write('\r\x1b[K')
    } catch (e) {
      asCliError(e)
    }
    if (!this.jsonEnabled()) {
      const list = (r: Record<string, number>) => Object.entries(r).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(' · ')
      this.log(`${dir}: ${result.hosts.toLocaleString('en-US')} host bundles, ${(result.bytes / 2 ** 20).toFixed(1)} MiB of ptdumps, ${result.fragmented.toLocaleString('en-US')} fragmented`)
      this.log(`  boot policy: ${list(result.byPolicy)}`)
      this.log(`  CPU:         ${list(result.byCpu)}`)
      this.log(`  kernel:      ${list(result.byKernel)}`)
    }
    return result
  }
}
