/**
 * Issue 12 item 23: a --help example pasted from an 80-column terminal is the example: oclif
 * wrapped example commands like prose, inside the quotes of `--until-marker "capture: bpf phase
 * end"`. Every example of every command is rendered at 80 columns, its continuation lines joined
 * as the shell joins them, and compared with the example's command.
 */
import {Config} from '@oclif/core'
import {describe, expect, it} from 'vitest'

import PtreplayHelp, {shellWords, wrapCommand} from '../../src/cli/help.js'

describe('example commands wrap between shell words', () => {
  it('keeps a quoted argument whole', () => {
    const cmd = '$ ptreplay verify a b c --from-marker "capture: bpf phase begin" --until-marker "capture: bpf phase end"'
    expect(shellWords(cmd).at(-1)).toBe('"capture: bpf phase end"')
    const wrapped = wrapCommand(cmd, 40)
    for (const l of wrapped.split('\n')) expect(l.length).toBeLessThanOrEqual(40)
    expect(wrapped.replace(/ \\\n\s+/g, ' ')).toBe(cmd)
  })

  it('every command\'s examples, rendered at 80 columns, paste back to the example', async () => {
    const config = await Config.load(process.cwd())
    const help = new PtreplayHelp(config, {maxWidth: 80, stripAnsi: true})
    let n = 0
    for (const c of config.commands) {
      if (c.pluginName !== 'ptreplay') continue
      const text = (help as unknown as {formatCommand(c: unknown): string}).formatCommand(c)
      // As the shell reads a paste: backslash-newline is removed, also inside double quotes,
      // where the next line's indentation then becomes part of the argument.
      const pasted = text
        .replace(/\\\n/g, '')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l.startsWith('$ '))
        .map((l) => JSON.stringify(shellWords(l)))
      for (const e of c.examples ?? []) {
        const cmd = (typeof e === 'string' ? e : e.command).replaceAll('<%= config.bin %>', 'ptreplay')
        expect(pasted, `${c.id}: ${cmd}`).toContain(JSON.stringify(shellWords(`$ ${cmd}`)))
        n++
      }
    }
    expect(n).toBeGreaterThan(15)
  })
})
