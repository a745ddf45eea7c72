import {Args, Flags} from '@oclif/core'
import {PtreplayCommand} from '../cli/base-command.js'
import {fitProse} from '../report/output-style.js'

import {asCliError, checkOutputFlags, inputDiagnostics, ptdumpOptions, secondSnapshotOptions, snapshotFlags, requirePtdump, takenLines} from '../cli/flags.js'
import {type DiagnosticsSummary, renderDiagnostics} from '../ingest/diagnostics.js'
import {type SnapshotDiff, diffSnapshots} from '../report/diff.js'
import {renderDiffText} from '../report/diff-text.js'
import {kernelLine, loadFacts} from '../capture/facts.js'
import {readPtdump} from '../ingest/ptdump/index.js'

export type DiffResult = SnapshotDiff & {diagnostics: DiagnosticsSummary; htmlFile?: string}

export default class Diff extends PtreplayCommand {
  static override summary = 'What changed between two ptdump snapshots, per region: splits, collapses, permission changes, mappings, table pages.'

  static override description = `Compares two kernel page-table snapshots entry by entry and reports, for each region:

  - splits: leaves replaced by finer ones, each entry counted once the way the kernel's split
    helpers would count it (PUD→PMD = split_pud, PMD→PTE = split_pmd, CONT_PMD/CONT_PTE cleared =
    split_contpmd/split_contpte), and collapses (the reverse, including contiguous hints set);
  - permission changes: bytes and ranges per from→to attribute change (RW→ro, NX→x, valid→F, …);
  - bytes mapped and unmapped (vmalloc/vmap/module areas appearing or disappearing);
  - table pages per level in each snapshot, and how many were allocated and freed;
  - the first changed ranges, as ptdump lines ("-" first snapshot, "+" second).

Exit status 0 whether or not they differ (see \`verify\` for a pass/fail check); 2 on bad input.

--json prints one document: {a, b, geometry, same, regionNotes,
 regions: [{name, same, splits, collapses, permissionChanges: [{from, to, change, bytes, ranges}],
            mappedBytes, unmappedBytes, mappedRanges, unmappedRanges,
            tablePages: {PTE: {a, b, added, freed}, …}, changedRanges, changedBytes,
            ranges: [{start, end, bytes, kinds, a, b, moreA, moreB}]}], htmlFile?}

--html FILE also writes a self-contained HTML page: what changed first, a row per region, what
it cost (table bytes, TLB entries of each snapshot), the first changed ranges as ptdump lines, and
the two maps side by side (hover a cell for the change there). "-" writes the page to stdout (the
text goes to stderr).`

  static override examples = [
    {
      description: 'What loading 19 modules did to a 6.19 BBML2 kernel',
      command: '<%= config.bin %> diff samples/linux-6.19-bbml2-qemu/max-2G-default/kernel_page_tables.before samples/linux-6.19-bbml2-qemu/max-2G-default/kernel_page_tables.loaded',
    },
    {
      description: 'The same as an HTML page with the two maps side by side',
      command: '<%= config.bin %> diff samples/linux-6.19-bbml2-qemu/max-2G-default/kernel_page_tables.before samples/linux-6.19-bbml2-qemu/max-2G-default/kernel_page_tables.loaded --html diff.html',
    },
    {description: 'Machine-readable: what the 6.1 workload changed, before → after', command: '<%= config.bin %> diff samples/debian-6.1-qemu/max-2G-default/kernel_page_tables.before samples/debian-6.1-qemu/max-2G-default/kernel_page_tables.after --json'},
  ]

  static override enableJsonFlag = true

  static override args = {
    a: Args.string({description: 'first (earlier) ptdump snapshot (.gz ok)', required: true}),
    b: Args.string({description: 'second (later) ptdump snapshot (.gz ok)', required: true}),
  }

  static override flags = {
    ...snapshotFlags,
    'max-ranges': Flags.integer({description: 'Changed ranges listed per region.', default: 10, min: 0}),
    html: Flags.string({description: 'Also write a self-contained HTML report (regions, cost, changed ranges, both maps side by side) to FILE; - for stdout.', helpValue: 'FILE'}),
  }

  async run(): Promise<DiffResult> {
    const {args, flags} = await this.parse(Diff)
    let result: DiffResult
    let taken: string[] = []
    const writeFailures: string[] = []
    try {
      checkOutputFlags({'--html': flags.html}, this.jsonEnabled())
      const popts = ptdumpOptions(flags)
      const a = await readPtdump(args.a, popts)
      const b = await readPtdump(args.b, secondSnapshotOptions(popts))
      requirePtdump(a, b)
      taken = takenLines([a, b])
      if (a.geometry.label !== b.geometry.label) {
        this.error(`${a.source} is ${a.geometry.label} but ${b.source} is ${b.geometry.label}: snapshots of different geometries cannot be compared entry by entry`, {exit: 2})
      }
      result = {...diffSnapshots(a, b, {maxRanges: flags['max-ranges'], era: a.era}), diagnostics: inputDiagnostics([a, b])}
      if (flags.html) {
        const [{renderHtmlReport, writeHtmlOrNote}, {diffHtmlDoc}] = await Promise.all([import('../report/html/render.js'), import('../report/html/diff-doc.js')])
        const doc = diffHtmlDoc({diff: result, a, b, kernel: kernelLine(loadFacts(a.source).facts), version: this.config.version})
        writeHtmlOrNote(flags.html, renderHtmlReport(doc), writeFailures)
        result.htmlFile = flags.html
      }
    } catch (e) {
      asCliError(e)
    }
    if (!this.jsonEnabled()) {
      // With --html - the page is stdout's only content: the text goes to stderr.
      const out = flags.html === '-' ? (l: string) => this.logToStderr(l) : (l: string) => this.log(l)
      for (const line of taken) this.logToStderr(line)
      for (const line of fitProse(renderDiffText(result))) out(line)
      if (result.htmlFile && result.htmlFile !== '-') out(`\nHTML report: ${result.htmlFile}`)
      for (const line of renderDiagnostics(result.diagnostics)) this.logToStderr(line)
    }
    // A late write failure: the report above is still printed, then the error (exit 2).
    if (writeFailures.length) this.error(writeFailures.join('; '), {exit: 2})
    return result
  }
}
