/**
 * The fragmentation map's record encoding (src/report/html/map-model.ts says why runs): per run a
 * header byte (leaf code, level, gap flag), a LEB128 length in pages and a LEB128 attribute index;
 * per summarised slot a SUMMARY record with the leaf-size mix in 1/255ths. gzip + base64 for the
 * page, which decodes it in its inline script; decodeRecords() is the same decoder for tests.
 */
import {gunzipSync, gzipSync} from 'node:zlib'

import {type Kva, alignDown} from '../../model/address.js'
import {HOLE, type Run} from '../../model/run.js'
import {P_VALID} from '../../model/prot.js'

/** Leaf codes in the encoding, and the categories a cell's bytes are counted in. */
export const CODE = {PTE: 0, CONT_PTE: 1, PMD: 2, CONT_PMD: 3, PUD: 4, INVALID: 5, HOLE: 6, SUMMARY: 7} as const
/** Category order in summary records and page-side cell accumulators (CODE 0..6). */
export const CATEGORIES = ['PTE', 'CONT_PTE', 'PMD', 'CONT_PMD', 'PUD', 'INVALID', 'HOLE'] as const

const GAP_FLAG = 8

/** Category code of one run. */
export function codeOf(r: Pick<Run, 'lvl' | 'cont' | 'prot'>): number {
  if (r.prot === HOLE) return CODE.HOLE
  if ((r.prot & P_VALID) === 0) return CODE.INVALID
  if (r.lvl === 0) return r.cont ? CODE.CONT_PTE : CODE.PTE
  if (r.lvl === 1) return r.cont ? CODE.CONT_PMD : CODE.PMD
  return CODE.PUD
}

/** LEB128 of a non-negative integer < 2^53 (no 32-bit bitwise ops: addresses exceed 2^32). */
class ByteWriter {
  buf = new Uint8Array(1 << 16)
  len = 0
  byte(b: number): void {
    if (this.len === this.buf.length) {
      const n = new Uint8Array(this.buf.length * 2)
      n.set(this.buf)
      this.buf = n
    }
    this.buf[this.len++] = b
  }
  varint(v: number): void {
    while (v >= 128) {
      this.byte((v % 128) + 128)
      v = Math.floor(v / 128)
    }
    this.byte(v)
  }
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.len)
  }
}

/** A piece of a run inside one region (clipped). */
export interface Piece {
  start: Kva
  end: Kva
  code: number
  lvl: number
  prot: number
}

interface SlotSummary {
  slot: number
  pieces: Piece[]
  bytes: number[]
  runs: number
  protChanges: number
  lastProt: number | undefined
}

/**
 * Encode the pieces of one region; slots of `detailBytes` holding more than one piece become summary
 * records when detailBytes > pageSize.
 */
export function encodeRegion(pieces: readonly Piece[], regionStart: Kva, pageSize: number, detailBytes: number): {bytes: Uint8Array; records: number} {
  const w = new ByteWriter()
  let cursor = regionStart
  let records = 0
  const exact = (p: Piece): void => {
    const gap = p.start - cursor
    const header = p.code | (gap > 0 ? GAP_FLAG : 0) | (Math.min(p.lvl, 7) << 4)
    w.byte(header)
    if (gap > 0) w.varint(Math.round(gap / pageSize))
    w.varint(Math.round((p.end - p.start) / pageSize))
    if (p.code !== CODE.HOLE) w.varint(p.prot)
    cursor = p.end
    records++
  }
  if (detailBytes <= pageSize) {
    for (const p of pieces) exact(p)
    return {bytes: w.bytes(), records}
  }
  const Q = detailBytes
  let pend: SlotSummary | undefined
  const flush = (): void => {
    if (!pend) return
    const s = pend
    pend = undefined
    if (s.pieces.length === 1) {
      exact(s.pieces[0]!)
      return
    }
    const slotStart = Math.max(s.slot * Q, s.pieces[0]!.start)
    const slotEnd = s.pieces[s.pieces.length - 1]!.end
    const gap = slotStart - cursor
    w.byte(CODE.SUMMARY | (gap > 0 ? GAP_FLAG : 0))
    if (gap > 0) w.varint(Math.round(gap / pageSize))
    w.varint(Math.round((slotEnd - slotStart) / pageSize))
    const span = slotEnd - slotStart
    for (let c = 0; c < CATEGORIES.length; c++) w.byte(Math.round((s.bytes[c]! / span) * 255))
    w.varint(s.runs)
    w.varint(s.protChanges)
    cursor = slotEnd
    records++
  }
  const addPartial = (p: Piece, slot: number, prevProt: number | undefined): void => {
    if (pend && pend.slot !== slot) flush()
    if (!pend) pend = {slot, pieces: [], bytes: new Array<number>(CATEGORIES.length).fill(0), runs: 0, protChanges: 0, lastProt: prevProt}
    pend.pieces.push(p)
    pend.bytes[p.code]! += p.end - p.start
    pend.runs++
    if (p.code !== CODE.HOLE) {
      if (pend.lastProt !== undefined && pend.lastProt !== p.prot) pend.protChanges++
      pend.lastProt = p.prot
    }
  }
  let prevProt: number | undefined
  for (const p of pieces) {
    let s = p.start
    while (s < p.end) {
      const slot = Math.floor(s / Q)
      const slotEnd = (slot + 1) * Q
      if (s % Q === 0 && p.end >= slotEnd) {
        // Whole slots: exact. A pending partial slot before it is finished.
        flush()
        const fullEnd = alignDown(p.end, Q)
        exact({...p, start: s, end: fullEnd})
        s = fullEnd
        continue
      }
      const e = Math.min(p.end, slotEnd)
      addPartial({...p, start: s, end: e}, slot, prevProt)
      s = e
    }
    if (p.code !== CODE.HOLE) prevProt = p.prot
  }
  flush()
  return {bytes: w.bytes(), records}
}

/** Base64 length of gzip(bytes). */
export function packed(bytes: Uint8Array): string {
  return gzipSync(bytes, {level: 6}).toString('base64')
}

export interface DecodedRecord {
  start: Kva
  end: Kva
  code: number
  lvl: number
  /** Index into MapColumn.prots, -1 for holes and summaries. */
  prot: number
  summary?: {fractions: number[]; runs: number; protChanges: number}
}

/**
 * Decode one region's records. The page does the same in its inline script (report.js,
 * decodeRegion); tests use this one to check the encoding against the model.
 */
export function decodeRecords(data: {records: string; start: Kva}, pageSize: number): DecodedRecord[] {
  const bytes = new Uint8Array(gunzipSync(Buffer.from(data.records, 'base64')))
  let i = 0
  const varint = (): number => {
    let v = 0
    let m = 1
    for (;;) {
      const b = bytes[i++]!
      v += (b % 128) * m
      if (b < 128) return v
      m *= 128
    }
  }
  const out: DecodedRecord[] = []
  let cursor = data.start
  while (i < bytes.length) {
    const h = bytes[i++]!
    const code = h % 8
    if (Math.floor(h / 8) % 2 === 1) cursor += varint() * pageSize
    const len = varint() * pageSize
    if (code === CODE.SUMMARY) {
      const fractions = Array.from(bytes.subarray(i, i + CATEGORIES.length), (f) => f / 255)
      i += CATEGORIES.length
      const runs = varint()
      const protChanges = varint()
      out.push({start: cursor, end: cursor + len, code, lvl: 0, prot: -1, summary: {fractions, runs, protChanges}})
    } else {
      const prot = code === CODE.HOLE ? -1 : varint()
      out.push({start: cursor, end: cursor + len, code, lvl: Math.floor(h / 16), prot})
    }
    cursor += len
  }
  return out
}
