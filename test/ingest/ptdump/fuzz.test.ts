/**
 * The reader never throws on arbitrary text (non-strict): the only exception is the documented
 * PtdumpError for an undecidable geometry. Inputs: random strings, random lines built from
 * ptdump-like pieces, and real captures with random damage (cut, spliced, re-quoted lines).
 */
import {readFileSync} from 'node:fs'

import fc from 'fast-check'
import {describe, expect, it} from 'vitest'

import {PtdumpError, type PtdumpSnapshot, parsePtdump} from '../../../src/ingest/ptdump/index.js'

import {runs} from '../../helpers/full.js'

const ROOT = new URL('../../../samples/', import.meta.url).pathname
const REAL = readFileSync(ROOT + 'debian-6.12-qemu/max-2G-kfence/kernel_page_tables.before', 'utf8').split('\n')

function parseOrGeometryError(text: string): PtdumpSnapshot | undefined {
  try {
    return parsePtdump(text, 'fuzz.txt')
  } catch (e) {
    // Allowed: the typed, one-line error for a geometry the text cannot decide.
    expect(e).toBeInstanceOf(PtdumpError)
    expect((e as PtdumpError).code).toBe('geometry')
    expect((e as Error).message).not.toContain('\n')
    return undefined
  }
}

function checkSnapshot(s: PtdumpSnapshot | undefined): void {
  if (!s) return
  const counted = Object.values(s.diagnosticCounts).reduce((a, b) => a + b, 0)
  expect(counted).toBeGreaterThanOrEqual(s.diagnostics.length)
  for (const d of s.diagnostics) expect(d.message).not.toContain('\n')
  // The model is always well-formed (ordered, non-overlapping) whatever the input.
  const runs = [...s.pt.runs()]
  for (let i = 1; i < runs.length; i++) expect(runs[i]!.start).toBeGreaterThanOrEqual(runs[i - 1]!.end)
  expect(s.pt.recountTables()).toEqual(s.pt.tables)
}

const piece = fc.constantFrom(
  '0x', 'ffff', '0000', 'fff0', '-', '   ', ' ', '\t', '>', '> ', '---[', ']---', ' Linear Mapping start ', 'Fixmap end',
  'PTE', 'PMD', 'PUD', 'P4D', 'PGD', 'K', 'M', 'G', 'T', 'P', 'E', '4', '2', '1984', 'RW', 'ro', 'NX', 'x ', 'SHD', 'AF',
  'NG', 'CON', 'BLK', 'UXN', 'GP', 'F', 'USR', 'MEM/NORMAL', 'DEVICE/nGnRE', '…', 'caller:', 'é', '\u0000',
)

describe('reader robustness', () => {
  it('arbitrary strings', () => {
    fc.assert(
      fc.property(fc.array(fc.string({maxLength: 140}), {maxLength: 40}), (lines) => {
        checkSnapshot(parseOrGeometryError(lines.join('\n')))
      }),
      {numRuns: runs(300)},
    )
  })

  it('lines made of ptdump pieces', () => {
    fc.assert(
      fc.property(fc.array(fc.array(piece, {maxLength: 24}).map((p) => p.join('')), {maxLength: 60}), (lines) => {
        checkSnapshot(parseOrGeometryError(lines.join('\n')))
      }),
      {numRuns: runs(300)},
    )
  })

  it('real capture with random damage', () => {
    const edit = fc.record({
      at: fc.nat(),
      kind: fc.constantFrom('cut', 'drop', 'dup', 'swap', 'quote', 'splice', 'char'),
      n: fc.nat({max: 120}),
      ch: fc.string({minLength: 1, maxLength: 2}),
    })
    fc.assert(
      fc.property(fc.array(edit, {minLength: 1, maxLength: 12}), (edits) => {
        const lines = REAL.slice()
        for (const e of edits) {
          const i = e.at % lines.length
          const l = lines[i]!
          if (e.kind === 'cut') lines[i] = l.slice(0, e.n)
          else if (e.kind === 'drop') lines.splice(i, 1)
          else if (e.kind === 'dup') lines.splice(i, 0, l)
          else if (e.kind === 'swap') lines[i] = lines[(i + 1) % lines.length]!
          else if (e.kind === 'quote') lines[i] = '> ' + l
          else if (e.kind === 'splice') lines.splice(i, 1, l.slice(0, e.n), l.slice(e.n))
          else lines[i] = l.slice(0, e.n) + e.ch + l.slice(e.n + 1)
        }
        checkSnapshot(parseOrGeometryError(lines.join('\n')))
      }),
      {numRuns: runs(300)},
    )
  })
})
