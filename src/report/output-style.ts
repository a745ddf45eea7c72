/**
 * How human output is drawn: the width it must fit and whether it must be plain ASCII. Set once by
 * the command from its stdout (src/cli/base-command.ts); renderers read it. The default (tests
 * calling renderers directly) is Unicode and no width limit.
 *
 * ASCII when stdout is not a terminal or NO_COLOR is set: piped output is grepped and diffed, and
 * U+2212 "−" or box-drawing "─" break `grep -- -3`. The width is the terminal's, 80 when unknown.
 */
export interface OutputStyle {
  ascii: boolean
  /** Columns the output must fit; Infinity for no limit. */
  width: number
}

let style: OutputStyle = {ascii: false, width: Infinity}

export function outputStyle(): OutputStyle {
  return style
}

export function setOutputStyle(s: OutputStyle): void {
  style = s
}

/** The style for a stream: its TTY-ness and columns, and NO_COLOR. */
export function styleFor(stream: {isTTY?: boolean; columns?: number}, env: NodeJS.ProcessEnv = process.env): OutputStyle {
  const tty = stream.isTTY === true
  const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== ''
  const width = tty && stream.columns && stream.columns > 0 ? stream.columns : Number(env.COLUMNS) > 0 ? Number(env.COLUMNS) : 80
  return {ascii: !tty || noColor, width}
}

const ASCII: [RegExp, string][] = [
  [/[─━╶╴]/g, '-'],
  [/[│┤├]/g, '|'],
  [/[┼╭╮╰╯]/g, '+'],
  [/−/g, '-'],
  [/·/g, '.'],
  [/→/g, '->'],
  [/←/g, '<-'],
  [/⇒/g, '=>'],
  [/…/g, '...'],
  [/×/g, 'x'],
  [/≤/g, '<='],
  [/≥/g, '>='],
  [/≈/g, '~'],
  [/≠/g, '!='],
  [/[“”]/g, '"'],
  [/[‘’]/g, "'"],
  [/ /g, ' '],
]

/** The text with the typographic characters the renderers use spelled in ASCII. */
export function toAscii(s: string): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(s)) return s
  for (const [re, to] of ASCII) s = s.replace(re, to)
  return s
}

/** In ASCII mode, toAscii; else unchanged. */
export function styled(s: string): string {
  return style.ascii ? toAscii(s) : s
}

/**
 * Wrap prose to the output width at spaces, continuation lines indented by `indent`.
 */
export function wrapText(s: string, indent = '  ', width = style.width): string[] {
  s = styled(s)
  if (!Number.isFinite(width) || s.length <= width) return [s]
  const lead = /^ */.exec(s)![0]
  const words = s.slice(lead.length).split(' ')
  const out: string[] = []
  let line = lead
  for (const w of words) {
    const next = line.trim() ? `${line} ${w}` : line + w
    if (next.length > width && line.trim()) {
      out.push(line)
      line = indent + w
    } else line = next
  }
  if (line) out.push(line)
  return out
}

/** A ptdump range line (`0x…-0x…  4K PTE  ro x …`), as diff and verify quote them: its columns are kept whole. */
const PTDUMP_LINE = /0x[0-9a-f]+-0x[0-9a-f]+ +\d+(?:\.\d+)?[KMGTP]? +[A-Z]/

/**
 * Lines of a report fitted to the output width: prose longer than the width is wrapped at spaces,
 * continuation lines indented two more than the line; quoted ptdump lines are left whole.
 */
export function fitProse(lines: readonly string[]): string[] {
  const out: string[] = []
  for (const l of lines) {
    if (PTDUMP_LINE.test(l)) out.push(styled(l))
    else out.push(...wrapText(l, `${/^ */.exec(l)![0]}  `))
  }
  return out
}
