/**
 * Golden: every output that speed work must leave byte-identical (issue 10: "`--json` of audit,
 * events, replay, verify on every sample"), compared byte for byte with the files checked in under
 * test/golden/samples/. The list of outputs is bench/sample-commands.ts, the same list
 * bench/same-output.ts compares against a git ref: `events --json` and `events --output x.ndjson`
 * for every trace file, `audit --json` for every kernel_page_tables.*, `replay --json` and
 * `verify --json` for every before/(after)/trace directory and the 6.19 marker windows.
 *
 * Each command runs in-process (test/helpers/run-command.ts), not as a spawned CLI. A golden is
 * "exit N\n" + stdout + "\n--stderr--\n" + stderr (+ "\n--output--\n" + the --output file), with
 * the temp directory's path replaced by `<out>`; files over 64 KiB are stored gzipped.
 *
 * After an intended change of output: `npm run golden:update`, then review `git diff --stat
 * test/golden/samples` and say why in the commit body.
 *
 * A golden made from the program's own output proves nothing alone: golden-figures.test.ts
 * checks the key figures in these goldens against numbers derived from the captures themselves.
 */
import {createHash} from 'node:crypto'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {gunzipSync, gzipSync} from 'node:zlib'
import {afterAll, describe, expect, it} from 'vitest'

import {sampleCommands} from '../../bench/sample-commands.js'
import Audit from '../../src/commands/audit.js'
import Events from '../../src/commands/events.js'
import Replay from '../../src/commands/replay.js'
import Verify from '../../src/commands/verify.js'
import '../../src/ingest/decompress.js'
import {type Cmd, runCommand} from '../helpers/run-command.js'

const GOLDEN_DIR = 'test/golden/samples'
const UPDATE = process.env.PTREPLAY_GOLDEN_UPDATE === '1'
/**
 * The default run (npm test) skips the outputs over the two long 6.19 traces (358 k events each,
 * about 15 s of CPU together); the `full` project (npm run test:full) and golden:update run them.
 * Before landing speed work: npx vitest run --project full test/golden/samples.test.ts
 */
const FULL = UPDATE || process.env.PTREPLAY_FULL_TESTS === '1'
const LONG = /linux-6\.19-bbml2-qemu\/max-2G-default\/trace(_stacktrace)?\.txt\.gz$/
const GZIP_OVER = 64 * 1024
const COMMANDS: Record<string, Cmd> = {audit: Audit, events: Events, replay: Replay, verify: Verify}

/**
 * Path of the golden of one argument list under GOLDEN_DIR: the sample directory, then the
 * command and its arguments with that directory left out (readable, unique, stable).
 */
function goldenName(args: readonly string[]): string {
  const sample = args.find((a) => a.startsWith('samples/'))
  const dir = sample ? sample.slice('samples/'.length, sample.lastIndexOf('/')) : 'other'
  const parts = args
    .filter((a) => a !== '--output' && !a.startsWith('/'))
    .map((a) => (a.startsWith(`samples/${dir}/`) ? a.slice(`samples/${dir}/`.length) : a).replace(/^--/, '').replace(/[^A-Za-z0-9._-]+/g, '_'))
  if (args.includes('--output')) parts.push('ndjson')
  return `${dir}/${parts.join('__')}`
}

/**
 * Outputs over this size are stored as a digest (sha-256 of the whole, then of each block of
 * BLOCK_LINES lines), not as text: the full normalized events of the two 6.19 traces are tens of
 * MB. A mismatch then names the first differing block and prints its current lines.
 */
const DIGEST_OVER = 8 * 1024 * 1024
const BLOCK_LINES = 1024

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex')

function digest(b: Buffer): string {
  const lines = b.toString().split('\n')
  const blocks: string[] = []
  for (let i = 0; i < lines.length; i += BLOCK_LINES) blocks.push(`${i + 1} ${sha(lines.slice(i, i + BLOCK_LINES).join('\n')).slice(0, 16)}`)
  return `sha256 ${sha(b)} bytes ${b.length} lines ${lines.length}\n${blocks.join('\n')}\n`
}

type Golden = {kind: 'text'; text: Buffer} | {kind: 'digest'; digest: string}

/** The stored golden of `name`, or undefined. */
function readGolden(name: string): Golden | undefined {
  const p = join(GOLDEN_DIR, name)
  if (existsSync(`${p}.txt`)) return {kind: 'text', text: readFileSync(`${p}.txt`)}
  if (existsSync(`${p}.txt.gz`)) return {kind: 'text', text: gunzipSync(readFileSync(`${p}.txt.gz`))}
  if (existsSync(`${p}.sha256`)) return {kind: 'digest', digest: readFileSync(`${p}.sha256`, 'utf8')}
  return undefined
}

const SUFFIXES = ['.txt', '.txt.gz', '.sha256']

function writeGolden(name: string, b: Buffer): void {
  const p = join(GOLDEN_DIR, name)
  mkdirSync(dirname(p), {recursive: true})
  for (const f of SUFFIXES) if (existsSync(p + f)) unlinkSync(p + f)
  if (b.length > DIGEST_OVER) writeFileSync(`${p}.sha256`, digest(b))
  else if (b.length > GZIP_OVER) writeFileSync(`${p}.txt.gz`, gzipSync(b, {level: 9}))
  else writeFileSync(`${p}.txt`, b)
}

/** Line, column and both lines around the first differing byte. */
function firstDifference(want: Buffer, got: Buffer): string {
  let i = 0
  while (i < want.length && i < got.length && want[i] === got[i]) i++
  const line = want.subarray(0, i).toString().split('\n').length
  const lineOf = (b: Buffer): string => {
    const s = b.lastIndexOf(10, i - 1) + 1
    const e = b.indexOf(10, i)
    return JSON.stringify(b.subarray(s, e < 0 ? b.length : e).toString().slice(0, 300))
  }
  return `first difference at byte ${i} (line ${line}; golden ${want.length} bytes, now ${got.length}):\n  golden: ${lineOf(want)}\n  now:    ${lineOf(got)}`
}

/** The first block whose digest differs, with its current lines (digest goldens). */
function firstDigestDifference(want: string, got: Buffer): string {
  const now = digest(got)
  const [wh, ...wb] = want.trimEnd().split('\n')
  const [nh, ...nb] = now.trimEnd().split('\n')
  const k = wb.findIndex((x, j) => x !== nb[j])
  const from = k < 0 ? nb.length * BLOCK_LINES : k * BLOCK_LINES
  const lines = got.toString().split('\n').slice(from, from + 3)
  return `golden ${wh}\n  now    ${nh}\n  first differing block starts at line ${from + 1}; its first lines now:\n    ${lines.map((l) => l.slice(0, 300)).join('\n    ')}`
}

/** Golden files under GOLDEN_DIR, as names (suffix removed). */
function storedNames(): string[] {
  if (!existsSync(GOLDEN_DIR)) return []
  return (readdirSync(GOLDEN_DIR, {recursive: true}) as string[])
    .filter((f) => SUFFIXES.some((x) => f.endsWith(x)))
    .map((f) => f.replace(/(\.txt|\.txt\.gz|\.sha256)$/, ''))
}

const out = mkdtempSync(join(tmpdir(), 'ptreplay-golden-'))
afterAll(() => rmSync(out, {recursive: true, force: true}))
const OUT_FILE = join(out, 'events.ndjson')
const cmds = sampleCommands(OUT_FILE.replace(/\/events\.ndjson$/, ''), process.cwd())

/** The output of one argument list, as stored in its golden. */
async function produce(args: string[]): Promise<Buffer> {
  const [name, ...argv] = args
  const r = await runCommand(COMMANDS[name], argv)
  const err = r.error && r.exit === -1 ? `${r.stderr}${r.error.stack}` : r.error ? `${r.stderr}${r.error.message}\n` : r.stderr
  const parts = [`exit ${r.exit}\n`, r.stdout, '\n--stderr--\n', err]
  if (existsSync(OUT_FILE)) {
    parts.push('\n--output--\n', readFileSync(OUT_FILE, 'utf8'))
    rmSync(OUT_FILE)
  }
  return Buffer.from(parts.join('').split(out).join('<out>'))
}

describe('golden: every --json output on every sample', () => {
  it('covers every sample command, and no golden is left without one', () => {
    const names = cmds.map(goldenName)
    expect(new Set(names).size, 'two commands map to one golden file').toBe(names.length)
    if (UPDATE) for (const n of storedNames()) if (!names.includes(n)) for (const x of SUFFIXES) rmSync(join(GOLDEN_DIR, n + x), {force: true})
    expect(storedNames().filter((n) => !names.includes(n)), 'golden files with no command in bench/sample-commands.ts (npm run golden:update removes them)').toEqual([])
  })

  for (const args of cmds) {
    const name = goldenName(args)
    it.skipIf(!FULL && args.some((a) => LONG.test(a)))(`ptreplay ${args.map((a) => a.replace(out, '<out>')).join(' ')}`, async () => {
      const got = await produce(args)
      if (UPDATE) return writeGolden(name, got)
      const want = readGolden(name)
      if (want === undefined) throw new Error(`no golden ${GOLDEN_DIR}/${name}: run npm run golden:update and review the new file`)
      const fix = 'If the change is intended: npm run golden:update, review git diff, say why in the commit.'
      if (want.kind === 'text' && !want.text.equals(got)) throw new Error(`${GOLDEN_DIR}/${name}: output changed; ${firstDifference(want.text, got)}\n${fix}`)
      if (want.kind === 'digest' && want.digest !== digest(got)) throw new Error(`${GOLDEN_DIR}/${name}: output changed;\n  ${firstDigestDifference(want.digest, got)}\n${fix}`)
    })
  }
})
