/**
 * A capture bundle's `steps.log`: one line per step, `<uptime seconds> <step>`, appended by the
 * capture's init (or the script `ptreplay capture-script` writes) right after the step is done.
 * Two kinds of step matter to a replay:
 *   - a snapshot: `kernel_page_tables.NAME: N lines` (or `snap NAME: N lines`), logged after the
 *     dump was written, so its uptime is just after the kernel finished walking the tables;
 *   - a phase mark: the same text the script wrote to trace_marker just before, which ties the
 *     log's clock (/proc/uptime) to the trace's clock.
 * The file is small (tens of lines): it is read whole.
 */
import {existsSync, readFileSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'

import {decimalToNs} from './trace/csv.js'

export interface StepEntry {
  /** 1-based line in steps.log. */
  line: number
  /** /proc/uptime at the step, in ns, exactly as printed (centiseconds). */
  uptimeNs: bigint
  text: string
}

export interface StepsLog {
  path: string
  entries: StepEntry[]
}

const STEP = /^(\d+)(?:\.(\d{1,9}))?\s+(.*\S)\s*$/

/** Seconds as printed (`495.13`) → ns, exactly (decimalToNs, the CSV reader's parser). */
export function secondsToNs(whole: string, frac = ''): bigint {
  return decimalToNs(frac ? `${whole}.${frac}` : whole, 9)!
}

/** Parse steps.log text; lines that are not `<seconds> <text>` are skipped (the log is the capture's notes, not data). */
export function parseStepsLog(text: string, path: string): StepsLog {
  const entries: StepEntry[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const m = STEP.exec(lines[i]!)
    if (m) entries.push({line: i + 1, uptimeNs: secondsToNs(m[1]!, m[2]), text: m[3]!})
  }
  return {path, entries}
}

/** The steps.log beside a snapshot file, when there is one. */
export function stepsLogBeside(snapshotPath: string): StepsLog | undefined {
  if (snapshotPath === '-') return undefined
  const p = join(dirname(snapshotPath), 'steps.log')
  if (!existsSync(p)) return undefined
  try {
    return parseStepsLog(readFileSync(p, 'utf8'), p)
  } catch {
    return undefined
  }
}

/** `kernel_page_tables.loaded` → `loaded` (also for `.gz`/`.zst`/`.xz` copies); undefined for other names. */
export function snapshotName(snapshotPath: string): string | undefined {
  const m = /^kernel_page_tables\.(.+?)(?:\.(?:gz|zst|xz))?$/.exec(basename(snapshotPath))
  return m?.[1]
}

const SNAPSHOT_STEP = /^(?:kernel_page_tables\.|snap )(\S+): \d+ lines$/

/** The step that logged the end of snapshot `name`'s dump (the last one, if it was dumped twice). */
export function snapshotStep(log: StepsLog, name: string): StepEntry | undefined {
  let found: StepEntry | undefined
  for (const e of log.entries) {
    const m = SNAPSHOT_STEP.exec(e.text)
    if (m && m[1] === name) found = e
  }
  return found
}
