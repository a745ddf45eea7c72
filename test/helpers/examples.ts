/**
 * The examples a user is shown: every command class's `examples` (what `--help` prints) and every
 * command line in README.md's `sh` code blocks that runs ptreplay. Command lines are read as a
 * POSIX shell reads them (quotes, backslash-newline continuations, `#` comments, `|`, `&&`, `>`),
 * so a test can run exactly what a user would paste.
 */
import {readdirSync, readFileSync} from 'node:fs'
import {join, relative} from 'node:path'

export interface Example {
  /** Where the user sees it: `ptreplay audit --help` or `README.md:123`. */
  origin: string
  description?: string
  /** The command line, `<%= config.bin %>` replaced by `ptreplay`. */
  command: string
  /** The comment after the command on its README line (what the README says it prints). */
  comment?: string
}

/** A command class as the examples test needs it (oclif's static members). */
export interface CommandClass {
  examples?: (string | {description?: string; command: string})[]
  flags?: Record<string, {type: string; char?: string; aliases?: string[]}>
  enableJsonFlag?: boolean
  run(argv: string[], opts?: string): Promise<unknown>
}

/** Every command class under src/commands, by its id as typed (`synth machine`), in id order. */
export async function commandClasses(root = 'src/commands'): Promise<Map<string, CommandClass>> {
  const files: string[] = []
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, {withFileTypes: true})) {
      if (e.isDirectory()) walk(join(dir, e.name))
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) files.push(join(dir, e.name))
    }
  }
  walk(root)
  const out = new Map<string, CommandClass>()
  for (const f of files.sort()) {
    const id = relative(root, f).replace(/\.ts$/, '').split('/').join(' ')
    const mod = (await import(/* @vite-ignore */ `../../${f}`)) as {default?: CommandClass}
    if (mod.default && typeof mod.default.run === 'function') out.set(id, mod.default)
  }
  return new Map([...out].sort(([a], [b]) => a.localeCompare(b)))
}

export function helpExamples(id: string, cls: CommandClass): Example[] {
  return (cls.examples ?? []).map((e) => {
    const {description, command} = typeof e === 'string' ? {description: undefined, command: e} : e
    return {origin: `ptreplay ${id} --help`, description, command: command.replaceAll('<%= config.bin %>', 'ptreplay')}
  })
}

/**
 * The command lines of README's `sh` blocks that run ptreplay (also inside a pipe or after `&&`),
 * continuation lines joined; the comment after the command kept apart.
 */
export function readmeExamples(text: string, file = 'README.md'): Example[] {
  const lines = text.split('\n')
  const out: Example[] = []
  let inSh = false
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!
    if (/^```/.test(l)) {
      inSh = !inSh && /^```(sh|bash|shell)\s*$/.test(l)
      continue
    }
    if (!inSh) continue
    const start = i
    let joined = l
    while (/\\$/.test(joined) && i + 1 < lines.length) joined = joined.slice(0, -1) + ' ' + lines[++i]!.trim()
    const {command, comment} = splitComment(joined)
    if (!commandWords(command).includes('ptreplay')) continue
    out.push({origin: `${file}:${start + 1}`, command: command.trim().replace(/\s+/g, ' '), comment})
  }
  return out
}

/** The command's own text and the `# comment` after it (a `#` that starts a shell word). */
function splitComment(line: string): {command: string; comment?: string} {
  let q: string | undefined
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!
    if (q) {
      if (c === q) q = undefined
      else if (c === '\\' && q === '"') i++
    } else if (c === "'" || c === '"') q = c
    else if (c === '\\') i++
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) return {command: line.slice(0, i).trimEnd(), comment: line.slice(i + 1).trim()}
  }
  return {command: line}
}

/** The first word of every simple command of a line (`cat x | ptreplay audit -` → cat, ptreplay). */
function commandWords(line: string): string[] {
  return parseShell(line).flatMap((pipe) => pipe.map((s) => s.argv[0] ?? ''))
}

export type Token = {word: string} | {op: '|' | '&&' | '>' | ';'}

/** POSIX shell words: single and double quotes, backslash escapes, `|`, `&&`, `>`, `;`, `#` comments. */
export function shellTokens(s: string): Token[] {
  const out: Token[] = []
  let i = 0
  while (i < s.length) {
    const c = s[i]!
    if (/\s/.test(c)) {
      i++
      continue
    }
    if (c === '#') break
    if (s.startsWith('&&', i)) {
      out.push({op: '&&'})
      i += 2
      continue
    }
    if (c === '|' || c === '>' || c === ';') {
      out.push({op: c})
      i++
      continue
    }
    let w = ''
    while (i < s.length && !/[\s|>;]/.test(s[i]!) && !s.startsWith('&&', i)) {
      const d = s[i]!
      if (d === "'") {
        const j = s.indexOf("'", i + 1)
        if (j < 0) throw new Error(`unterminated ' in: ${s}`)
        w += s.slice(i + 1, j)
        i = j + 1
      } else if (d === '"') {
        i++
        while (i < s.length && s[i] !== '"') {
          if (s[i] === '\\' && /["\\$`]/.test(s[i + 1] ?? '')) i++
          w += s[i++]
        }
        if (i >= s.length) throw new Error(`unterminated " in: ${s}`)
        i++
      } else if (d === '\\') {
        w += s[i + 1] ?? ''
        i += 2
      } else {
        w += d
        i++
      }
    }
    out.push({word: w})
  }
  return out
}

/** One simple command: its words and where its stdout is redirected. */
export interface Simple {
  argv: string[]
  stdout?: string
}

/** A command line as lists (`&&`, `;`) of pipelines of simple commands. */
export function parseShell(s: string): Simple[][] {
  const seq: Simple[][] = [[{argv: []}]]
  const toks = shellTokens(s)
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!
    const pipe = seq.at(-1)!
    const cur = pipe.at(-1)!
    if ('word' in t) cur.argv.push(t.word)
    else if (t.op === '>') {
      const next = toks[++i]
      if (!next || !('word' in next)) throw new Error(`> without a file in: ${s}`)
      cur.stdout = next.word
    } else if (t.op === '|') pipe.push({argv: []})
    else seq.push([{argv: []}])
  }
  return seq.filter((p) => p.some((c) => c.argv.length > 0))
}

/** Quote a word for sh, only where needed. */
export function shellQuote(w: string): string {
  return /^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replaceAll("'", `'\\''`)}'`
}

export function readReadme(path = 'README.md'): string {
  return readFileSync(path, 'utf8')
}
