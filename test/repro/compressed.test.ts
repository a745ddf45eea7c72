/**
 * Reproducers R06 and R19 of test/data/repro/README.md: compressed input that is damaged. R06: a
 * zstd file with one bit flipped at byte 100 was read as different text, exit 0 (`zstd -t`:
 * "Restored data doesn't match checksum"). R19: gzip damage was reported as line 1 with nothing
 * read, bytes after the last gzip member were ignored, zero-byte compressed files read as empty.
 */
import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

import {runCommand} from '../helpers/run-command.js'
import Audit from '../../src/commands/audit.js'
import Events from '../../src/commands/events.js'

const D = 'test/data/repro'
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
