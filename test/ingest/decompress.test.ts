import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import '../../src/ingest/decompress.js'
import {InputError, openSource} from '../../src/ingest/source.js'

// A real capture (plain text, 2.3 MB, 13 361 events): compressed here with the system's own
// zstd/xz/gzip binaries, so the decoders are checked against the reference encoders.
const SAMPLE = 'samples/debian-6.1-qemu/max-2G-default/trace.txt'

async function readAll(path: string): Promise<{lines: string[]; error?: InputError}> {
  const lines: string[] = []
  try {
    const src = await openSource(path)
    for await (const b of src.batches) lines.push(...b.lines)
  } catch (e) {
    if (e instanceof InputError) return {lines, error: e}
    throw e
  }
  return {lines}
}

let dir: string
let expected: string[]

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ptreplay-decompress-'))
  expected = readFileSync(SAMPLE, 'utf8').split('\n')
  if (expected.at(-1) === '') expected.pop()
})
afterAll(() => rmSync(dir, {recursive: true, force: true}))

function compress(tool: string, args: string[], name: string, input = SAMPLE): string {
  const out = join(dir, name)
  writeFileSync(out, execFileSync(tool, [...args, '-c', input], {maxBuffer: 1 << 28}))
  return out
}

describe('decompress (zstd, xz, gzip by magic bytes)', () => {
  for (const [tool, args, ext] of [
    ['zstd', ['-q', '-3'], 'zst'],
    ['zstd', ['-q', '-19', '--long=23'], 'long.zst'],
    ['xz', ['-6'], 'xz'],
    ['gzip', ['-9'], 'gz'],
  ] as const) {
    it(`reads ${SAMPLE} compressed with \`${tool} ${args.join(' ')}\` line-identical`, async () => {
      // The name does not matter: detection is by magic bytes.
      const path = compress(tool, [...args], `trace-${ext}.bin`)
      const {lines, error} = await readAll(path)
      expect(error).toBeUndefined()
      expect(lines.length).toBe(expected.length)
      expect(lines).toEqual(expected)
    })
  }

  it('reads a multi-frame zstd file (two files compressed separately, then concatenated)', async () => {
    const a = execFileSync('zstd', ['-q', '-c', SAMPLE])
    const b = execFileSync('zstd', ['-q', '-c', 'samples/debian-6.1-qemu/max-2G-default/kprobe_events'])
    const path = join(dir, 'multi.zst')
    writeFileSync(path, Buffer.concat([a, b]))
    const {lines, error} = await readAll(path)
    expect(error).toBeUndefined()
    const tail = readFileSync('samples/debian-6.1-qemu/max-2G-default/kprobe_events', 'utf8').trimEnd().split('\n')
    expect(lines).toEqual([...expected, ...tail])
  })

  for (const [tool, ext] of [
    ['zstd', 'zst'],
    ['xz', 'xz'],
    ['gzip', 'gz'],
  ] as const) {
    it(`a truncated .${ext} gives one InputError after the lines read so far`, async () => {
      const full = compress(tool, ['-q'], `full.${ext}`)
      const cut = join(dir, `cut.${ext}`)
      const bytes = readFileSync(full)
      writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)))
      expect(statSync(cut).size).toBeLessThan(bytes.length)
      const {lines, error} = await readAll(cut)
      expect(error).toBeInstanceOf(InputError)
      expect(error!.message).toMatch(/^.*cut\.\w+:\d+: truncated compressed input/)
      // Some lines came through before the cut, and they are exactly the first lines of the file
      // (the last one may be partial, so compare all but it).
      expect(lines.length).toBeGreaterThan(1000)
      expect(lines.length).toBeLessThan(expected.length)
      expect(lines.slice(0, -1)).toEqual(expected.slice(0, lines.length - 1))
    })
  }

  it('garbage after a valid xz magic is reported as corrupt, not a stack trace', async () => {
    const path = join(dir, 'bad.xz')
    writeFileSync(path, Buffer.concat([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), Buffer.alloc(200, 7)]))
    const {error} = await readAll(path)
    expect(error).toBeInstanceOf(InputError)
    expect(error!.message).toMatch(/bad\.xz:\d+: (xz: corrupt|truncated)/)
  })
})
