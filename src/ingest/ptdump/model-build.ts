/**
 * The ptdump reader's last step: the kept range lines (LineColumns) → PageTables, once the geometry
 * is known: level names become levels, the KASAN early shadow is marked, and each line is fed to
 * PageTables.builder() while the columns below it are released (the model is the only copy kept).
 */
import {alignDown, alignUp, formatKva, formatSize} from '../../model/address.js'
import type {Geometry} from '../../model/geometry.js'
import type {Region} from '../../model/layout.js'
import {PageTables} from '../../model/pagetable.js'
import {P_RDONLY, P_VALID} from '../../model/prot.js'
import {F_KASAN_EARLY, HOLE} from '../../model/run.js'
import {type LineColumns, MASK} from './line-columns.js'
import {LEVEL_NAMES, lvlOfName} from './tables.js'

/** The reader's diagnostic sink (code, message, line). */
export type Diag = (code: string, message: string, line: number) => void

/**
 * Level names → levels, KASAN early shadow marked, fed to PageTables.builder() (the columns are
 * released as the model grows: the model is the only copy kept).
 */
export function buildModel(cols: LineColumns, geo: Geometry, first: number, kasan: Region | undefined, diag: Diag): PageTables {
  const levels = geo.levels
  const pmdSize = geo.entrySize[1]!
  const b = PageTables.builder(geo)
  for (let i = first; i < cols.n; i++) {
    if ((i & MASK) === 0) cols.releaseBefore(i)
    const code = cols.shape(i) & 7
    const lvl = lvlOfName(code, levels)
    if (lvl >= levels) {
      diag('bad-level', `${LEVEL_NAMES[code]} line in a ${levels}-level table (${geo.label})`, cols.line(i))
      continue
    }
    const start = cols.start(i)
    const end = cols.end(i)
    const prot = cols.prot(i)
    const cont = (cols.shape(i) & 8) !== 0
    const size = geo.entrySize[lvl]!
    if (start % size !== 0 || end % size !== 0) {
      diag('misaligned', `${LEVEL_NAMES[code]} line ${formatKva(start)}-${formatKva(end)} is not whole ${formatSize(size)} entries in ${geo.label}`, cols.line(i))
    }
    // note_kasan_page_table(): upper entries pointing at the shared kasan_early_shadow_* tables
    // print as one read-only PTE-level entry each; whole PMD slots of such a line own no table.
    if (kasan && lvl === 0 && prot !== HOLE && (prot & P_RDONLY) !== 0 && (prot & P_VALID) !== 0) {
      const ms = alignUp(Math.max(start, kasan.start), pmdSize)
      const me = alignDown(Math.min(end, kasan.end), pmdSize)
      if (me > ms) {
        if (ms > start) b.add(start, ms, lvl, cont, prot, 0)
        b.add(ms, me, lvl, cont, prot, F_KASAN_EARLY)
        if (end > me) b.add(me, end, lvl, cont, prot, 0)
        continue
      }
    }
    b.add(start, end, lvl, cont, prot, 0)
  }
  return b.finish()
}
