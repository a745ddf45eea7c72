/**
 * oclif's help, with example commands wrapped between shell words only: oclif wraps them like
 * prose, which broke `--until-marker "capture: bpf phase end"` inside its quotes, so the pasted
 * example failed. Registered as `helpClass` in package.json.
 */
import {CommandHelp, Help} from '@oclif/core'

/** Shell words of a command line, quotes kept with their word. */
export function shellWords(cmd: string): string[] {
  return cmd.match(/(?:[^\s"']+|"[^"]*"|'[^']*')+/g) ?? []
}

/** The command as lines of at most `width` characters, broken between words, joined with ` \`. */
export function wrapCommand(cmd: string, width: number, indent = '  '): string {
  const lines: string[] = []
  let line = ''
  for (const w of shellWords(cmd)) {
    const next = line ? `${line} ${w}` : w
    if (line && next.length + 2 > width) {
      lines.push(line)
      line = indent + w
    } else line = next
  }
  if (line) lines.push(line)
  return lines.join(' \\\n')
}

class PtreplayCommandHelp extends CommandHelp {
  protected override examples(examples: Parameters<CommandHelp['examples']>[0]): string | undefined {
    if (!examples || examples.length === 0) return
    const width = Math.max(40, this.opts.maxWidth - this.indentSpacing * 2)
    return (Array.isArray(examples) ? examples : [examples])
      .map((a) => {
        const {description, command} = typeof a === 'string' ? {description: '', command: a} : a
        const cmd = `$ ${this.render(command)}`
        const body = this.indent(wrapCommand(cmd, width, '    '), this.indentSpacing)
        return description ? `${this.wrap(description, this.indentSpacing * 2)}\n\n${body}` : body
      })
      .join('\n\n')
  }
}

export default class PtreplayHelp extends Help {
  protected override CommandHelpClass = PtreplayCommandHelp
}
