import {Errors, Flags} from '@oclif/core'
import {positionalArgs} from '../cli/args.js'
import {PtreplayCommand} from '../cli/base-command.js'
import {fitProse} from '../report/output-style.js'
import {CodedInputError} from '../cli/errors.js'

import {asCliError, checkOutputFlags, ptdumpOptions, secondSnapshotOptions, snapshotFlags, requirePtdump, takenLines} from '../cli/flags.js'
import {renderDiagnostics} from '../ingest/diagnostics.js'
import {Progress} from '../cli/progress.js'
import {knobFlags, knobsFrom, policyFlag, replayOptionsFrom, traceFlags} from '../cli/replay-flags.js'
import {type VerifyResult, renderVerifyText, verifyResult} from '../report/verify.js'
import {kernelLine, loadFacts} from '../capture/facts.js'
import {readPtdump} from '../ingest/ptdump/index.js'
import {choosePolicy} from '../replay/run.js'
import {runVerify} from '../replay/verify.js'

export default class Verify extends PtreplayCommand {
  static override summary = 'Replay a trace over one snapshot and check the prediction against a later real snapshot, run by run, per region.'

  static override description = `ptreplay verify <before> <trace…> <after>

Replays the trace over <before> (as \`replay\` does, same policy and window flags) and compares
the predicted page tables with <after>, entry by entry (level, contiguous hint, attributes),
per region. Each region is:

  match           every entry equal;
  differs         the first --max-ranges differing ranges are printed, predicted against actual
                  as ptdump lines, with the call that last touched the range (file:line) or, when
                  none did, the nearest calls below and above it and the last/first calls on it
                  outside the window;
  not verifiable  its mappings are created or removed by calls the trace does not carry
                  (vmalloc/vmap/module areas appearing or disappearing), or traced calls acted on
                  memory <before> does not map there. The reason is printed.

A difference is "not explained by the trace" when no traced call in the window touched it, or
when the only calls that did fall between the last marker before a cut and the cut (so the
snapshot may or may not include them). Captures mark their phases with trace_marker writes
("tracing_mark_write: capture: …"); --from-marker/--until-marker cut the trace so a middle
snapshot can be verified.

When the snapshots sit in a capture bundle whose steps.log logs their dumps (ptreplay
capture-script's bundles and the shared captures do), verify cuts the trace at the dumps
themselves: the marks logged in both files tie steps.log's clock (/proc/uptime) to the trace's,
and each dump's end is placed in trace time. A range that changed within the placement's
uncertainty of a dump (a vm area mapped or unmapped as it was taken, on the side the snapshot
shows) or, for a dump after tracing stopped, a task's kernel stack (THREAD_SIZE) is listed and
does not fail the verdict. --window markers cuts at the markers instead.

Exit status: 0 when the linear map is verifiable and every verifiable region matches exactly,
1 when something differs (or the linear map is not verifiable), 2 on bad input.

--json prints one document whatever the verdict, with the exit status as exitCode:
{before, after, traces, geometry, policy, policyReasons, rebase?, window, replay, groundTruth,
 regions: [{name, status, reasons, presence, callsOnUnknownMemory, differingRanges,
            differingBytes, notExplained, differences: [{start, end, bytes, predicted, actual,
            explainedByTrace, cause: replay|untraced|timing, note, lastTouch?, nearest}]}],
 verdict, summary, exitCode, htmlFile?}

--html FILE also writes a self-contained HTML page: the verdict first, a row per region, the
differing ranges with predicted and actual runs, and the predicted and actual maps side by side
(hover a cell for the difference there). "-" writes the page to stdout (the text goes to stderr).`

  static override examples = [
    {
      description: '6.1 rodata=full: the whole capture, before → after',
      command:
        '<%= config.bin %> verify samples/debian-6.1-qemu/max-2G-default/kernel_page_tables.before samples/debian-6.1-qemu/max-2G-default/trace.txt samples/debian-6.1-qemu/max-2G-default/kernel_page_tables.after',
    },
    {
      description: '7.3 BBM Level 3: probed → loaded, cut at the two dumps (placed by the bundle\'s steps.log)',
      command:
        '<%= config.bin %> verify samples/linux-7.3-debian-qemu/ampere1a-2G-default/kernel_page_tables.probed samples/linux-7.3-debian-qemu/ampere1a-2G-default/trace.txt.gz samples/linux-7.3-debian-qemu/ampere1a-2G-default/kernel_page_tables.loaded',
    },
    {
      description: '6.19 BBML2: the BPF phase only, loaded → bpf',
      command:
        '<%= config.bin %> verify samples/linux-6.19-bbml2-qemu/max-2G-default/kernel_page_tables.loaded samples/linux-6.19-bbml2-qemu/max-2G-default/trace.txt.gz samples/linux-6.19-bbml2-qemu/max-2G-default/kernel_page_tables.bpf --from-marker "capture: bpf phase begin" --until-marker "capture: bpf phase end"',
    },
    {
      description: 'The same as an HTML page: verdict, regions, differing ranges, predicted and actual maps',
      command:
        '<%= config.bin %> verify samples/debian-6.1-qemu/max-2G-default/kernel_page_tables.before samples/debian-6.1-qemu/max-2G-default/trace.txt samples/debian-6.1-qemu/max-2G-default/kernel_page_tables.after --html verify.html',
    },
    {
      description: 'A middle snapshot: before → loaded (the dump is taken before the BPF phase begins)',
      command:
        '<%= config.bin %> verify samples/debian-6.1-qemu/max-2G-default/kernel_page_tables.before samples/debian-6.1-qemu/max-2G-default/trace.txt samples/debian-6.1-qemu/max-2G-default/kernel_page_tables.loaded --until-marker "capture: bpf phase begin"',
    },
  ]

  static override enableJsonFlag = true

  static override strict = false

  static override usage = 'verify BEFORE TRACE... AFTER [flags]'

  static override flags = {
    ...snapshotFlags,
    policy: policyFlag,
    ...knobFlags,
    ...traceFlags,
    window: Flags.string({
      description:
        'Where the replay starts and stops. dumps: at the two snapshots\' dump times, which the bundle\'s steps.log gives (each dump is logged after it ends; the phase marks logged there too tie its clock to the trace\'s). markers: at --from-marker/--until-marker (the whole trace without them). auto: dumps when steps.log names both snapshots and no marker is given, else markers.',
      options: ['auto', 'dumps', 'markers'] as const,
      default: 'auto',
      helpGroup: 'TRACE',
    }),
    'max-ranges': Flags.integer({description: 'Differing ranges listed per region.', default: 10, min: 0, aliases: ['max-diffs']}),
    html: Flags.string({description: 'Also write a self-contained HTML report (verdict, regions, differing ranges, predicted and actual maps) to FILE; - for stdout.', helpValue: 'FILE'}),
  }

  async run(): Promise<VerifyResult & {htmlFile?: string}> {
    const parsed = await this.parse(Verify)
    const {flags} = parsed
    const argv = positionalArgs(parsed, this.id ?? 'verify')
    const files = argv as string[]
    if (files.length < 3) throw new CodedInputError('usage', `expected <before> <trace…> <after>, got ${files.length} file argument(s); see ptreplay verify --help`)
    const before = files[0]!
    const after = files[files.length - 1]!
    const traces = files.slice(1, -1)
    const progress = new Progress(!this.jsonEnabled())
    let result: VerifyResult & {htmlFile?: string}
    let taken: string[] = []
    const writeFailures: string[] = []
    try {
      checkOutputFlags({'--html': flags.html}, this.jsonEnabled())
      const popts = ptdumpOptions(flags)
      const a = await readPtdump(before, popts)
      const b = await readPtdump(after, secondSnapshotOptions(popts))
      requirePtdump(a, b)
      taken = takenLines([a, b])
      const {facts} = loadFacts(a.source)
      let replay
      let choice
      try {
        choice = choosePolicy(flags.policy, knobsFrom(flags), a, facts)
        replay = replayOptionsFrom(flags, flags.strict)
      } catch (e) {
        if (e instanceof Errors.CLIError) throw e
        this.error((e as Error).message, {exit: 2})
      }
      replay.trace = {...replay.trace, onProgress: progress.bytes}
      replay.onProgress = (n) => (progress.items = n)
      const v = await runVerify({before: a, after: b, traces, choice, replay, maxDiffs: flags['max-ranges'], window: flags.window as 'auto' | 'dumps' | 'markers'})
      result = verifyResult(v)
      progress.stop()
      if (flags.html) {
        const [{renderHtmlReport, writeHtmlOrNote}, {verifyHtmlDoc}] = await Promise.all([import('../report/html/render.js'), import('../report/html/verify-doc.js')])
        const doc = verifyHtmlDoc({
          result,
          predicted: v.predicted ? {pt: v.predicted, regions: a.regions} : undefined,
          actual: {pt: b.pt, regions: b.regions},
          kernel: kernelLine(facts),
          version: this.config.version,
        })
        writeHtmlOrNote(flags.html, renderHtmlReport(doc), writeFailures)
        result.htmlFile = flags.html
      }
    } catch (e) {
      progress.stop()
      asCliError(e)
    }
    // "differs" is a result, not an error: the result is returned (oclif prints it under --json,
    // and in-process callers get it) whatever the verdict, and the verdict is the exit status
    // (result.exitCode: 0 match, 1 differs or the linear map not verifiable).
    process.exitCode = result.exitCode
    if (!this.jsonEnabled()) {
      // With --html - the page is stdout's only content: the text goes to stderr.
      const out = flags.html === '-' ? (l: string) => this.logToStderr(l) : (l: string) => this.log(l)
      for (const line of taken) this.logToStderr(line)
      for (const line of fitProse(renderVerifyText(result))) out(line)
      if (result.htmlFile && result.htmlFile !== '-') out(`\nHTML report: ${result.htmlFile}`)
      for (const line of renderDiagnostics(result.diagnostics)) this.logToStderr(line)
    }
    // A late write failure: the report above is still printed, then the error (exit 2).
    if (writeFailures.length) this.error(writeFailures.join('; '), {exit: 2})
    return result
  }
}
