import {Args, Flags} from '@oclif/core'
import {PtreplayCommand} from '../cli/base-command.js'

import {asCliError, ptdumpOptions, snapshotFlags} from '../cli/flags.js'
import {type FleetRun, defaultJobs, runFleet} from '../fleet/run.js'
import {AtomicWriter} from '../report/atomic-file.js'
import {renderFleetText} from '../report/fleet-text.js'
import {PromFleetWriter, hostSamples, promEligibility} from '../report/prom.js'
import type {FleetSummary} from '../fleet/summary.js'

export interface FleetResult extends FleetSummary {
  jobs: number
  mode: 'threads' | 'inline'
  ndjsonFile?: string
  promFile?: string
}

async function toStdout(text: string): Promise<void> {
  if (!process.stdout.write(text)) await new Promise<void>((resolve) => process.stdout.once('drain', () => resolve()))
}

export default class Fleet extends PtreplayCommand {
  static override summary = 'Audit many hosts in parallel: one NDJSON record per host and a fleet summary.'

  static override description = `Audits every host given — capture bundles (directories laid out like samples/*/*/),
ptdump files, quoted globs, directories of bundles or dumps, or - for paths on stdin — in a pool
of worker threads (--jobs, default: the cores), with the same audit as \`ptreplay audit\`.

Each host becomes one NDJSON line (schema in README "Fleets and Perfetto"): identity from the
bundle (uname, /proc/version, cmdline, CPU MIDRs) or the path, per-region totals, DirectMap per
leaf size, table bytes, TLB entries, and — where the bundle has a trace and the snapshot taken
before it — the kernel's split counters from a replay under the inferred policy (--no-replay
skips it), and the block-mapping eligibility with the BBML3 forecast (README "Eligibility and
forecast"). Records go to --ndjson FILE (written atomically) or to stdout; the summary (p50/p90/
max of table bytes and TLB entries, hosts by eligibility, the worst hosts) goes to stdout, or
to stderr when the records take stdout. With --json the summary is the JSON object and records
go only to --ndjson.

A host that cannot be read is reported on stderr as it fails (file:line), written as an NDJSON
line with an "error" field, counted, and the run goes on; the exit code is then 1.`

  static override examples = [
    {description: 'The real captures bundled in samples/', command: '<%= config.bin %> fleet "samples/*/*/" --ndjson fleet.ndjson'},
    {description: 'Two threads, records on stdout', command: '<%= config.bin %> fleet "samples/*/*/" --jobs 2 > fleet.ndjson'},
    {description: 'A Prometheus textfile for node_exporter beside the records', command: '<%= config.bin %> fleet "samples/*/*/" --ndjson fleet.ndjson --prom fleet.prom'},
    {description: 'Paths on stdin', command: 'find /srv/captures -name kernel_page_tables.after | <%= config.bin %> fleet - --ndjson fleet.ndjson'},
  ]

  static override enableJsonFlag = true

  static override strict = false

  static override args = {
    hosts: Args.string({description: 'bundle directories, ptdump files, quoted globs, directories of them, or - (paths on stdin)', required: true}),
  }

  static override flags = {
    ...snapshotFlags,
    jobs: Flags.integer({char: 'j', description: `Worker threads (default: the cores, here ${defaultJobs()}).`, min: 1, helpValue: 'N'}),
    ndjson: Flags.string({description: 'Write one JSON record per host to FILE (temp file + rename); default stdout.', helpValue: 'FILE'}),
    prom: Flags.string({description: 'Also write a Prometheus textfile (node_exporter textfile collector) with every host\'s series, labelled host="…", to FILE (temp file + rename).', helpValue: 'FILE'}),
    replay: Flags.boolean({description: "Replay a bundle's trace from its .before snapshot for the split counters.", default: true, allowNo: true}),
  }

  async run(): Promise<FleetResult> {
    const {argv, flags} = await this.parse(Fleet)
    const json = this.jsonEnabled()
    const writer = flags.ndjson && flags.ndjson !== '-' ? new AtomicWriter(flags.ndjson) : undefined
    const prom = flags.prom ? new PromFleetWriter(flags.prom) : undefined
    const recordsOnStdout = !writer && !json
    const tty = process.stderr.isTTY && !json
    const started = Date.now()
    let lastDraw = 0
    const say = (line: string) => process.stderr.write((tty ? '\r\x1b[K' : '') + line + '\n')
    const put = (obj: object) => {
      const line = JSON.stringify(obj) + '\n'
      return writer ? writer.write(line) : recordsOnStdout ? toStdout(line) : undefined
    }
    let run: FleetRun
    try {
      run = await runFleet(argv as string[], {
        ...ptdumpOptions(flags),
        jobs: flags.jobs,
        replay: flags.replay,
        onRecord: (r) => {
          prom?.add(hostSamples(r, promEligibility(r.eligibility), r.host))
          return put(r)
        },
        onError: async (e) => {
          say(`host failed: ${e.error}`)
          await put(e)
        },
        onProgress: (done, errors) => {
          if (!tty) return
          const now = Date.now()
          if (now - lastDraw < 200) return
          lastDraw = now
          const rate = done / Math.max(0.001, (now - started) / 1000)
          process.stderr.write(`\r\x1b[Kfleet: ${done.toLocaleString('en-US')} hosts, ${errors} failed, ${Math.round(rate).toLocaleString('en-US')} hosts/s`)
        },
      })
      if (tty) process.stderr.write('\r\x1b[K')
      prom?.add([
        {family: 'hosts', labels: {}, value: run.summary.hosts},
        {family: 'hostErrors', labels: {}, value: run.summary.errors},
      ])
      await prom?.commit()
      await writer?.commit()
    } catch (e) {
      prom?.abort()
      writer?.abort()
      asCliError(e)
    }
    const result: FleetResult = {...run.summary, jobs: run.jobs, mode: run.mode, ...(writer ? {ndjsonFile: flags.ndjson} : {}), ...(prom ? {promFile: flags.prom} : {})}
    if (!json) {
      const lines = renderFleetText(run.summary, {jobs: run.jobs, mode: run.mode, ndjson: result.ndjsonFile, prom: result.promFile})
      for (const l of lines) {
        if (recordsOnStdout) process.stderr.write(l + '\n')
        else this.log(l)
      }
    }
    if (run.summary.errors) process.exitCode = 1
    return result
  }
}
