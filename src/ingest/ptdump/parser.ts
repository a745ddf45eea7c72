/**
 * The ptdump reader as a state machine (PtdumpParser): one pass over the lines keeps the range
 * lines in LineColumns, the marker positions and the evidence for geometry and era; finish()
 * decides the era (./era-detect.ts) and geometry (./geometry-detect.ts), then the regions
 * (./regions.ts) and the PageTables (./model-build.ts). Lines come as bytes (feedChunk(): range
 * lines parsed by ./line-bytes.ts) or as strings (feed(): every other line, and the reference).
 */
import {isAscii} from 'node:buffer'

import {type Kva, KVA_BASE, KVA_END, formatKva, formatSize, pageOffsetKva} from '../../model/address.js'
import type {Geometry} from '../../model/geometry.js'
import {HOLE} from '../../model/run.js'
import {P_VALID} from '../../model/prot.js'

import {fatalInStrict} from '../diagnostics.js'
import type {Diagnostic} from '../events.js'
import {type LineBatch, type LineChunk, MAX_LINE_BYTES} from '../source.js'
import {clipText, quoteInput} from '../text.js'
import {detectEra} from './era-detect.js'
import {type GeometryEvidence, GeometryUndecided, detectGeometry, fallbackGeometry} from './geometry-detect.js'
import {type RangeFields, UNITS, isAttrContinuation, isElision, markerName, parseRangeLine, stripQuote} from './line.js'
import {AttrIntern, parseRangeBytes} from './line-bytes.js'
import {LineColumns} from './line-columns.js'
import {buildModel} from './model-build.js'
import {type MarkerSeen, buildRegions} from './regions.js'
import {type PtdumpOptions, type PtdumpSnapshot, PtdumpError} from './snapshot.js'
import {ERAS, LEVEL_NAMES, MARKER_BY_NAME} from './tables.js'

const RANGE_EXPECTED = 'expected a range line "0x…-0x… <size> <level> <attrs>" or a marker "---[ … ]---"'

function quoteGot(t: string): string {
  return quoteInput(t)
}


/**
 * The reader as a state machine: feed() each line, then finish(). readPtdump/parsePtdump drive
 * it; commands that already hold lines can too.
 */
export class PtdumpParser {
  private readonly file: string
  private readonly opts: PtdumpOptions
  private readonly maxDiag: number
  private readonly cols = new LineColumns()
  private readonly markers: MarkerSeen[] = []
  private readonly markerNames = new Set<string>()
  private readonly f: RangeFields = newFields()
  /** Fields of a pending range line read from bytes (pendBuf), and a spare to parse the next into. */
  private pf: RangeFields = newFields()
  private spare: RangeFields = newFields()
  private readonly attrIntern = new AttrIntern()
  /** The pending range line as bytes pendBuf[pendS, pendE) (parsed into pf), when `pending` is null. */
  private pendBuf: Buffer | null = null
  private pendS = 0
  private pendE = 0
  /** Text of the range line being taken (for messages): a string, or bytes at msgBuf[msgS..]. */
  private msgText: string | null = null
  private msgBuf: Buffer | null = null
  private msgS = 0
  /** Number of the next line a chunk (feedChunk) starts with. */
  private nextLine = 1
  readonly diagnostics: Diagnostic[] = []
  readonly counts: Record<string, number> = Object.create(null) as Record<string, number>
  private lineCount = 0
  private rangeLines = 0
  private holeLines = 0
  /** A range line waiting for a possible wrapped continuation. */
  private pending: string | null = null
  private pendingLine = 0
  private firstLineBug = false
  private elided = false
  private gaps: {line: number; from: Kva; to: Kva}[] = []
  private gapCount = 0
  private layoutVotes = [0, 0, 0]
  private blkVotes = {bit1: 0, sect: 0}
  // Geometry evidence: per level code, line count and OR of all boundaries (as two 32-bit halves).
  private levelCount = [0, 0, 0, 0, 0]
  private orLo = [0, 0, 0, 0, 0]
  private orHi = [0, 0, 0, 0, 0]

  constructor(file: string, opts: PtdumpOptions = {}) {
    this.file = file
    this.opts = opts
    this.maxDiag = opts.maxDiagnostics ?? 1000
  }

  private diag(code: string, message: string, line: number): void {
    this.counts[code] = (this.counts[code] ?? 0) + 1
    if (this.opts.strict && fatalInStrict(code)) throw new PtdumpError(message, code, this.file, line)
    if (this.diagnostics.length < this.maxDiag) this.diagnostics.push({src: {file: this.file, line}, message, code})
  }

  /** Feed a batch of source lines (with its overlong-line notes). */
  feedBatch(b: LineBatch): void {
    const lines = b.lines
    let o = 0
    const over = b.overlong
    for (let i = 0; i < lines.length; i++) {
      const lineNo = b.firstLine + i
      if (over && o < over.length && over[o]!.line === lineNo) {
        this.overlong(over[o]!.bytes, lineNo)
        o++
        continue
      }
      this.feed(lines[i]!, lineNo)
    }
  }

  /**
   * Feed a chunk of whole lines as bytes (openByteSource()). Range lines in the kernel's layout
   * are parsed from the bytes (./line-bytes.ts); any other line is decoded and fed to feed().
   */
  feedChunk(c: LineChunk): void {
    const b = c.buf
    const n = b.length
    let line = this.nextLine
    const overlongLine = c.overlongFirst === undefined ? 0 : line
    let p = 0
    for (;;) {
      const nl = b.indexOf(10, p)
      const e = nl < 0 ? n : nl
      if (line === overlongLine) this.overlong(c.overlongFirst!, line)
      else if (e - p > MAX_LINE_BYTES) this.longLine(b, p, e, line)
      else {
        const le = e > p && b[e - 1] === 13 ? e - 1 : e
        if (b[p] !== 48 || !this.rangeBytes(b, p, le, line)) this.feedDecoded(b, p, le, line)
      }
      line++
      if (nl < 0) break
      p = nl + 1
    }
    this.nextLine = line
    // the chunk's buffer is reused after this call: keep a copy of a pending line's bytes
    if (this.pendBuf === b) {
      this.pendBuf = Buffer.from(b.subarray(this.pendS, this.pendE))
      this.pendE -= this.pendS
      this.pendS = 0
    }
  }

  /** The number of the line the next chunk starts with (for the byte source's own messages). */
  get nextLineNumber(): number {
    return this.nextLine
  }

  /**
   * A line in the kernel's range-line layout, parsed from b[s, e): it becomes the pending line
   * (the one before is taken first). False (nothing done) when the bytes are not such a line.
   */
  private rangeBytes(b: Buffer, s: number, e: number, line: number): boolean {
    const f = this.spare
    if (!parseRangeBytes(b, s, e, f, this.attrIntern)) return false
    this.lineCount++
    if (this.pendBuf !== null) this.takePendingBytes()
    else if (this.pending !== null) {
      // a line starting with "0" never continues the one before
      const t = this.pending
      this.pending = null
      this.rangeLine(t, this.pendingLine)
    }
    this.spare = this.pf
    this.pf = f
    this.pendBuf = b
    this.pendS = s
    this.pendE = e
    this.pendingLine = line
    return true
  }

  /** Take the pending range line held as bytes (parsed in pf). */
  private takePendingBytes(): void {
    this.msgText = null
    this.msgBuf = this.pendBuf
    this.msgS = this.pendS
    this.pendBuf = null
    this.rangeFields(this.pf, this.pendingLine)
  }

  /** Feed the line b[s, e) as a string (its pending bytes line, if any, becomes a string first). */
  private feedDecoded(b: Buffer, s: number, e: number, line: number): void {
    if (this.pendBuf !== null) {
      this.pending = this.pendBuf.toString('latin1', this.pendS, this.pendE)
      this.pendBuf = null
    }
    this.feed(b.toString('utf8', s, e), line)
  }

  /** A line over MAX_LINE_BYTES (as splitLines() measures it: in characters once decoded). */
  private longLine(b: Buffer, s: number, e: number, line: number): void {
    if (isAscii(b.subarray(s, e))) return this.overlong(e - s, line)
    const t = b.toString('utf8', s, e)
    if (t.length > MAX_LINE_BYTES) return this.overlong(Buffer.byteLength(t), line)
    const le = e > s && b[e - 1] === 13 ? e - 1 : e
    this.feedDecoded(b, s, le, line)
  }

  private overlong(bytes: number, line: number): void {
    this.lineCount++
    this.diag('line-too-long', `a line of ${bytes.toLocaleString('en-US')} bytes (over ${MAX_LINE_BYTES.toLocaleString('en-US')}); skipped`, line)
  }

  feed(raw: string, lineNo: number): void {
    if (raw.indexOf('\0') >= 0) {
      this.lineCount++
      this.diag('nul-bytes', `a line holding NUL bytes (binary data?), got ${quoteGot(raw)}; skipped`, lineNo)
      return
    }
    this.lineCount++
    const t = stripQuote(raw)
    if (this.pending !== null) {
      const c0 = t.charCodeAt(0)
      // A mail client wrapped the attributes of the previous range line onto this one.
      if (t.length && c0 !== 48 && c0 !== 45 && isAttrContinuation(t)) {
        this.pending = this.pending.trimEnd() + ' ' + t.trim()
        return
      }
      const p = this.pending
      this.pending = null
      this.rangeLine(p, this.pendingLine)
    }
    if (t.length === 0) return
    const c0 = t.charCodeAt(0)
    if (c0 === 48 /* 0 */) {
      this.pending = t
      this.pendingLine = lineNo
      return
    }
    if (c0 === 45 /* - */) {
      const name = markerName(t)
      if (name !== undefined) {
        this.marker(name, lineNo)
        return
      }
    }
    if (t.trim().length === 0) return
    if (isElision(t)) {
      this.elided = true
      this.diag('elided', `"${clipText(t.trim())}" stands for omitted lines: the range after it is unknown`, lineNo)
      return
    }
    this.diag('unrecognized', `${RANGE_EXPECTED}, got ${quoteGot(raw)}`, lineNo)
  }

  private marker(name: string, line: number): void {
    const def = MARKER_BY_NAME.get(name)
    if (!def) this.diag('unknown-marker', `unknown marker "---[ ${clipText(name)} ]---" (not in any version's address_markers[])`, line)
    if (this.markerNames.has(name)) {
      this.diag('duplicate-marker', `marker "${clipText(name)}" appears a second time (two dumps in one file?)`, line)
      return
    }
    this.markerNames.add(name)
    this.markers.push({name, at: this.cols.n, line})
  }

  private noteBoundary(level: number, x: number): void {
    const lo = x >>> 0 // x mod 2^32: x is an integer below 2^53
    this.orLo[level] = (this.orLo[level]! | lo) >>> 0
    this.orHi[level] = (this.orHi[level]! | ((x - lo) / 4294967296)) >>> 0
  }

  private rangeLine(t: string, line: number): void {
    const f = this.f
    const err = parseRangeLine(t, f)
    if (err === 'format') {
      this.diag('unrecognized', `${RANGE_EXPECTED}, got ${quoteGot(t)}`, line)
      return
    }
    this.msgText = t
    this.msgBuf = null
    if (err === 'not-kernel-address') {
      this.rangeLines++
      this.diag('not-kernel-address', `range ${clipText(this.rangeText())} is not in the kernel VA space (below 0xfff0000000000000)`, line)
      return
    }
    this.rangeFields(f, line)
  }

  /** The first 37 characters (the two addresses) of the range line being taken, for messages. */
  private rangeText(): string {
    if (this.msgText !== null) return this.msgText.slice(0, 37)
    return this.msgBuf!.toString('latin1', this.msgS, this.msgS + 37)
  }

  /** Take a parsed range line (fields in f; its text through rangeText()). */
  private rangeFields(f: RangeFields, line: number): void {
    this.rangeLines++
    const bytes = f.sizeNum * UNIT_BYTES[f.unit]!
    const start = f.start
    if (start === -1) {
      // v5.6–5.11: st.level starts at 0, not -1, so the first line runs from 0x0, level PGD, no
      // attributes, and "Linear Mapping start" is never printed (ptdump_walk() in
      // arch/arm64/mm/ptdump.c before it set `.level = -1`; docs/ptdump-quirks.md#first-line-from-zero).
      if (this.cols.n === 0 && this.markers.length === 0 && f.level === 4 && f.attrs === null) {
        this.firstLineBug = true
        const span = KVA_BASE + BigInt(f.end)
        const printed = BigInt(f.sizeNum) * 1024n ** BigInt(f.unit + 1)
        if (f.end !== KVA_END && printed !== span) {
          this.diag('size-mismatch', `size ${f.sizeNum}${UNITS[f.unit]} ≠ end − start = ${span} bytes`, line)
        }
        this.holeLines++
        this.levelCount[4]!++
        this.noteBoundary(4, f.end)
        this.elided = false
        this.cols.push(0, f.end, HOLE, 4, false, line)
        return
      }
      this.diag('not-kernel-address', `range ${clipText(this.rangeText())} starts at 0 (only the first line of a v5.6–5.11 dump may)`, line)
      return
    }
    const end = f.end
    if (end <= start) {
      this.diag('empty-range', `range ${clipText(this.rangeText())} is empty or reversed`, line)
      return
    }
    if (bytes !== end - start) {
      this.diag('size-mismatch', `size ${f.sizeNum}${UNITS[f.unit]} ≠ end − start = ${formatSize(end - start)}`, line)
    }
    const cols = this.cols
    if (cols.n > 0) {
      const prevEnd = cols.end(cols.n - 1)
      if (start < prevEnd) {
        const prevStart = cols.start(cols.n - 1)
        if (start < prevStart) {
          this.diag('out-of-order', `range ${clipText(this.rangeText())} starts before the previous line (${formatKva(prevStart)}); dropped`, line)
        } else {
          this.diag('overlap', `range ${clipText(this.rangeText())} overlaps the previous line ending ${formatKva(prevEnd)}; dropped`, line)
        }
        return
      }
      if (start > prevEnd && !this.elided) {
        this.gapCount++
        if (this.gaps.length < this.maxDiag) this.gaps.push({line, from: prevEnd, to: start})
      }
    }
    this.elided = false
    const a = f.attrs
    if (a) {
      if (a.problems) for (const p of a.problems) this.diag(p.code, p.message, line)
      this.layoutVotes[a.layout]!++
      const valid = (a.prot & P_VALID) !== 0
      // Leaves above PTE level are blocks: BLK in both schemes when valid (tables.ts).
      if (valid && (f.level === 0) === a.blk) {
        this.diag('blk-mismatch', `${LEVEL_NAMES[f.level]} line ${a.blk ? 'with' : 'without'} BLK: a valid ${f.level === 0 ? 'page' : 'block'} ${a.blk ? 'never shows' : 'always shows'} it`, line)
      }
      if (!valid && f.level !== 0) {
        if (a.blk) this.blkVotes.bit1++
        else this.blkVotes.sect++
      }
    } else this.holeLines++
    this.levelCount[f.level]!++
    this.noteBoundary(f.level, start)
    this.noteBoundary(f.level, end)
    cols.push(start, end, a ? a.prot : HOLE, f.level, a ? a.cont : false, line)
  }

  /** Decide era and geometry, build the model. */
  finish(): PtdumpSnapshot {
    if (this.pendBuf !== null) this.takePendingBytes()
    if (this.pending !== null) {
      const p = this.pending
      this.pending = null
      this.rangeLine(p, this.pendingLine)
    }
    const cols = this.cols
    const {era, reason: eraReason} = detectEra(
      {markers: this.markers, firstLineBug: this.firstLineBug, layoutVotes: this.layoutVotes, gapCount: this.gapCount, rangeLines: this.rangeLines, holeLines: this.holeLines},
      (code, message, line) => this.diag(code, message, line),
    )
    const eraDef = era === 'unknown' ? undefined : ERAS[era]
    // Hole lines mean the generic walker (v5.6+), whose lines tile the address space.
    if (eraDef?.holes || this.holeLines > 0) {
      for (const g of this.gaps) {
        this.diag('gap', `no line covers ${formatKva(g.from)}-${formatKva(g.to)} (v5.6+ dumps tile the address space: lines missing?)`, g.line)
      }
      const more = this.gapCount - this.gaps.length
      if (more > 0) this.counts.gap = (this.counts.gap ?? 0) + more
    }

    // Geometry evidence.
    const align = this.levelCount.map((c, i) => {
      if (!c) return Infinity
      const lo = this.orLo[i]!
      const hi = this.orHi[i]!
      if (lo !== 0) return (lo & -lo) >>> 0 || 2 ** 31
      if (hi !== 0) return 4294967296 * ((hi & -hi) >>> 0 || 2 ** 31)
      return Infinity
    })
    let linearStart: GeometryEvidence['linearStart']
    const lin = this.markers.find((m) => m.name === 'Linear Mapping start')
    if (lin && lin.at < cols.n) linearStart = {kva: cols.start(lin.at), mode: this.holeLines > 0 ? 'exact' : 'at-least'}
    else if (this.firstLineBug) linearStart = {kva: cols.end(0), mode: 'bug-end'}
    else if (cols.n > 0) linearStart = {kva: cols.start(0), mode: 'upper-bound'}
    let geo: Geometry
    let geometryReason: string
    try {
      const d = detectGeometry(
        {count: this.levelCount, align, holes: this.holeLines > 0, linearStart, vaBits: eraDef?.vaBits},
        {pageSize: this.opts.pageSize, vaBits: this.opts.vaBits},
        (note) => this.diag('geometry-override', note, 0),
      )
      geo = d.geo
      geometryReason = d.reason
    } catch (e) {
      if (e instanceof GeometryUndecided && cols.n === 0) {
        // Nothing to decide from (no usable range line): the options, else 4K/48.
        const d = fallbackGeometry(this.opts, this.file)
        geo = d.geo
        geometryReason = d.reason
      } else if (e instanceof GeometryUndecided) throw new PtdumpError(e.message, 'geometry', this.file)
      else if (e instanceof RangeError) throw new PtdumpError(`${e.message} (--granule/--va-bits)`, 'geometry', this.file)
      else throw e
    }

    // The v5.6–5.11 first line: keep only what lies at or above PAGE_OFFSET.
    let first = 0
    if (this.firstLineBug) {
      const po = pageOffsetKva(geo.vaBits)
      if (cols.end(0) <= po) first = 1
      else cols.setStart(0, po)
    }

    const markerAddr = (m: MarkerSeen): Kva => (m.at < cols.n ? cols.start(m.at) : cols.n ? cols.end(cols.n - 1) : KVA_END)
    const regions = buildRegions(this.markers, geo, markerAddr, this.firstLineBug, cols.n ? cols.end(cols.n - 1) : undefined)
    const kasan = regions.find((r) => r.name === 'kasan')

    // Level names → levels; KASAN early shadow; then the model.
    const pt = buildModel(cols, geo, first, kasan, (code, message, line) => this.diag(code, message, line))

    let blkScheme: 'bit1' | 'sect' | undefined
    if (this.blkVotes.bit1 && !this.blkVotes.sect) blkScheme = 'bit1'
    else if (this.blkVotes.sect && !this.blkVotes.bit1) blkScheme = 'sect'

    return {
      source: this.file,
      geometry: geo,
      geometryReason,
      era,
      eraReason,
      blkScheme,
      regions,
      pt,
      lineCount: this.lineCount,
      rangeLines: this.rangeLines,
      holeLines: this.holeLines,
      diagnostics: this.diagnostics,
      diagnosticCounts: this.counts,
    }
  }

}

/** Bytes per unit of the size column (UNITS): 1024^(index + 1). */
const UNIT_BYTES = [...UNITS].map((_, i) => 1024 ** (i + 1))

function newFields(): RangeFields {
  return {start: 0, end: 0, sizeNum: 0, unit: 0, level: 0, attrs: null}
}
