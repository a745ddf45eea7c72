/** Runs shown the way the kernel prints them: as JSON and as the ptdump line (diff and verify show runs so). */
import type {PtdumpEra} from '../ingest/ptdump/tables.js'
import {formatKva} from '../model/address.js'
import {type Geometry, lvlName} from '../model/geometry.js'
import {PageTables} from '../model/pagetable.js'
import {describeProt} from '../model/prot.js'
import {HOLE, type Run} from '../model/run.js'
import {renderPtdump} from './ptdump-text.js'

/** One run as JSON and as the ptdump line the kernel would print for it. */
export interface RunView {
  start: string
  end: string
  bytes: number
  /** PTE / PMD / PUD / P4D / PGD */
  level: string
  cont: boolean
  /** ptdump-style attributes (describeProt), or "none" for empty entries. */
  attributes: string
  /** The line note_page() would print for this stretch. */
  line: string
}

/** The era whose line format is used to show runs of a snapshot of era `era`. */
function lineEra(era: PtdumpEra | 'unknown' | undefined): PtdumpEra {
  // 5.6–5.11 prints a bogus first line from address 0; the range lines are the 5.15 ones.
  if (era === undefined || era === 'unknown' || era === '5.6-5.11') return '6.9+'
  return era
}

/** Show runs the way the kernel prints them (ptdump-text renders from a model of just these runs). */
export function viewRuns(geo: Geometry, runs: readonly Run[], era?: PtdumpEra | 'unknown'): RunView[] {
  const out: RunView[] = []
  for (const r of runs) {
    const pt = PageTables.fromRuns(geo, [r])
    const lines = [...renderPtdump(pt, [], {era: lineEra(era)})]
    out.push({
      start: formatKva(r.start),
      end: formatKva(r.end),
      bytes: r.end - r.start,
      level: lvlName(geo, r.lvl),
      cont: r.cont,
      attributes: r.prot === HOLE ? 'none' : `${r.cont ? 'CON ' : ''}${describeProt(r.prot)}`,
      line: lines.find((l) => l.startsWith('0x')) ?? '',
    })
  }
  return out
}
