/**
 * openSource's line splitting: whatever the chunk boundaries (inside a multi-byte UTF-8
 * character, between CR and LF, mid-line), the lines, their numbers and the unterminated flag
 * are those of the whole text split at once.
 */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'

import {openSource} from '../../src/ingest/source.js'

/** A stream that delivers exactly these chunks (a pause between them, so none are merged). */
function chunked(chunks: Buffer[]): Readable {
  return Readable.from(
    (async function* () {
      for (const c of chunks) {
        await new Promise((r) => setImmediate(r))
        yield c
      }
    })(),
    {objectMode: false},
  )
}

async function linesVia(chunks: Buffer[]): Promise<{lines: string[]; first: number[]; unterminated: boolean}> {
  const src = await openSource('-', chunked(chunks))
  const lines: string[] = []
  const first: number[] = []
  let unterminated = false
  for await (const b of src.batches) {
    expect(b.firstLine).toBe(lines.length + 1)
    first.push(b.firstLine)
    lines.push(...b.lines)
    if (b.unterminated) unterminated = true
    // LineBatch.text: the lines are exactly its parts, in order
    if (b.text !== undefined) expect(b.text.split('\n')).toEqual(b.lines)
  }
  return {lines, first, unterminated}
}

/** The reference: the whole text decoded at once, split, CR before LF dropped. */
function reference(bytes: Buffer): {lines: string[]; unterminated: boolean} {
  const text = bytes.toString('utf8')
  const lines = text.split('\n')
  const unterminated = lines[lines.length - 1] !== ''
  if (!unterminated) lines.pop()
  return {lines: lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l)), unterminated}
}

function cut(bytes: Buffer, at: number[]): Buffer[] {
  const points = [...new Set(at.map((a) => a % (bytes.length + 1)))].sort((a, b) => a - b)
  const out: Buffer[] = []
  let p = 0
  for (const q of points) {
    if (q > p) out.push(bytes.subarray(p, q))
    p = Math.max(p, q)
  }
  if (p < bytes.length) out.push(bytes.subarray(p))
  return out
}

describe('openSource line splitting', () => {
  it('keeps a multi-byte character cut between chunks whole', async () => {
    const bytes = Buffer.from('comm-1 é\nµs → ok\r\nlast')
    const i = bytes.indexOf(0xc3) // inside 'é'
    const r = await linesVia([bytes.subarray(0, i + 1), bytes.subarray(i + 1)])
    expect(r.lines).toEqual(['comm-1 é', 'µs → ok', 'last'])
    expect(r.unterminated).toBe(true)
  })

  it('hands the decoded text on with the lines, also when the first line joins the previous chunk', async () => {
    const bytes = Buffer.from('a-1 [000] x\nb-2 [001] y\nc-3\nd-4 [002] z\n')
    let withText = 0
    const src = await openSource('-', chunked([bytes.subarray(0, 15), bytes.subarray(15)]))
    for await (const b of src.batches) if (b.text !== undefined) withText++
    expect(withText).toBe(2)
  })

  it('matches splitting the whole text at once, for any chunking', async () => {
    const alphabet = ['a', ' ', '\n', '\r', 'é', '→', '\u{1F600}', '\ufffd', 'x-1 [000]']
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(...alphabet), {maxLength: 40}),
        fc.array(fc.nat(400), {maxLength: 6}),
        fc.boolean(),
        async (parts, at, badByte) => {
          let bytes = Buffer.from(parts.join(''))
          // invalid UTF-8 (a lone lead byte) decodes to U+FFFD either way
          if (badByte && bytes.length) bytes = Buffer.concat([bytes.subarray(0, 1), Buffer.from([0xe2]), bytes.subarray(1)])
          const ref = reference(bytes)
          const got = await linesVia(cut(bytes, at))
          expect(got.lines).toEqual(ref.lines)
          expect(got.unterminated).toBe(ref.unterminated && ref.lines.length > 0)
        },
      ),
      {numRuns: 300},
    )
  })

  it('cuts large chunks into batches of at most ~120 KiB of text at newlines, lines and numbers unchanged', async () => {
    // lines of 1 to ~300 bytes, one longer than a piece (kept whole), cut into ~600 KiB chunks at odd places
    const parts: string[] = []
    let seed = 7
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31)
    for (let i = 0; i < 12000; i++) parts.push(i === 5000 ? 'L'.repeat(200 * 1024) : `x-${i} [000] ` + 'y'.repeat(rnd() % 300))
    const bytes = Buffer.from(parts.join('\n') + '\n')
    const chunks = cut(bytes, [600 * 1024 + 3, 1200 * 1024 + 77, 1800 * 1024 + 5, 2400 * 1024 + 1])
    expect(Math.max(...chunks.map((c) => c.length))).toBeGreaterThan(500 * 1024)
    const got = await linesVia(chunks)
    expect(got.lines).toEqual(reference(bytes).lines)
    expect(got.unterminated).toBe(false)
    const src = await openSource('-', chunked(chunks))
    let big = 0
    for await (const b of src.batches) if (b.text!.length >= 128 * 1024) big++
    // only the batch holding the 200 KiB line (and the line itself) exceeds a piece
    expect(big).toBe(1)
  })

  it('reads an uncompressed file directly (two reused buffers) to the same lines, numbers and end state', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ptreplay-source-'))
    try {
      const parts: string[] = []
      for (let i = 0; i < 30000; i++) parts.push(`x-${i} [00${i % 4}] ` + 'z'.repeat((i * 37) % 251) + (i % 1000 === 0 ? ' é' : ''))
      for (const tail of ['\n', '\nlast line, no newline']) {
        const bytes = Buffer.from(parts.join('\n') + tail)
        expect(bytes.length).toBeGreaterThan(3 * 512 * 1024)
        const path = join(dir, 'trace.txt')
        writeFileSync(path, bytes)
        const src = await openSource(path)
        const lines: string[] = []
        let unterminated = false
        let lastBytes = 0
        for await (const b of src.batches) {
          expect(b.firstLine).toBe(lines.length + 1)
          if (b.text !== undefined) expect(b.text.split('\n')).toEqual(b.lines)
          lines.push(...b.lines)
          if (b.unterminated) unterminated = true
          lastBytes = b.bytesRead
        }
        const ref = reference(bytes)
        expect(lines).toEqual(ref.lines)
        expect(unterminated).toBe(ref.unterminated)
        expect(lastBytes).toBe(bytes.length)
        // stopping early closes the file without error
        for await (const b of (await openSource(path)).batches) if (b.firstLine > 1) break
      }
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})
