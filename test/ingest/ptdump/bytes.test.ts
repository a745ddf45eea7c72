/**
 * The byte path of the ptdump reader (feedChunk(): range lines parsed from the Buffer, attribute
 * texts interned by their bytes) against the string path (feed() per line, parsePtdumpLines()):
 * the same snapshot — lines, diagnostics with file:line, era, geometry, regions, runs — on every
 * real capture in samples/ and on hand-made damaged lines (each a case the byte path must hand
 * to the string path), whole and cut into small chunks at odd places (carried lines).
 */
import {readFileSync, readdirSync} from 'node:fs'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {describe, expect, it} from 'vitest'

import {type PtdumpSnapshot, parsePtdump, parsePtdumpLines, readPtdump} from '../../../src/ingest/ptdump/index.js'
import {MAX_LINE_BYTES} from '../../../src/ingest/source.js'

const SAMPLES = join(import.meta.dirname, '../../../samples')

function captures(): string[] {
  const out: string[] = []
  const walk = (d: string): void => {
    for (const e of readdirSync(d, {withFileTypes: true})) {
      if (e.isDirectory()) walk(join(d, e.name))
      else if (e.name.startsWith('kernel_page_tables') && !e.name.endsWith('.gz')) out.push(join(d, e.name))
    }
  }
  walk(SAMPLES)
  return out.sort()
}

function view(s: PtdumpSnapshot) {
  return {
    lineCount: s.lineCount,
    rangeLines: s.rangeLines,
    holeLines: s.holeLines,
    era: s.era,
    eraReason: s.eraReason,
    geometryReason: s.geometryReason,
    blkScheme: s.blkScheme,
    regions: s.regions,
    diagnostics: s.diagnostics,
    counts: s.diagnosticCounts,
    runs: [...s.pt.runs()],
    tables: s.pt.tables,
  }
}

function outcome(f: () => PtdumpSnapshot): unknown {
  try {
    return view(f())
  } catch (e) {
    return {error: (e as Error).message}
  }
}

async function viaStream(text: string, piece: number): Promise<unknown> {
  const buf = Buffer.from(text)
  const pieces: Buffer[] = []
  for (let i = 0; i < buf.length; i += piece) pieces.push(buf.subarray(i, i + piece))
  try {
    return view(await readPtdump('-', {stdin: Readable.from(pieces)}))
  } catch (e) {
    return {error: (e as Error).message}
  }
}

const RW = 'RW NX SHD AF            UXN    MEM/NORMAL-TAGGED'
const RO = 'ro NX SHD AF            UXN    MEM/NORMAL'
const l = (a: string, b: string, size: string, lvl: string, attrs?: string) => `${a}-${b}   ${size.padStart(10)} ${lvl}${attrs === undefined ? '' : '       ' + attrs}`

// Range lines shaped as note_page() prints them (arch/arm64/mm/ptdump.c, v6.9+ layout), then
// damaged one way each.
const GOOD = [
  '---[ Linear Mapping start ]---',
  l('0xffff000000000000', '0xffff000000200000', '2M', 'PTE', RW),
  l('0xffff000000200000', '0xffff000000400000', '2M', 'PTE', RO),
  l('0xffff000000400000', '0xffff000000600000', '2M', 'PTE', RW),
  l('0xffff000000600000', '0xffff000040000000', '1018M', 'PMD'),
  l('0xffff000040000000', '0xffff008000000000', '511G', 'PUD'),
  l('0xffff008000000000', '0xffff800000000000', '130560G', 'PGD'),
  '---[ Linear Mapping end ]---',
]
const CASES: Record<string, string> = {
  'clean': GOOD.join('\n') + '\n',
  'CRLF line ends': GOOD.join('\r\n') + '\r\n',
  'no final newline': GOOD.join('\n'),
  'mail quoted and wrapped': GOOD.map((x) => '> ' + x.replace(' UXN', '\n> UXN')).join('\n') + '\n',
  'wrapped attributes unquoted': GOOD.map((x) => x.replace(' UXN', '\nUXN')).join('\n') + '\n',
  'NUL in a range line': GOOD.map((x, i) => (i === 2 ? x.replace('ro', 'r\0') : x)).join('\n') + '\n',
  'non-ASCII attribute': GOOD.map((x, i) => (i === 2 ? x.replace('ro', 'rö') : x)).join('\n') + '\n',
  'tabs as blanks': GOOD.map((x, i) => (i === 1 ? x.replace('   ', '\t') : x)).join('\n') + '\n',
  'bad hex digit': GOOD.map((x, i) => (i === 3 ? x.replace('0xffff0000004', '0xffff000g004') : x)).join('\n') + '\n',
  'user address': GOOD.map((x, i) => (i === 3 ? x.replace('0xffff000000400000-', '0x0000000000400000-') : x)).join('\n') + '\n',
  'size mismatch': GOOD.map((x, i) => (i === 2 ? x.replace('2M', '3M') : x)).join('\n') + '\n',
  'overlap and out of order': [GOOD[0], GOOD[1], GOOD[1], GOOD[3], GOOD[2], ...GOOD.slice(4)].join('\n') + '\n',
  'gap': [GOOD[0], GOOD[1], GOOD[3], ...GOOD.slice(4)].join('\n') + '\n',
  'unknown token and vendor tail': GOOD.map((x, i) => (i === 1 ? x.replace('SHD', 'XYZ') : i === 2 ? x + '\tcaller: foo+0x10' : x)).join('\n') + '\n',
  'cut line': GOOD.map((x, i) => (i === 2 ? x.slice(0, 50) : x)).join('\n') + '\n',
  'short 0x line': GOOD.map((x, i) => (i === 2 ? '0xffff' : x)).join('\n') + '\n',
  'blank and elision lines': [GOOD[0], GOOD[1], '', '…', GOOD[3], '   ', ...GOOD.slice(4)].join('\n') + '\n',
  'first line from zero (v5.6-5.11)': [l('0x0000000000000000', '0xffff000000000000', '261120T', 'PGD'), ...GOOD.slice(1)].join('\n') + '\n',
  'only blanks after the level': GOOD.map((x, i) => (i === 4 ? x + '    ' : x)).join('\n') + '\n',
  'lower-case X and hex': GOOD.map((x, i) => (i === 1 ? x.replace('0xffff000000000000', '0Xffff000000000000') : x)).join('\n') + '\n',
  'empty': '',
  'newline only': '\n',
}

describe('ptdump byte path = string path', () => {
  for (const file of captures()) {
    it(`${file.slice(SAMPLES.length + 1)}`, async () => {
      const text = readFileSync(file, 'utf8')
      const want = outcome(() => parsePtdumpLines(text, 'x'))
      expect(outcome(() => parsePtdump(text, 'x'))).toEqual(want)
      // read as a file would be, in odd-sized chunks (lines carried across them)
      const viaFile = (await viaStream(text, 4093)) as {diagnostics?: unknown}
      expect(JSON.stringify(viaFile).replaceAll('<stdin>', 'x')).toBe(JSON.stringify(want))
    })
  }
  it('the hand-made dump is one the reader takes without complaint', () => {
    const s = parsePtdumpLines(CASES.clean!, 'x')
    expect(s.diagnostics).toEqual([])
    expect(s.geometry.label).toBe('4K/48 (4 levels)')
    expect(s.pt.runCount).toBe(6)
  })
  for (const [name, text] of Object.entries(CASES)) {
    it(name, async () => {
      const want = JSON.stringify(outcome(() => parsePtdumpLines(text, '<stdin>')))
      expect(JSON.stringify(outcome(() => parsePtdump(text, '<stdin>')))).toBe(want)
      for (const piece of [1, 7, 61]) expect(JSON.stringify(await viaStream(text, piece))).toBe(want)
    })
  }
  it('a line over MAX_LINE_BYTES is skipped with its line number, inside a chunk or carried across chunks', async () => {
    const long = '0x' + 'f'.repeat(MAX_LINE_BYTES + 10)
    const text = [GOOD[0], GOOD[1], long, ...GOOD.slice(2)].join('\n') + '\n'
    for (const piece of [MAX_LINE_BYTES * 4, 65536]) {
      const s = (await viaStream(text, piece)) as ReturnType<typeof view>
      expect(s.counts).toEqual({'line-too-long': 1})
      expect(s.diagnostics[0]!.src.line).toBe(3)
      expect(s.lineCount).toBe(GOOD.length + 1)
      expect(s.rangeLines).toBe(6)
    }
  })
})
