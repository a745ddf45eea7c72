import {dirname} from 'node:path'

import {Args, Flags} from '@oclif/core'
import {PtreplayCommand} from '../cli/base-command.js'

import {asCliError, checkOutputFlags, inputDiagnostics, ptdumpOptions, snapshotFlags, requirePtdump, takenLines} from '../cli/flags.js'
import {type DiagnosticsSummary, renderDiagnostics} from '../ingest/diagnostics.js'
import {type PtdumpSnapshot, readPtdump} from '../ingest/ptdump/index.js'
import {type AuditReport, audit} from '../report/audit.js'
import {AUDIT_LEGEND, auditIntro, renderAuditText} from '../report/audit-text.js'
import {auditFigures, hostIdentity} from '../fleet/host.js'
import {hostSamples, promEligibility, renderProm, writePromFile} from '../report/prom.js'
import {type Eligibility, eligibilityWithForecast} from '../report/eligibility.js'
import {eligibilityMeta, renderEligibilityText} from '../report/eligibility-text.js'
import {kernelLine, loadFacts} from '../capture/facts.js'
import {renderRegionStrips, stripWidth, useColor} from '../report/terminal/strip.js'

export interface AuditResult extends AuditReport {
  source: string
  geometryReason: string
  era: string
  lines: number
  diagnostics: DiagnosticsSummary
  /** The HTML report written with --html. */
  htmlFile?: string
  /** The Prometheus textfile written with --prom. */
  promFile?: string
  /** Can this kernel keep the linear map block-mapped; what a BBML3 kernel on a listed CPU would map (src/report/eligibility.ts). */
  eligibility: Eligibility
}

export default class Audit extends PtreplayCommand {
  static override summary = 'What a kernel page-table snapshot costs: leaf sizes, TLB entries, table pages, per region.'

  static override description = `Reads an arm64 ptdump (/sys/kernel/debug/kernel_page_tables, kernels 5.4 to 6.19+; a
file, a .gz, or - for stdin), rebuilds the kernel page tables exactly and reports, for each
region (linear map, modules, vmalloc, vmemmap, fixmap, PCI I/O, KASAN shadow) and in total:

  - mapped bytes per leaf size: PUD (1G), cont-PMD, PMD, cont-PTE, PTE;
  - TLB entries needed (one per block, per aligned contiguous group, per page);
  - page-table pages per level and their bytes;
  - the same for two reference points: PTE-only (rodata=full without BBML2) and ideal
    (the fewest leaves the attribute boundaries allow).

The granule and VA size are inferred from the dump; pass --granule/--va-bits when they cannot be.
Lines the reader does not understand are reported as file:line diagnostics and skipped
(--strict makes them fatal).

Columns: ${AUDIT_LEGEND} The HTML report's map column shows, per region, which leaf size maps each stretch (hover for the entries).`

  static override examples = [
    {description: 'Audit a bundled real capture (Debian 6.1, rodata=full, 4K/48)', command: '<%= config.bin %> audit samples/debian-6.1-qemu/max-2G-default/kernel_page_tables.after'},
    {description: 'On the target machine, straight from debugfs', command: 'sudo cat /sys/kernel/debug/kernel_page_tables | <%= config.bin %> audit -'},
    {description: 'Machine-readable (schema in README)', command: '<%= config.bin %> audit samples/linux-7.3-debian-qemu/ampere1a-2G-default/kernel_page_tables.probed --json'},
    {description: "A Prometheus textfile for node_exporter's textfile collector", command: '<%= config.bin %> audit samples/debian-6.12-qemu/max-2G-default/kernel_page_tables.after --prom ptreplay.prom'},
    {description: 'A self-contained HTML report with a zoomable fragmentation map', command: '<%= config.bin %> audit samples/linux-6.19-bbml2-qemu/max-2G-default/kernel_page_tables.loaded --html audit.html'},
  ]

  static override enableJsonFlag = true

  static override args = {
    ptdump: Args.string({description: 'ptdump text file (.gz ok), or - for stdin', required: true}),
  }

  static override flags = {
    ...snapshotFlags,
    verbose: Flags.boolean({char: 'v', description: 'Also print how the granule and VA size were inferred from the dump.', default: false}),
    all: Flags.boolean({description: 'Also list regions with nothing mapped.', default: false}),
    html: Flags.string({description: 'Also write a self-contained HTML report (fragmentation map, these tables) to FILE.', helpValue: 'FILE'}),
    prom: Flags.string({
      description: "Also write the figures as a Prometheus textfile (node_exporter's textfile collector: ptreplay_directmap_bytes, ptreplay_page_table_bytes, ptreplay_tlb_entries, …) to FILE, atomically.",
      helpValue: 'FILE',
    }),
  }

  async run(): Promise<AuditResult> {
    const {args, flags} = await this.parse(Audit)
    let result: AuditResult
    let strips: string[] = []
    let taken: PtdumpSnapshot[] = []
    const writeFailures: string[] = []
    try {
      checkOutputFlags({'--html': flags.html, '--prom': flags.prom}, this.jsonEnabled())
      const snap = await readPtdump(args.ptdump, ptdumpOptions(flags))
      requirePtdump(snap)
      taken = [snap]
      const report = audit(snap.pt, snap.regions)
      const {facts} = loadFacts(snap.source)
      const elig = eligibilityWithForecast(facts, snap, report)
      result = {
        source: snap.source,
        geometryReason: snap.geometryReason,
        era: snap.era,
        lines: snap.lineCount,
        diagnostics: inputDiagnostics([snap]),
        ...report,
        eligibility: elig,
      }
      if (flags.html) {
        // The bundle reader every command shares: version.txt beside the dump names the kernel.
        const kernel = kernelLine(facts)
        const [{renderHtmlReport, writeHtmlOrNote}, {auditHtmlDoc}] = await Promise.all([import('../report/html/render.js'), import('../report/html/audit-doc.js')])
        const doc = auditHtmlDoc({
          report,
          pt: snap.pt,
          regions: snap.regions,
          source: snap.source,
          kernel,
          version: this.config.version,
          meta: {era: snap.era, geometry: snap.geometryReason, ...eligibilityMeta(elig)},
        })
        writeHtmlOrNote(flags.html, renderHtmlReport(doc), writeFailures)
        result.htmlFile = flags.html
      }
      if (flags.prom) {
        const identity = hostIdentity(facts, snap.source === '<stdin>' ? undefined : dirname(snap.source))
        try {
          await writePromFile(flags.prom, renderProm(hostSamples({identity, ...auditFigures(report)}, promEligibility(elig))))
        } catch (e) {
          writeFailures.push(`${flags.prom}: cannot write the Prometheus textfile: ${(e as Error).message}`)
        }
        result.promFile = flags.prom
      }
      if (!this.jsonEnabled()) strips = renderRegionStrips(snap.pt, snap.regions, {width: stripWidth(process.stdout.columns), color: useColor()})
    } catch (e) {
      asCliError(e)
    }
    if (!this.jsonEnabled()) {
      // An output written to stdout (-) is stdout's only content: the text goes to stderr.
      const log = flags.html === '-' || flags.prom === '-' ? (l: string) => this.logToStderr(l) : (l: string) => this.log(l)
      for (const line of auditIntro(result, flags.verbose)) log(line)
      for (const line of renderAuditText(result, {regionsWithNothing: flags.all})) log(line)
      if (strips.length) log('')
      for (const line of strips) log(line)
      log('')
      for (const line of renderEligibilityText(result.eligibility)) log(line)
      if (result.htmlFile && result.htmlFile !== '-') log(`\nHTML report: ${result.htmlFile}`)
      if (result.promFile) log(`${result.htmlFile ? '' : '\n'}Prometheus textfile: ${result.promFile}`)
      for (const line of takenLines(taken)) this.logToStderr(line)
      if (result.diagnostics.count) this.logToStderr('')
      for (const line of renderDiagnostics(result.diagnostics, 10)) this.logToStderr(line)
    }
    // A late write failure: the report above is still printed, then the error (exit 2).
    if (writeFailures.length) this.error(writeFailures.join('; '), {exit: 2})
    return result
  }
}
