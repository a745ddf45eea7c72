/**
 * The newcomer session of docs/newcomer-session.md: what a new user types in a fresh clone, and
 * what ptreplay answers. renderSession() runs every command (the built bin/run.js as `ptreplay`,
 * in sh, stderr with stdout as a terminal shows them) and renders the markdown; the test compares
 * it with the file, and `npm run transcript` writes it. Only what must vary is normalised: the
 * scratch directory is shown as /tmp/ptreplay-newcomer; the environment is fixed (NO_COLOR=1,
 * COLUMNS=80, no TTY).
 */
import {spawnSync} from 'node:child_process'
import {chmodSync, mkdirSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'

/** How the scratch directory appears in the transcript. */
export const SHOWN_DIR = '/tmp/ptreplay-newcomer'

export interface Step {
  title: string
  /** What the newcomer learns here, one sentence. */
  learn: string
  commands: string[]
  /** Show only the first lines of the last command's output (the rest is counted). */
  head?: number
  /** Programs the step needs besides ptreplay (the test says so when one is missing). */
  needs?: string[]
}

const S61 = 'samples/debian-6.1-qemu/max-2G-default'
const B73 = 'samples/linux-7.3-debian-qemu/ampere1a-2G-default/'

export const STEPS: Step[] = [
  {
    title: 'Quick start: audit a capture that ships with ptreplay',
    learn:
      'The first line answers the question (how much of the linear map is PTE-mapped, what it costs against what would do), the tables below say it per region, and the legend explains the columns.',
    commands: [`ptreplay audit ${S61}/kernel_page_tables.after`],
  },
  {
    title: 'A file that is not there',
    learn: 'A mistyped path is one line on stderr naming the file, and exit status 2 (bad input).',
    commands: [`ptreplay audit ${S61}/kernel_page_tables.aftr`],
  },
  {
    title: 'A line that is not what was expected',
    learn:
      'A bad line is reported as file:line with what was expected and what was found; by default it is counted and skipped (the report ends with the diagnostics), and --strict makes it the error, exit 2.',
    commands: [`sed '10s/.*/0xffff000000000000-0xZZZ garbage/' ${S61}/kernel_page_tables.after > ${SHOWN_DIR}/bad.txt`, `ptreplay audit ${SHOWN_DIR}/bad.txt | tail -n 4`, `ptreplay audit ${SHOWN_DIR}/bad.txt --strict`],
  },
  {
    title: 'The same error for a script: --json',
    learn: 'Under --json the error is one small JSON object on stdout (code, message, file, line), the same line on stderr, and the same exit status.',
    commands: [`ptreplay audit ${SHOWN_DIR}/bad.txt --strict --json`],
  },
  {
    title: 'A flag that does not exist',
    learn: 'A mistyped flag is named, with where to look, in one line; exit 2.',
    commands: [`ptreplay audit ${S61}/kernel_page_tables.after --jsn`],
  },
  {
    title: 'A marker that matches nothing',
    learn:
      'Cutting a trace at a trace_marker write that is not there is an error, not an empty replay: the message lists the markers the trace has, closest first.',
    commands: [`ptreplay replay ${S61}/kernel_page_tables.before ${S61}/trace.txt --from-marker "bpf phase begn"`],
  },
  {
    title: 'A capture bundle read back as a directory',
    learn:
      'A bundle directory (as capture-script writes it) stands for its snapshot and its trace; --snapshot picks which dump, the lines on stderr say which files were read, and the facts in the bundle choose the kernel policy.',
    commands: [`ptreplay replay ${B73} ${B73} --snapshot probed`],
    head: 30,
  },
  {
    title: 'A compressed dump',
    learn: 'zstd, xz and gzip inputs are recognised by their first bytes, whatever their name, and give the report of the plain file (compare with step 1).',
    commands: [
      `zstd -qc ${S61}/kernel_page_tables.after > ${SHOWN_DIR}/pt.zst`,
      `ptreplay audit ${SHOWN_DIR}/pt.zst | grep -A2 '^Linear map 99 %'`,
      `xz -c ${S61}/kernel_page_tables.after > ${SHOWN_DIR}/pt.xz`,
      `ptreplay audit ${SHOWN_DIR}/pt.xz --json | grep -E '"(source|lines)"'`,
    ],
    needs: ['zstd', 'xz'],
  },
]

/** Run one command as the newcomer's shell does; the output with the scratch directory shown as SHOWN_DIR. */
function runShown(cmd: string, scratch: string, bin: string): {out: string; exit: number} {
  const shim = join(scratch, '.bin')
  mkdirSync(shim, {recursive: true})
  writeFileSync(join(shim, 'ptreplay'), `#!/bin/sh\nexec '${process.execPath}' '${bin}' "$@"\n`)
  chmodSync(join(shim, 'ptreplay'), 0o755)
  const env = {PATH: `${shim}:${process.env.PATH ?? '/usr/bin:/bin'}`, HOME: process.env.HOME ?? '/tmp', NO_COLOR: '1', COLUMNS: '80', LANG: 'C.UTF-8', TZ: 'UTC'}
  const r = spawnSync('sh', ['-c', `{ ${cmd.replaceAll(SHOWN_DIR, scratch)} ; } 2>&1`], {encoding: 'utf8', env, maxBuffer: 1 << 26})
  return {out: r.stdout.replaceAll(scratch, SHOWN_DIR), exit: r.status ?? -1}
}

const have = (p: string): boolean => spawnSync('sh', ['-c', `command -v ${p}`]).status === 0

/** Programs the session needs that are not installed here. */
export function missingPrograms(): string[] {
  return [...new Set(STEPS.flatMap((s) => s.needs ?? []))].filter((p) => !have(p))
}

export function renderSession(scratch: string, bin = resolve('bin/run.js')): string {
  const out: string[] = [
    "# A newcomer's first session",
    '',
    'What a new user sees in a fresh clone after `npm ci`, command by command, with the exact output',
    '(`ptreplay` is `./bin/run.js`, or the command `npm install -g .` installs). Written by',
    '`npm run transcript`; `test/docs/newcomer-session.test.ts` re-runs every command and compares its',
    'output with this page. Scratch files are under /tmp/ptreplay-newcomer; the terminal is 80',
    'columns wide without colour (`NO_COLOR=1`), so the output is the plain text of a pipe; a',
    'non-zero exit status is shown as `[exit N]`.',
  ]
  STEPS.forEach((step, i) => {
    out.push('', `## ${i + 1}. ${step.title}`, '', step.learn, '', '```console')
    step.commands.forEach((cmd, j) => {
      const r = runShown(cmd, scratch, bin)
      let lines = r.out.replace(/\n$/, '').split('\n')
      if (r.out === '') lines = []
      if (step.head !== undefined && j === step.commands.length - 1 && lines.length > step.head) {
        const more = lines.length - step.head
        lines = [...lines.slice(0, step.head), `… (${more} more lines)`]
      }
      out.push(`$ ${cmd}`, ...lines)
      if (r.exit !== 0) out.push(`[exit ${r.exit}]`)
    })
    out.push('```')
  })
  return out.join('\n') + '\n'
}
