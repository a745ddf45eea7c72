/**
 * Run a documented example as a user would, with two differences a test needs: files the example
 * writes go to a scratch directory (inputs an earlier example wrote are read back from there),
 * and what only exists on the arm64 target (sudo, debugfs, a capture directory) is replaced by a
 * bundled capture, as listed in TARGET below. A single `ptreplay …` (with `>` or `&&`) runs in
 * this process; a line with other programs in a pipe runs in sh, with `ptreplay` the built
 * bin/run.js.
 */
import {spawnSync} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, writeFileSync} from 'node:fs'
import {dirname, isAbsolute, join, resolve} from 'node:path'

import {type CommandClass, type Example, parseShell, shellQuote, type Simple} from './examples.js'
import {runCommand} from './run-command.js'

/** The snapshot that stands for the target's debugfs file. */
export const TARGET_PTDUMP = 'samples/debian-6.1-qemu/max-2G-default/kernel_page_tables.after'

/**
 * Target-only words and what runs instead: `sudo` is dropped, debugfs is a bundled snapshot, the
 * fleet's capture directory is samples/.
 */
function onTarget(argv: string[]): string[] {
  const a = argv[0] === 'sudo' ? argv.slice(1) : [...argv]
  return a.map((w, i) => (w === '/sys/kernel/debug/kernel_page_tables' ? TARGET_PTDUMP : w === '/srv/captures' && a[0] === 'find' && i === 1 ? 'samples' : w))
}

/** Flags whose value is a file the command writes. */
const OUTPUT_FLAGS = new Set(['output', 'html', 'prom', 'ndjson', 'perfetto', 'output-dir'])
/** Flags whose value is a file the command reads. */
const INPUT_FLAGS = new Set(['machine'])

export interface ExampleRun {
  exit: number
  stdout: string
  stderr: string
  /** The scratch directory: `out('x')` is where the example's file `x` went. */
  out: (p: string) => string
  /** Every command of the line ran in this process (not through sh and the binary). */
  inProcess: boolean
}

export class ExampleRunner {
  constructor(
    readonly classes: Map<string, CommandClass>,
    readonly scratch: string,
    readonly bin = resolve('bin/run.js'),
  ) {
    mkdirSync(scratch, {recursive: true})
  }

  out = (p: string): string => join(this.scratch, isAbsolute(p) ? p.replace(/^\/+/, '') : p)

  /** A file the example writes: into the scratch directory, its parent made as on the target. */
  private output(p: string): string {
    if (p === '-') return p
    const o = this.out(p)
    mkdirSync(dirname(o), {recursive: true})
    return o
  }

  /** A file the example reads: in the repository (samples/), or written by an earlier example. */
  private input(p: string, example: Example): string {
    if (p === '-' || /[*?[]/.test(p) || existsSync(p)) return p
    if (existsSync(this.out(p))) return this.out(p)
    throw new Error(`${example.origin}: "${example.command}" reads ${p}, which is neither in the repository nor written by an earlier example`)
  }

  /** The command id at the start of argv (after `ptreplay`) and the class. */
  private command(argv: string[]): {id: string; cls: CommandClass; rest: string[]} {
    for (let n = Math.min(2, argv.length - 1); n >= 1; n--) {
      const id = argv.slice(1, 1 + n).join(' ')
      const cls = this.classes.get(id)
      if (cls) return {id, cls, rest: argv.slice(1 + n)}
    }
    throw new Error(`not a ptreplay command: ${argv.join(' ')}`)
  }

  /** argv with outputs redirected to the scratch directory and inputs resolved. */
  private rewrite(s: Simple, example: Example): Simple {
    const argv = onTarget(s.argv)
    const stdout = s.stdout === undefined ? undefined : this.output(s.stdout)
    if (argv[0] !== 'ptreplay') return {argv: argv.map((w, i) => (i > 0 && !w.startsWith('-') && !existsSync(w) && existsSync(this.out(w)) ? this.out(w) : w)), stdout}
    const {cls, rest} = this.command(argv)
    const head = argv.slice(0, argv.length - rest.length)
    const flags = cls.flags ?? {}
    const byToken = new Map<string, {name: string; option: boolean}>()
    for (const [name, f] of Object.entries(flags)) {
      const option = f.type === 'option'
      byToken.set(`--${name}`, {name, option})
      if (!option) byToken.set(`--no-${name}`, {name, option})
      if (f.char) byToken.set(`-${f.char}`, {name, option})
      for (const a of f.aliases ?? []) byToken.set(`--${a}`, {name, option})
    }
    const out: string[] = []
    for (let i = 0; i < rest.length; i++) {
      const w = rest[i]!
      if (w.startsWith('-') && w !== '-') {
        const [tok, inline] = w.includes('=') ? [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)] : [w, undefined]
        const f = byToken.get(tok)
        if (!f?.option) {
          out.push(w)
          continue
        }
        const value = inline ?? rest[++i]!
        const v = OUTPUT_FLAGS.has(f.name) ? this.output(value) : INPUT_FLAGS.has(f.name) ? this.input(value, example) : value
        out.push(tok, v)
      } else out.push(this.input(w, example))
    }
    return {argv: [...head, ...out], stdout}
  }

  async run(example: Example): Promise<ExampleRun> {
    const seq = parseShell(example.command).map((pipe) => pipe.map((s) => s))
    const inProcess = seq.every((pipe) => pipe.length === 1 && onTarget(pipe[0]!.argv)[0] === 'ptreplay')
    let last = {exit: 0, stdout: '', stderr: ''}
    if (inProcess) {
      // As `&&`: each command in turn, rewritten only once the one before has written its files.
      for (const [s] of seq) {
        const r = this.rewrite(s!, example)
        const {cls, rest} = this.command(r.argv)
        const o = await runCommand(cls, rest)
        last = {exit: o.exit, stdout: o.stdout, stderr: o.stderr}
        if (r.stdout !== undefined) writeFileSync(r.stdout, o.stdout)
        if (o.exit !== 0) break
      }
      return {...last, out: this.out, inProcess}
    }
    const line = seq
      .map((pipe) =>
        pipe
          .map((s) => this.rewrite(s, example))
          .map((s) => s.argv.map(shellQuote).join(' ') + (s.stdout === undefined ? '' : ` > ${shellQuote(s.stdout)}`))
          .join(' | '),
      )
      .join(' && ')
    const shim = join(this.scratch, '.bin')
    mkdirSync(shim, {recursive: true})
    writeFileSync(join(shim, 'ptreplay'), `#!/bin/sh\nexec ${shellQuote(process.execPath)} ${shellQuote(this.bin)} "$@"\n`)
    chmodSync(join(shim, 'ptreplay'), 0o755)
    const r = spawnSync('sh', ['-c', line], {encoding: 'utf8', env: {...process.env, PATH: `${shim}:${process.env.PATH}`, NO_COLOR: '1'}, maxBuffer: 1 << 28})
    return {exit: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, out: this.out, inProcess}
  }
}
