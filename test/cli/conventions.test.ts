/**
 * Issue 12 item 16: CLI conventions. `-h` is `--help`; a mistyped command names the closest one
 * (topics with a space); `ptreplay autocomplete` exists; one flag name per concept across
 * commands; --help texts without source paths or internal references. Runs the built binary
 * (dist/, as `npm ci` builds it) and reads oclif's manifest.
 */
import {spawnSync} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'

import {describe, expect, it} from 'vitest'

import {closestCommand} from '../../src/cli/not-found.js'

const BIN = 'bin/run.js'
const built = existsSync('dist/src/commands/audit.js') && existsSync('oclif.manifest.json')
const run = (...argv: string[]) => spawnSync(process.execPath, [BIN, ...argv], {encoding: 'utf8', env: {...process.env, NO_COLOR: '1'}})

interface ManifestFlag {
  name: string
  char?: string
  hidden?: boolean
  description?: string
  aliases?: string[]
}
interface ManifestCommand {
  id: string
  summary?: string
  description?: string
  flags: Record<string, ManifestFlag>
}

describe('closest command', () => {
  const ids = ['audit', 'replay', 'compare', 'verify', 'diff', 'events', 'capture-script', 'synth:machine', 'synth:workload', 'fleet']
  it('compares as many words as the command has', () => {
    expect(closestCommand('adit:x', ids)).toBe('audit')
    expect(closestCommand('synth:machin', ids)).toBe('synth:machine')
    expect(closestCommand('veryfy', ids)).toBe('verify')
    expect(closestCommand('xyzzy', ids)).toBeUndefined()
  })
})

describe.skipIf(!built)('the binary', () => {
  it('-h prints the same help as --help', () => {
    const a = run('audit', '-h')
    const b = run('audit', '--help')
    expect(a.status).toBe(0)
    expect(a.stdout).toBe(b.stdout)
    expect(a.stdout).toContain('USAGE')
  })
  it('ptreplay adit x: exit 2, one line suggesting "ptreplay audit"', () => {
    const r = run('adit', 'x')
    expect(r.status).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr).toBe('Error: "adit x" is not a ptreplay command; did you mean "ptreplay audit"? ptreplay --help lists them\n')
  })
  it('ptreplay autocomplete is there', () => {
    const r = run('autocomplete', '--help')
    expect(r.status).toBe(0)
    expect(r.stdout).toContain('autocomplete')
  })
})

describe.skipIf(!built)('flags and help texts across commands', () => {
  const manifest = built ? (JSON.parse(readFileSync('oclif.manifest.json', 'utf8')) as {commands: Record<string, ManifestCommand>}) : {commands: {}}
  const ours = Object.values(manifest.commands)
  it('one name per concept: --granule, --max-ranges, --rodata (the old names only as hidden aliases)', () => {
    for (const c of ours) {
      const visible = Object.values(c.flags).filter((f) => !f.hidden).map((f) => f.name)
      for (const old of ['page-size', 'max-diffs', 'rodata-full', 'max-diff']) expect(visible, `${c.id} --${old}`).not.toContain(old)
    }
    const events = manifest.commands['events']!
    expect(events.flags['granule']!.aliases).toContain('page-size')
    expect(manifest.commands['verify']!.flags['max-ranges']).toBeDefined()
    expect(manifest.commands['diff']!.flags['max-ranges']).toBeDefined()
  })
  it('-o/--output on every command that writes its result to a file', () => {
    for (const id of ['events', 'capture-script', 'synth:machine', 'synth:workload']) expect(manifest.commands[id]!.flags['output']!.char, id).toBe('o')
  })
  it('no source paths or internal references in --help', () => {
    for (const c of ours) {
      const texts = [c.summary ?? '', c.description ?? '', ...Object.values(c.flags).map((f) => f.description ?? '')].join('\n')
      expect(texts, c.id).not.toMatch(/src\/[\w/-]+\.ts|seeds?\/?\s?0\d\d|review item|kernel-model\.md|trace-formats\.md|quirk \d/)
    }
  })
})
