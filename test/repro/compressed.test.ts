/**
 * Reproducers R06 and R19 of test/data/repro/README.md: compressed input that is damaged. R06: a
 * zstd file with one bit flipped at byte 100 was read as different text, exit 0 (`zstd -t`:
 * "Restored data doesn't match checksum"). R19: gzip damage was reported as line 1 with nothing
 * read, bytes after the last gzip member were ignored, zero-byte compressed files read as empty.
 */
import {execFileSync, spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

import {runCommand} from '../helpers/run-command.js'
import Audit from '../../src/commands/audit.js'
import Events from '../../src/commands/events.js'

const D = 'test/data/repro'
const G = 'test/golden/five-formats/capture.tracefs.txt'
const S61 = 'samples/debian-6.1-qemu/max-2G-default'
const tmp = mkdtempSync(join(tmpdir(), 'ptreplay-compressed-'))
afterAll(() => rmSync(tmp, {recursive: true, force: true}))

describe('R06: zstd content checksums are verified', () => {
  it('the reproducer is bad input naming the frame, the offset and both checksums; no output file', async () => {
    const out = join(tmp, 'r06.csv')
    const r = await runCommand(Events, [`${D}/R06-checksum-mismatch.txt.zst`, '--output', out])
    expect(r.exit).toBe(2)
    // 12590: the frame's 4-byte checksum field (the file is 12,594 bytes); 0x18fcad0b is what
    // `zstd -lv` shows as the file's "Check: XXH64".
    expect(r.error!.message).toMatch(/^test\/data\/repro\/R06-checksum-mismatch\.txt\.zst:12590: zstd frame 1 content checksum mismatch \(expected 0x18fcad0b, got 0x[0-9a-f]{8}\)/)
    expect(existsSync(out)).toBe(false)
  })
  it('zstd -t agrees the reproducer is corrupt', () => {
    expect(spawnSync('zstd', ['-q', '-t', `${D}/R06-checksum-mismatch.txt.zst`]).status).not.toBe(0)
  })
  it('the intact zstd ptdump of R05 still reads (audit)', async () => {
    const r = await runCommand(Audit, [`${D}/R05-ptdump.zst`, '--json'])
    expect(r.exit).toBe(0)
  })
  it('--json: the same error as an object, exit 2', async () => {
    const r = await runCommand(Events, [`${D}/R06-checksum-mismatch.txt.zst`, '--json'])
    expect(r.exit).toBe(2)
  })
})

describe('R19: damaged gzip is placed by byte offset, with the events read before it', () => {
  const gz = execFileSync('gzip', ['-c', G])
  const write = (name: string, bytes: Buffer) => {
    const f = join(tmp, name)
    writeFileSync(f, bytes)
    return f
  }
  it('a CRC failure at the very end: at the trailer, after all 30 events (was `:1:`, 0 events)', async () => {
    const bad = Buffer.from(gz)
    bad[bad.length - 6] ^= 0xff
    const f = write('crc.gz', bad)
    const r = await runCommand(Events, [f])
    expect(r.exit).toBe(2)
    expect(r.error!.message).toBe(`${f}:${gz.length - 8}: gzip member 1 (which starts at byte 0): CRC-32 mismatch (expected ${hex(bad.readUInt32LE(gz.length - 8))}, got ${hex(gz.readUInt32LE(gz.length - 8))}): corrupt data (30 events read before the error)`)
  })
  it('bytes after the last member that are not a member: an error at the end of the member (was ignored)', async () => {
    const f = write('trail.gz', Buffer.concat([gz, Buffer.alloc(4), Buffer.from('garbage')]))
    const r = await runCommand(Events, [f, '--output', join(tmp, 'trail.csv')])
    expect(r.exit).toBe(2)
    expect(r.error!.message).toMatch(new RegExp(`^${f}:${gz.length}: 11 bytes after gzip member 1 are not a gzip member .*\\(30 events read before the error\\)$`))
    expect(existsSync(join(tmp, 'trail.csv'))).toBe(false)
  })
  it('zero padding after the last member is read as gzip -t reads it: no error', async () => {
    const r = await runCommand(Events, [write('pad.gz', Buffer.concat([gz, Buffer.alloc(512)])), '--json'])
    expect(r.exit).toBe(0)
  })
  it('two members (cat a.gz b.gz) are one input', async () => {
    const one = await runCommand<{events: number}>(Events, [G, '--json'])
    const r = await runCommand<{events: number}>(Events, [write('two.gz', Buffer.concat([gz, execFileSync('gzip', ['-c', `${S61}/kprobe_events`])])), '--json'])
    expect(r.exit).toBe(0)
    expect(r.result!.events).toBe(one.result!.events)
  })
  it('a truncated capture: the events read before the cut are counted', async () => {
    const big = readFileSync(`samples/linux-6.19-bbml2-qemu/max-2G-default/trace.txt.gz`).subarray(0, 200_000)
    const r = await runCommand(Events, [write('cut.gz', big)])
    expect(r.exit).toBe(2)
    expect(r.error!.message).toMatch(/cut\.gz:200000: truncated compressed input: the file ends inside gzip member 1 .*\(([1-9][\d,]*) events read before the error\)$/)
  })
})

describe('R19: damaged xz is placed by byte offset too (xz-embedded gives an upper bound)', () => {
  const xz = execFileSync('xz', ['-c', G])
  it('a corrupt block near the end: an offset, not line 1', async () => {
    const bad = Buffer.from(xz)
    bad[bad.length - 40] ^= 0xff
    const f = join(tmp, 'crc.xz')
    writeFileSync(f, bad)
    expect(spawnSync('xz', ['-t', f]).status).toBe(1)
    const r = await runCommand(Events, [f])
    expect(r.exit).toBe(2)
    expect(r.error!.message).toMatch(new RegExp(`^${f}:${bad.length}: xz: corrupt compressed data \\(corrupt data\\), at or before this offset`))
  })
  it('cut short: at the end of the file, with the events read before', async () => {
    const f = join(tmp, 'cut.xz')
    writeFileSync(f, xz.subarray(0, xz.length - 30))
    const r = await runCommand(Events, [f])
    expect(r.error!.message).toBe(`${f}:${xz.length - 30}: truncated compressed input: the file ends inside an xz stream (\`xz -t\`: "unexpected end of input") (30 events read before the error)`)
  })
})

const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`
