/**
 * arm64 ptdump reader: /sys/kernel/debug/kernel_page_tables text (v5.4 … v6.19+, mail pastes)
 * → PageTables + regions + diagnostics. readPtdump()/parsePtdump() drive the parser (parser.ts).
 *
 * One pass over the lines (./line.ts tokenizes) keeps the range lines compactly in typed arrays
 * (one slot per printed run, i.e. memory follows fragmentation), the marker positions, and the
 * evidence for geometry and era. Then the geometry is decided (./geometry-detect.ts), level names
 * become levels, and PageTables.fromRuns builds the model. Everything version-specific lives in
 * ./tables.ts as data.
 *
 * Regions are by address: marker M's address is the start of the first range line after its
 * header (note_page() prints the header when the walk first reaches an entry ≥ M and starts the
 * next line there), so a hole line that straddles M and sits under the "wrong" header still
 * classifies correctly.
 */
import type {Kva} from '../../model/address.js'
import {type LeafKind, leafKind} from '../../model/geometry.js'
import type {PageTables} from '../../model/pagetable.js'
import {P_VALID} from '../../model/prot.js'
import {HOLE} from '../../model/run.js'
import {resolveSnapshotPath} from '../input.js'
import {linesOf, openByteSource} from '../source.js'
import {PtdumpParser} from './parser.js'
import type {PtdumpOptions, PtdumpSnapshot} from './snapshot.js'

// The reader's public surface: the snapshot type, its options and error (snapshot.ts), the
// parser (parser.ts), the eras (tables.ts).
export {type PtdumpOptions, type PtdumpSnapshot, PtdumpError} from './snapshot.js'
export {PtdumpParser} from './parser.js'
export {type PtdumpEra, PTDUMP_ERAS} from './tables.js'

/** Read a ptdump file (gzip/zstd/xz ok), a bundle directory's snapshot, or `-` for stdin. */
export async function readPtdump(path: string, opts: PtdumpOptions = {}): Promise<PtdumpSnapshot> {
  const r = resolveSnapshotPath(path, opts.snapshot)
  const src = await openByteSource(r.path, opts.stdin)
  const p = new PtdumpParser(src.name, opts)
  for await (const c of src.chunks(() => p.nextLineNumber)) p.feedChunk(c)
  const snap = p.finish()
  if (r.bundle !== undefined) snap.bundle = r.bundle
  return snap
}

/**
 * Parse ptdump text held in memory (tests, pasted text): as its UTF-8 bytes, the way a file is
 * read (the same lines as linesOf(): a final newline ends the last line).
 */
export function parsePtdump(text: string, name: string, opts: PtdumpOptions = {}): PtdumpSnapshot {
  const p = new PtdumpParser(name, opts)
  if (text.length) {
    const buf = Buffer.from(text)
    p.feedChunk({buf: buf[buf.length - 1] === 10 ? buf.subarray(0, buf.length - 1) : buf, bytesRead: buf.length})
  }
  return p.finish()
}

/** parsePtdump() through the string path (feed() per line): the reference the byte path is tested against. */
export function parsePtdumpLines(text: string, name: string, opts: PtdumpOptions = {}): PtdumpSnapshot {
  const p = new PtdumpParser(name, opts)
  for (const {text: l, line} of linesOf(text)) p.feed(l, line)
  return p.finish()
}

/** Bytes in [from, to) by leaf kind (valid leaves), plus invalid-leaf and hole bytes. */
export interface RangeBytes {
  mapped: Record<LeafKind, number>
  mappedTotal: number
  invalid: number
  holes: number
}

/** Sum a PageTables' runs over [from, to) (e.g. a region). */
export function bytesIn(pt: PageTables, from: Kva, to: Kva): RangeBytes {
  const out: RangeBytes = {mapped: {PUD: 0, CONT_PMD: 0, PMD: 0, CONT_PTE: 0, PTE: 0}, mappedTotal: 0, invalid: 0, holes: 0}
  for (const r of pt.runs(from, to)) {
    const b = r.end - r.start
    if (r.prot === HOLE) out.holes += b
    else if ((r.prot & P_VALID) === 0) out.invalid += b
    else {
      out.mapped[leafKind(r.lvl, r.cont)] += b
      out.mappedTotal += b
    }
  }
  return out
}
