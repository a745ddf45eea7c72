/**
 * Output files (issue 15 §3, R14/R15/R17/R18; issue 12 items 14, 15, 20): every writer goes
 * through atomic-file.ts. A symlink planted at every temp name a writer draws (and at the old
 * predictable `.<name>.tmp-<pid>`) is never followed: the targets stay untouched. A writer
 * interrupted by SIGINT leaves nothing behind (no temp file, no partial output, no extraction
 * directory). `-` is stdout, `''` an error, a bad path is found before the work.
 */
import {spawn} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, afterEach, describe, expect, it} from 'vitest'

import {runCommand, type Cmd} from '../helpers/run-command.js'
import Audit from '../../src/commands/audit.js'
import CaptureScript from '../../src/commands/capture-script.js'
import Compare from '../../src/commands/compare.js'
import Events from '../../src/commands/events.js'
import Fleet from '../../src/commands/fleet.js'
import Replay from '../../src/commands/replay.js'
import SynthFleet from '../../src/commands/synth/fleet.js'
import SynthMachine from '../../src/commands/synth/machine.js'
import SynthWorkload from '../../src/commands/synth/workload.js'
import {tempNames} from '../../src/report/atomic-file.js'

const S61 = 'samples/debian-6.1-qemu/max-2G-default'
const G = 'test/golden/five-formats/capture.tracefs.txt'
const tmp = mkdtempSync(join(tmpdir(), 'ptreplay-atomic-'))
afterAll(() => rmSync(tmp, {recursive: true, force: true}))
const realNext = tempNames.next
afterEach(() => {
  tempNames.next = realNext
})

/** Each writer: a command, its arguments with OUT for the output file. */
const WRITERS: {name: string; cmd: Cmd; argv: string[]}[] = [
  {name: 'events --output', cmd: Events, argv: [G, '--output', 'OUT']},
  {name: 'synth machine -o', cmd: SynthMachine, argv: ['--memory', '1G', '-o', 'OUT']},
  {name: 'synth workload -o', cmd: SynthWorkload, argv: ['--kind', 'module-churn', '--events', '200', '--memory', '1G', '-o', 'OUT']},
  {name: 'capture-script -o', cmd: CaptureScript, argv: ['--kernel', '6.19', '-o', 'OUT']},
  {name: 'audit --html', cmd: Audit, argv: [`${S61}/kernel_page_tables.before`, '--html', 'OUT']},
  {name: 'audit --prom', cmd: Audit, argv: [`${S61}/kernel_page_tables.before`, '--prom', 'OUT']},
  {name: 'replay --html', cmd: Replay, argv: [`${S61}/kernel_page_tables.before`, G, '--html', 'OUT', '--no-chart']},
  {name: 'replay --perfetto', cmd: Replay, argv: [`${S61}/kernel_page_tables.before`, G, '--perfetto', 'OUT', '--no-chart']},
  {name: 'compare --html', cmd: Compare, argv: [`${S61}/kernel_page_tables.before`, G, '--html', 'OUT']},
  {name: 'compare --perfetto', cmd: Compare, argv: [`${S61}/kernel_page_tables.before`, G, '--perfetto', 'OUT']},
  {name: 'fleet --ndjson', cmd: Fleet, argv: [`${S61}/`, '--ndjson', 'OUT']},
  {name: 'fleet --prom', cmd: Fleet, argv: [`${S61}/`, '--prom', 'OUT']},
]

describe('planted symlinks at temp names are never followed', () => {
  for (const w of WRITERS) {
    it(w.name, async () => {
      const dir = join(tmp, w.name.replace(/\W+/g, '-'))
      mkdirSync(dir)
      const out = join(dir, 'out.file')
      // The names the writer will draw: plant a symlink to a precious file at the first three,
      // and at the old predictable name.
      const seq = ['aaaa', 'bbbb', 'cccc', 'dddd', 'eeee', 'ffff']
      let k = 0
      tempNames.next = () => seq[k++ % seq.length]!
      const precious: string[] = []
      for (const [i, suffix] of ['aaaa', 'bbbb', 'cccc'].entries()) {
        const p = join(dir, `precious-${i}`)
        writeFileSync(p, 'precious')
        precious.push(p)
        symlinkSync(p, join(dir, `.out.file.${suffix}.tmp`))
      }
      symlinkSync(join(dir, 'precious-0'), join(dir, `.out.file.tmp-${process.pid}`))
      const r = await runCommand(w.cmd, w.argv.map((a) => (a === 'OUT' ? out : a)))
      expect(r.error?.message).toBeUndefined()
      for (const p of precious) expect(readFileSync(p, 'utf8')).toBe('precious')
      expect(existsSync(out)).toBe(true)
      expect(readdirSync(dir).filter((f) => f.endsWith('.tmp') && !['.out.file.aaaa.tmp', '.out.file.bbbb.tmp', '.out.file.cccc.tmp'].includes(f))).toEqual([])
    })
  }

  it('synth fleet -o into an existing host directory with a symlink at a file it writes: refused, target untouched', async () => {
    // synth fleet wrote the bundle's small files (uname.txt, …) with a plain writeFileSync, which
    // follows a symlink; now every file goes through the atomic writer.
    const dir = join(tmp, 'fleet-link')
    const first = await runCommand(SynthFleet, ['-n', '1', '-o', join(dir, 'probe')])
    expect(first.exit).toBe(0)
    const host = readdirSync(join(dir, 'probe'))[0]!
    const files = readdirSync(join(dir, 'probe', host))
    mkdirSync(join(dir, 'out', host), {recursive: true})
    writeFileSync(join(dir, 'precious'), 'precious')
    for (const f of files) symlinkSync(join(dir, 'precious'), join(dir, 'out', host, f))
    const r = await runCommand(SynthFleet, ['-n', '1', '-o', join(dir, 'out')])
    expect(r.exit).toBe(2)
    expect(r.error!.message).toMatch(/cannot write \(it is a symbolic link; not replaced\)/)
    expect(readFileSync(join(dir, 'precious'), 'utf8')).toBe('precious')
  })

  it('a symlink at the target itself is refused, not replaced', async () => {
    const dir = join(tmp, 'target-link')
    mkdirSync(dir)
    writeFileSync(join(dir, 'precious'), 'precious')
    symlinkSync(join(dir, 'precious'), join(dir, 'out.csv'))
    const r = await runCommand(Events, [G, '--output', join(dir, 'out.csv')])
    expect(r.exit).toBe(2)
    expect(r.error!.message).toMatch(/out\.csv: cannot write \(it is a symbolic link/)
    expect(readFileSync(join(dir, 'precious'), 'utf8')).toBe('precious')
  })
})

describe('output paths', () => {
  it("'' is an error, before the work", async () => {
    const r = await runCommand(Events, [G, '--output', ''])
    expect(r.exit).toBe(2)
    expect(r.error!.message).toMatch(/--output: empty path/)
  })
  it('- is stdout for events --output (no file named -)', async () => {
    const cwd = process.cwd()
    const r = await runCommand(Events, [G, '--output', '-'])
    expect(r.exit).toBe(0)
    expect(r.stdout.split('\n')[0]).toMatch(/^\{"ts_ns"/)
    expect(existsSync(join(cwd, '-'))).toBe(false)
  })
  it('synth machine -o into a missing directory: the same one-line error, exit 2', async () => {
    const r = await runCommand(SynthMachine, ['--memory', '1G', '-o', '/nonexistent-dir/m.txt'])
    expect(r.exit).toBe(2)
    expect(r.error!.message).toBe('/nonexistent-dir/m.txt: cannot write (ENOENT: no such directory)')
  })
  it('replay --html into a missing directory fails before the replay', async () => {
    const r = await runCommand(Replay, [`${S61}/kernel_page_tables.before`, `${S61}/trace.txt`, '--html', '/nonexistent-dir/r.html'])
    expect(r.exit).toBe(2)
    expect(r.stdout).toBe('')
  })
  it('synth workload --json without -o is refused (the trace would mix with the JSON)', async () => {
    const r = await runCommand(SynthWorkload, ['--kind', 'module-churn', '--events', '10', '--json'])
    expect(r.exit).toBe(2)
  })
})

const RUN = 'bin/run.js'
const built = existsSync('dist/src/commands/events.js')

/** Spawn a writer, SIGINT it once its temp file (or extraction dir) exists, then look for leftovers. */
async function interrupt(argv: string[], dir: string, appeared: () => boolean): Promise<{code: number | null; signal: string | null}> {
  const child = spawn(process.execPath, [RUN, ...argv], {env: {...process.env, TMPDIR: dir}, stdio: ['ignore', 'ignore', 'pipe']})
  const done = new Promise<{code: number | null; signal: string | null}>((resolve) => child.on('exit', (code, signal) => resolve({code, signal})))
  // A hang detector only (generous): the writer should have started long before.
  for (let i = 0; i < 1200 && !appeared(); i++) await new Promise((r) => setTimeout(r, 25))
  child.kill('SIGINT')
  return done
}

describe.skipIf(!built)('SIGINT mid-write leaves nothing behind (spawned bin/run.js)', () => {
  const big = join(tmp, 'big.txt')
  it('synth workload -o (generating a large trace)', async () => {
    const dir = join(tmp, 'sig-synth')
    mkdirSync(dir)
    const r = await interrupt(['synth', 'workload', '--kind', 'module-churn', '--events', '3000000', '-o', join(dir, 'big.txt')], dir, () =>
      readdirSync(dir).some((f) => f.endsWith('.tmp')),
    )
    expect(r.code === 130 || r.signal === 'SIGINT').toBe(true)
    expect(readdirSync(dir)).toEqual([])
  })
  it('events --output (converting a large trace)', async () => {
    // the input: a generated workload, written once
    await runCommand(SynthWorkload, ['--kind', 'module-churn', '--events', '200000', '-o', big])
    const dir = join(tmp, 'sig-events')
    mkdirSync(dir)
    const r = await interrupt(['events', big, '--output', join(dir, 'out.csv')], dir, () => readdirSync(dir).some((f) => f.endsWith('.tmp')))
    // On a loaded machine the conversion may finish before the signal lands: then the whole file
    // is there and nothing else; interrupted, nothing at all.
    if (r.code === 0) expect(readdirSync(dir)).toEqual(['out.csv'])
    else {
      expect(r.code === 130 || r.signal === 'SIGINT').toBe(true)
      expect(readdirSync(dir)).toEqual([])
    }
  })
  it('events on a bundle tarball: the extraction directory is removed', async () => {
    const dir = join(tmp, 'sig-tar')
    mkdirSync(dir)
    const tar = join(tmp, 'bundle.tar')
    const {execFileSync} = await import('node:child_process')
    execFileSync('tar', ['-cf', tar, '-C', tmp, 'big.txt', '--transform', 's/big.txt/trace.txt/'])
    const r = await interrupt(['events', tar], dir, () => readdirSync(dir).some((f) => f.startsWith('ptreplay-')))
    expect(r.code === 130 || r.signal === 'SIGINT' || r.code === 0).toBe(true)
    expect(readdirSync(dir)).toEqual([])
  })
})

/**
 * Every other writer, SIGINTed while it works (once it has a sample input or a file in its output
 * directory open; synth machine and capture-script have no input and mostly finish first). These write their file in one step at the end, so the signal
 * almost always lands before the temp file exists; either way the directory must hold nothing,
 * or (the run won the race) exactly the finished outputs. All run at once to keep the test short.
 */
/** Paths the process has open (its /proc fd links); [] once it is gone. */
function openFiles(pid: number): string[] {
  try {
    return readdirSync(`/proc/${pid}/fd`).map((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`)
      } catch {
        return ''
      }
    })
  } catch {
    return []
  }
}

describe.skipIf(!built)('SIGINT during every other writer leaves nothing behind', () => {
  const S619 = 'samples/linux-6.19-bbml2-qemu/max-2G-default'
  const LONG = [`${S619}/kernel_page_tables.before`, `${S619}/trace.txt.gz`]
  const CASES: {name: string; argv: (dir: string) => string[]; outputs: string[]}[] = [
    {name: 'synth machine -o', argv: (d) => ['synth', 'machine', '--memory', '4T', '--policy', 'bbml2', '-o', join(d, 'm.txt')], outputs: ['m.txt']},
    {name: 'capture-script -o', argv: (d) => ['capture-script', '--kernel', '6.19', '-o', join(d, 'c.sh')], outputs: ['c.sh']},
    {name: 'audit --html --prom', argv: (d) => ['audit', `${S619}/kernel_page_tables.after`, '--html', join(d, 'a.html'), '--prom', join(d, 'a.prom')], outputs: ['a.html', 'a.prom']},
    {name: 'replay --html --perfetto', argv: (d) => ['replay', ...LONG, '--no-chart', '--html', join(d, 'r.html'), '--perfetto', join(d, 'r.pftrace')], outputs: ['r.html', 'r.pftrace']},
    {name: 'compare --html --perfetto', argv: (d) => ['compare', ...LONG, '--html', join(d, 'c.html'), '--perfetto', join(d, 'c.pftrace')], outputs: ['c.html', 'c.pftrace']},
    {name: 'fleet --ndjson --prom', argv: (d) => ['fleet', 'samples/*/*/', '--ndjson', join(d, 'f.ndjson'), '--prom', join(d, 'f.prom')], outputs: ['f.ndjson', 'f.prom']},
  ]
  it(CASES.map((c) => c.name).join(', '), async () => {
    const outcomes = await Promise.all(
      CASES.map(async (c) => {
        const dir = join(tmp, `sig-${c.name.replace(/\W+/g, '-')}`)
        mkdirSync(dir)
        const child = spawn(process.execPath, [RUN, ...c.argv(dir)], {env: {...process.env, TMPDIR: dir}, stdio: ['ignore', 'ignore', 'pipe']})
        child.stderr!.resume()
        const done = new Promise<{code: number | null; signal: string | null}>((resolve) => child.on('exit', (code, signal) => resolve({code, signal})))
        let exited = false
        void done.then(() => (exited = true))
        // mid-run: the child has its input (a sample) or an output (in dir) open; 20 s is a hang detector only
        for (let i = 0; i < 2000 && !exited && !openFiles(child.pid!).some((f) => f.includes('/samples/') || f.startsWith(dir)); i++) await new Promise((r) => setTimeout(r, 10))
        child.kill('SIGINT')
        return {c, dir, r: await done}
      }),
    )
    for (const {c, dir, r} of outcomes) {
      const left = readdirSync(dir).sort()
      if (r.code === 0) expect(left, c.name).toEqual([...c.outputs].sort())
      else {
        expect(r.code === 130 || r.signal === 'SIGINT', `${c.name}: exit ${r.code} ${r.signal}`).toBe(true)
        expect(left, `${c.name}: exit ${r.code} ${r.signal}`).toEqual([])
      }
    }
  })
})

describe.skipIf(!built)('SIGINT during synth fleet stops it between bundles', () => {
  it('synth fleet -n 2000: exit 130, only whole bundles, no temp file', async () => {
    const dir = join(tmp, 'sig-synth-fleet')
    const child = spawn(process.execPath, [RUN, 'synth', 'fleet', '-n', '2000', '-o', dir], {stdio: ['ignore', 'ignore', 'ignore']})
    const done = new Promise<{code: number | null; signal: string | null}>((resolve) => child.on('exit', (code, signal) => resolve({code, signal})))
    // once a few bundles are written (60 s: a hang detector only)
    for (let i = 0; i < 6000 && !(existsSync(dir) && readdirSync(dir).length > 3); i++) await new Promise((r) => setTimeout(r, 10))
    child.kill('SIGINT')
    const r = await done
    // the loop was synchronous: the handler ran only after all 2,000 bundles
    expect(r.code).toBe(130)
    const hosts = readdirSync(dir)
    expect(hosts.length).toBeLessThan(2000)
    for (const h of hosts) expect(readdirSync(join(dir, h)).sort(), h).toEqual(['cmdline', 'cpuinfo', 'kernel_page_tables.after', 'uname.txt', 'version.txt'])
  })
})
