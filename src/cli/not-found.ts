/**
 * oclif's command_not_found hook: one line naming the closest command (`ptreplay adit x` →
 * did you mean `ptreplay audit`?), topics written with a space, exit 2 like every usage error.
 * oclif's plugin-not-found asks interactively on a terminal and suggests nothing when piped.
 */
import type {Hook} from '@oclif/core'

function levenshtein(a: string, b: string): number {
  let prev = Array.from({length: b.length + 1}, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    prev = cur
  }
  return prev[b.length]!
}

/** The command id closest to what was typed, comparing as many words as the command has. */
export function closestCommand(typed: string, ids: readonly string[]): string | undefined {
  const words = typed.split(':')
  let best: {id: string; d: number} | undefined
  for (const id of ids) {
    const n = id.split(':').length
    const d = levenshtein(words.slice(0, n).join(' '), id.replaceAll(':', ' '))
    if (!best || d < best.d) best = {id, d}
  }
  return best && best.d <= Math.max(2, Math.floor(best.id.length / 3)) ? best.id : undefined
}

const hook: Hook<'command_not_found'> = async function (opts) {
  const ids = opts.config.commands.filter((c) => !c.hidden).map((c) => c.id)
  const typed = opts.id.replaceAll(':', ' ')
  const near = closestCommand(opts.id, ids)
  const hint = near ? `did you mean "${opts.config.bin} ${near.replaceAll(':', ' ')}"? ` : ''
  console.error(`Error: "${typed}" is not a ${opts.config.bin} command; ${hint}${opts.config.bin} --help lists them`)
  this.exit(2)
}

export default hook
