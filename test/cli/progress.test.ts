/**
 * Issue 12 item 17: progress was shown only for inputs ≥ 4 MB on disk, so `compare` on the 6.19
 * capture's 2.4 MB trace.txt.gz (57 MB of text, replayed once per policy) ran silent. Progress
 * now follows the expected work — the decoded size (the container's own size field, else the
 * compressed size × a typical ratio) times the passes — with a bar, a percentage and an ETA.
 * The arithmetic is tested here as units; nothing depends on the machine's speed.
 */
import {readFileSync, statSync} from 'node:fs'
import {gunzipSync} from 'node:zlib'

import {decompress as zstdDecompress} from 'fzstd'
import {describe, expect, it} from 'vitest'

import {PROGRESS_MIN_WORK, etaMs, expectedWork, formatDuration, fractionDone, passFraction, progressLine, renderBar} from '../../src/cli/progress-estimate.js'
import {progressAllowed} from '../../src/cli/progress.js'
import {ESTIMATED_RATIO, expectedSize, zstdFrameContentSize} from '../../src/ingest/expected-size.js'

const GZ = 'samples/linux-6.19-bbml2-qemu/max-2G-default/trace.txt.gz'
const PLAIN = 'samples/debian-6.1-qemu/max-2G-default/trace.txt'
const ZST = 'test/data/repro/R05-ptdump.zst'

describe('expected decoded size', () => {
  it('gzip: the ISIZE trailer, equal to the decoded length', () => {
    const e = expectedSize(GZ)!
    expect(e).toMatchObject({bytes: statSync(GZ).size, compression: 'gzip', known: true})
    expect(e.expected).toBe(gunzipSync(readFileSync(GZ)).length)
  })

  it('zstd: Frame_Content_Size from the frame header, equal to the decoded length', () => {
    const e = expectedSize(ZST)!
    expect(e).toMatchObject({compression: 'zstd', known: true})
    expect(e.expected).toBe(zstdDecompress(readFileSync(ZST)).length)
  })

  it('zstd frame header fields by RFC 8878 §3.1.1.1 (hand-built headers)', () => {
    const magic = [0x28, 0xb5, 0x2f, 0xfd]
    // FHD 0x20: Single_Segment, FCS_Field_Size 1 byte: 0x2a = 42
    expect(zstdFrameContentSize(Buffer.from([...magic, 0x20, 0x2a]))).toBe(42)
    // FHD 0x60: Single_Segment, 2-byte FCS: value + 256
    expect(zstdFrameContentSize(Buffer.from([...magic, 0x60, 0x00, 0x01]))).toBe(256 + 256)
    // FHD 0x80: 4-byte FCS after the Window_Descriptor byte
    expect(zstdFrameContentSize(Buffer.from([...magic, 0x80, 0x58, 0x78, 0x56, 0x34, 0x12]))).toBe(0x12345678)
    // FHD 0x00: no FCS (not single segment, flag 0)
    expect(zstdFrameContentSize(Buffer.from([...magic, 0x00, 0x58]))).toBeUndefined()
  })

  it('a plain file is its own size; a missing one is unknown', () => {
    expect(expectedSize(PLAIN)).toEqual({bytes: statSync(PLAIN).size, expected: statSync(PLAIN).size, known: true})
    expect(expectedSize('/nonexistent/x')).toBeUndefined()
  })

  it('the estimated ratios are in the range the samples show (gzip 19–24)', () => {
    const ratio = expectedSize(GZ)!.expected / statSync(GZ).size
    expect(ratio).toBeGreaterThan(ESTIMATED_RATIO.gzip * 0.75)
    expect(ratio).toBeLessThan(ESTIMATED_RATIO.gzip * 1.5)
  })
})

describe('expected work and the bar threshold', () => {
  it('compare on the 2.4 MB .gz under 5 policies: 5 × 57 MB, far above the threshold the old 4 MB-on-disk rule missed', () => {
    const e = expectedSize(GZ)!
    expect(e.bytes).toBeLessThan(4 << 20)
    expect(expectedWork(e.expected, 5)).toBe(e.expected * 5)
    expect(expectedWork(e.expected, 5)!).toBeGreaterThan(PROGRESS_MIN_WORK)
  })
  it('a small plain trace replayed once stays below it; stdin is unknown', () => {
    expect(expectedWork(statSync('samples/debian-6.1-qemu/max-2G-rodata-on/trace.txt').size, 1)!).toBeLessThan(PROGRESS_MIN_WORK)
    expect(expectedWork(undefined, 3)).toBeUndefined()
    expect(expectedWork(1000, 0)).toBe(1000)
  })
})

describe('fraction done and ETA', () => {
  it('within a pass: decoded of expected when known, else bytes read of bytes on disk', () => {
    expect(passFraction(600_000, 2_400_000, 28_000_000, 56_000_000)).toBe(0.5)
    expect(passFraction(600_000, 2_400_000)).toBe(0.25)
    expect(passFraction(10, 0)).toBe(0)
    expect(passFraction(5, 4)).toBe(1)
  })
  it('over passes of equal weight: pass 2 of 5 half done is 30 %', () => {
    expect(fractionDone(1, 5, 0.5)).toBeCloseTo(0.3, 12)
    expect(fractionDone(0, 1, 0.25)).toBe(0.25)
    expect(fractionDone(4, 5, 1)).toBe(1)
    expect(fractionDone(7, 5, 1)).toBe(1)
  })
  it('ETA = elapsed × (1 − f) / f, only once there is something to extrapolate', () => {
    expect(etaMs(10_000, 0.25)).toBe(30_000)
    expect(etaMs(4_000, 0.8)).toBeCloseTo(1_000, 9)
    expect(etaMs(10_000, 1)).toBe(0)
    expect(etaMs(500, 0.5)).toBeUndefined()
    expect(etaMs(10_000, 0.001)).toBeUndefined()
  })
  it('durations: m:ss, h:mm:ss, rounded up', () => {
    expect(formatDuration(7_000)).toBe('0:07')
    expect(formatDuration(64_100)).toBe('1:05')
    expect(formatDuration(3_723_000)).toBe('1:02:03')
  })
})

describe('the line drawn', () => {
  it('a bar of the width asked, ASCII or blocks', () => {
    expect(renderBar(0.3, 10, true)).toBe('[###.......]')
    expect(renderBar(1, 4, false)).toBe('[████]')
    expect(renderBar(-1, 3, true)).toBe('[...]')
  })
  it('label, bar, percentage, pass, rate, ETA; fits the terminal, the bar going first', () => {
    const p = {label: 'bbml2', fraction: 0.3, pass: 1, passes: 5, elapsedMs: 6_000, rate: '40,000 events/s', ascii: true}
    const wide = progressLine({...p, columns: 100})
    expect(wide).toMatch(/^bbml2 \[#+\.+\] 30%, pass 2\/5, 40,000 events\/s, ETA 0:14$/)
    expect(wide.length).toBeLessThanOrEqual(98)
    const narrow = progressLine({...p, columns: 60})
    expect(narrow).toBe('bbml2 30%, pass 2/5, 40,000 events/s, ETA 0:14')
    expect(progressLine({...p, columns: 30}).length).toBeLessThanOrEqual(28)
    expect(progressLine({...p, elapsedMs: 100, passes: 1, pass: 0, columns: 80, ascii: false})).toMatch(/30% · 40,000 events\/s · ETA …$/)
  })
  it('drawn only on a terminal stderr with a width, not in CI, not on TERM=dumb', () => {
    const tty = {isTTY: true, columns: 120}
    expect(progressAllowed(tty, {})).toBe(true)
    expect(progressAllowed({isTTY: false, columns: 120}, {})).toBe(false)
    expect(progressAllowed({isTTY: true, columns: 0}, {})).toBe(false)
    expect(progressAllowed(tty, {CI: 'true'})).toBe(false)
    expect(progressAllowed(tty, {TERM: 'dumb'})).toBe(false)
  })
})
