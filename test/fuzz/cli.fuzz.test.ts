/**
 * CLI fuzzing harness (issue 13 §3): mutates the real samples (a ptdump of the 6.1 capture, the
 * golden tracefs excerpt of the same capture) with the mutation classes the reliability rounds
 * used, runs each command through its oclif entry point (flag parsing, error handling, output
 * files: what bin/run.js runs), and fails on
 *   - a stack trace (an error oclif did not turn into a one-line CLI error),
 *   - a run over 30 s (a hang detector only, far above any normal run on a busy machine),
 *   - an exit code outside {0, 1, 2},
 *   - invalid --json, a partial or leftover output file (temp file, or a file after exit 2),
 *   - a known-bad mutation accepted with exit 0 and no diagnostic.
 * The budget is a count (FUZZ_RUNS; default 300 in the full project, 60 in npm test) from a seed (FUZZ_SEED, default 13), so CI time
 * does not depend on the machine's speed; run more locally: `FUZZ_RUNS=5000 FUZZ_SEED=7 npx vitest
 * run test/fuzz`. Every input that failed is written to test/data/fuzz-regressions/ (keep it: the
 * second test replays each one through every command).
 */
import {existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

import {runCommand, type Cmd} from '../helpers/run-command.js'
import {runs} from '../helpers/full.js'
import Audit from '../../src/commands/audit.js'
import Compare from '../../src/commands/compare.js'
import Diff from '../../src/commands/diff.js'
import Events from '../../src/commands/events.js'
import Replay from '../../src/commands/replay.js'
import Verify from '../../src/commands/verify.js'

const PTDUMP = 'samples/debian-6.1-qemu/max-2G-default/kernel_page_tables.before'
const TRACE = 'test/golden/five-formats/capture.tracefs.txt'
const REGRESSIONS = 'test/data/fuzz-regressions'
const RUNS = Number(process.env.FUZZ_RUNS ?? runs(300))
const SEED = Number(process.env.FUZZ_SEED ?? 13)
const HANG_MS = 30_000

const tmp = mkdtempSync(join(tmpdir(), 'ptreplay-fuzz-'))
afterAll(() => rmSync(tmp, {recursive: true, force: true}))

/** mulberry32: a small seeded generator (reproducible runs). */
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

type Mutation = {name: string; knownBad: boolean; apply: (b: Buffer, r: () => number) => Buffer}
const lines = (b: Buffer) => b.toString('latin1').split('\n')
const join1 = (l: string[]) => Buffer.from(l.join('\n'), 'latin1')
const pick = (n: number, r: () => number) => Math.floor(r() * n)

const MUTATIONS: Mutation[] = [
  {name: 'byte-flip', knownBad: false, apply: (b, r) => { const c = Buffer.from(b); for (let i = 0; i < 1 + pick(8, r); i++) c[pick(c.length, r)] ^= 1 << pick(8, r); return c }},
  {name: 'delete-line', knownBad: false, apply: (b, r) => { const l = lines(b); l.splice(pick(l.length, r), 1); return join1(l) }},
  {name: 'duplicate-line', knownBad: false, apply: (b, r) => { const l = lines(b); const i = pick(l.length, r); l.splice(i, 0, l[i]!); return join1(l) }},
  {name: 'truncate', knownBad: false, apply: (b, r) => b.subarray(0, pick(b.length, r))},
  {name: 'long-line', knownBad: true, apply: (b, r) => { const l = lines(b); l.splice(pick(l.length, r), 0, 'x'.repeat(100_000 + pick(2_000_000, r))); return join1(l) }},
  {name: 'nul-line', knownBad: true, apply: (b, r) => { const l = lines(b); l.splice(1 + pick(l.length - 1, r), 0, '\0'.repeat(1 + pick(64, r))); return join1(l) }},
  {name: 'crlf', knownBad: false, apply: (b) => Buffer.from(b.toString('latin1').replace(/\n/g, '\r\n'), 'latin1')},
  {name: 'invalid-utf8', knownBad: false, apply: (b, r) => { const c = Buffer.from(b); for (let i = 0; i < 4; i++) c[pick(c.length, r)] = 0xc0 + pick(64, r); return c }},
  {name: 'huge-number', knownBad: false, apply: (b, r) => Buffer.from(b.toString('latin1').replace(/0x[0-9a-f]+/, () => '9'.repeat(20 + pick(40, r))), 'latin1')},
  {name: 'swap-lines', knownBad: false, apply: (b, r) => { const l = lines(b); const i = pick(l.length - 1, r); [l[i], l[i + 1]] = [l[i + 1]!, l[i]!]; return join1(l) }},
  {name: 'concat-twice', knownBad: true, apply: (b) => Buffer.concat([b, b])},
  {name: 'garbage-line', knownBad: true, apply: (b, r) => { const l = lines(b); l.splice(1 + pick(l.length - 1, r), 0, 'garbage ' + '\x1b[2J'.repeat(pick(3, r)) + 'line'); return join1(l) }},
  {name: 'escape-bytes', knownBad: false, apply: (b, r) => Buffer.from(b.toString('latin1').replace(/insmod|init|kworker/, () => '\x1b]0;x\x07' + 'a'.repeat(pick(5, r))), 'latin1')},
]

const PT_CMDS: {name: string; cmd: Cmd; argv: (f: string, out: string) => string[]}[] = [
  {name: 'audit', cmd: Audit, argv: (f, out) => [f, '--html', join(out, 'a.html')]},
  {name: 'diff', cmd: Diff, argv: (f) => [f, PTDUMP]},
  {name: 'replay', cmd: Replay, argv: (f, out) => [f, TRACE, '--policy', 'bbml2', '--html', join(out, 'r.html')]},
  {name: 'verify', cmd: Verify, argv: (f) => [f, TRACE, PTDUMP]},
  {name: 'compare', cmd: Compare, argv: (f) => [f, TRACE, '--policies', 'pte-only,x86-cpa']},
]
const TRACE_CMDS: {name: string; cmd: Cmd; argv: (f: string, out: string) => string[]}[] = [
  {name: 'events', cmd: Events, argv: (f, out) => [f, '--output', join(out, 'e.csv')]},
  {name: 'replay', cmd: Replay, argv: (f) => [PTDUMP, f, '--policy', 'pte-only']},
  {name: 'verify', cmd: Verify, argv: (f) => [PTDUMP, f, join(tmp, 'after.txt')]},
  {name: 'compare', cmd: Compare, argv: (f) => [PTDUMP, f, '--policies', 'pte-only,bbml2']},
]

interface Outcome {
  problem?: string
}

async function check(cmd: Cmd, argv: string[], out: string, knownBad: boolean): Promise<Outcome> {
  const t0 = Date.now()
  const r = await runCommand<{diagnostics?: {count: number}}>(cmd, [...argv, '--json'])
  const ms = Date.now() - t0
  if (ms > HANG_MS) return {problem: `ran ${ms} ms (hang?)`}
  if (r.error && r.exit === -1) return {problem: `stack trace: ${r.error.stack?.split('\n').slice(0, 3).join(' | ')}`}
  if (![0, 1, 2].includes(r.exit)) return {problem: `exit ${r.exit}`}
  if (/\n\s+at .+\(.+:\d+:\d+\)/.test(r.stderr)) return {problem: 'stack trace on stderr'}
  let json = r.result
  if (json === undefined && r.stdout.trim()) {
    try {
      json = JSON.parse(r.stdout)
    } catch {
      return {problem: `invalid --json: ${r.stdout.slice(0, 120)}`}
    }
  }
  const left = readdirSync(out)
  if (left.some((f) => f.endsWith('.tmp'))) return {problem: `leftover temp file: ${left.join(', ')}`}
  if (r.exit === 2 && left.length) return {problem: `output file after a failure: ${left.join(', ')}`}
  if (knownBad && r.exit === 0 && !(json?.diagnostics && json.diagnostics.count > 0)) return {problem: 'known-bad input accepted without a diagnostic'}
  return {}
}

function freshDir(name: string): string {
  const d = join(tmp, name)
  rmSync(d, {recursive: true, force: true})
  mkdirSync(d)
  return d
}

describe('CLI fuzzing harness', () => {
  writeFileSync(join(tmp, 'after.txt'), readFileSync(PTDUMP))
  const bases = {ptdump: readFileSync(PTDUMP), trace: readFileSync(TRACE)}

  it(`${RUNS} seeded runs (seed ${SEED}): no stack trace, hang, stray exit code, bad JSON, leftover file or silent known-bad input`, async () => {
    const r = rng(SEED)
    const failures: string[] = []
    const classes = new Map<string, number>()
    const t0 = Date.now()
    for (let run = 0; run < RUNS; run++) {
      const m = MUTATIONS[pick(MUTATIONS.length, r)]!
      const kind = r() < 0.5 ? 'ptdump' : 'trace'
      const cmds = kind === 'ptdump' ? PT_CMDS : TRACE_CMDS
      const c = cmds[pick(cmds.length, r)]!
      const input = m.apply(bases[kind], r)
      const f = join(tmp, `in-${run}.txt`)
      writeFileSync(f, input)
      const out = freshDir(`out-${run}`)
      const o = await check(c.cmd, c.argv(f, out), out, m.knownBad)
      classes.set(`${kind}/${m.name}`, (classes.get(`${kind}/${m.name}`) ?? 0) + 1)
      if (o.problem) {
        const keep = join(REGRESSIONS, `${kind}-${m.name}-seed${SEED}-run${run}.txt`)
        mkdirSync(REGRESSIONS, {recursive: true})
        writeFileSync(keep, input)
        failures.push(`run ${run} ${c.name} ${kind}/${m.name}: ${o.problem} (kept as ${keep})`)
      }
      rmSync(f, {force: true})
    }
    console.log(`fuzz: ${RUNS} runs, seed ${SEED}, ${classes.size} classes, ${((Date.now() - t0) / 1000).toFixed(1)} s, ${failures.length} failures`)
    expect(failures).toEqual([])
  }, 600_000)

  it('every kept regression input passes every command of its kind', async () => {
    if (!existsSync(REGRESSIONS)) return
    for (const name of readdirSync(REGRESSIONS)) {
      const kind = name.startsWith('ptdump') ? 'ptdump' : 'trace'
      const knownBad = MUTATIONS.find((m) => name.includes(`-${m.name}-`))?.knownBad ?? false
      for (const c of kind === 'ptdump' ? PT_CMDS : TRACE_CMDS) {
        const out = freshDir(`reg-${c.name}`)
        const o = await check(c.cmd, c.argv(join(REGRESSIONS, name), out), out, knownBad)
        expect(o.problem, `${name} ${c.name}`).toBeUndefined()
      }
    }
  }, 600_000)
})
