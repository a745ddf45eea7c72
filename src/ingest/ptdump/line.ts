/**
 * ptdump tokenizer: one text line → a plain record. Knows the line grammar of note_page()
 * (arch/arm64/mm/ptdump.c and mm/ptdump.c) and the attribute tokens (./tables.ts), nothing about geometry,
 * order or regions. Hot path (every line of a dump), so no regex and no split per range line, and the
 * attribute text (a few dozen distinct strings per dump) is parsed once and cached.
 *
 * Range line, as printed by note_page() since v5.4:
 *   "0x%016lx-0x%016lx   " start, end (exclusive; 0x0000000000000000 = 2^64)
 *   "%9lu%c %s"           size number, unit K…E, level name
 *   (" %s")*              one token per pte_bits[] row (none at all for a hole, v5.6+)
 */
import {type Kva, KVA_END} from '../../model/address.js'
import {type Prot, P_VALID, withMemType} from '../../model/prot.js'
import {PTE_BITS, TOKENS} from './tables.js'

/** Unit letters of the size field, in order: bytes = number × 1024^(index+1). */
export const UNITS = 'KMGTPE'

/** An attribute problem found while parsing a line's tokens. */
export interface AttrProblem {
  code: 'unknown-token' | 'conflicting-token' | 'missing-token' | 'trailing-token'
  message: string
}

/** Parsed attribute text of a range line (shared between lines through the cache). */
export interface AttrInfo {
  prot: Prot
  cont: boolean
  /** "BLK" printed (its meaning depends on the version, see tables.ts). */
  blk: boolean
  /**
   * Column layout evidence: 2 = the memory type sits where v5.8+ prints it (after the GP
   * column), 1 = where v5.4 prints it (no GP column, no UXN clear string), 0 = cannot tell.
   */
  layout: 0 | 1 | 2
  problems: readonly AttrProblem[] | null
}

/** Output of parseRangeLine; reused between calls. */
export interface RangeFields {
  /** Kva of the start; -1 when the start is 0x0000000000000000 (the v5.6–5.11 first line). */
  start: number
  end: Kva
  /** Size field as printed: number and unit index into UNITS. */
  sizeNum: number
  unit: number
  /** LEVEL_CODE of the level name: 0 PTE … 4 PGD. */
  level: number
  /** null for a hole line (no attribute tokens). */
  attrs: AttrInfo | null
}

/** Hex digit values by char code (-1: not a hex digit). */
const HEX = (() => {
  const t = new Int8Array(128).fill(-1)
  for (let i = 0; i < 10; i++) t[48 + i] = i
  for (let i = 0; i < 6; i++) t[65 + i] = t[97 + i] = 10 + i
  return t
})()

function hexVal(c: number): number {
  return c < 128 ? HEX[c]! : -1
}

/**
 * Parse the 16 hex digits at t[pos..pos+16). Returns the Kva when the address is ≥
 * 0xfff0000000000000; -1 for all zeros; -2 for another (non-kernel) address; -3 if not hex.
 */
function parseHex16(t: string, pos: number): number {
  let top = 0
  for (let i = 0; i < 3; i++) {
    const d = hexVal(t.charCodeAt(pos + i))
    if (d < 0) return -3
    top = top * 16 + d
  }
  let v = 0
  for (let i = 3; i < 16; i++) {
    const d = hexVal(t.charCodeAt(pos + i))
    if (d < 0) return -3
    v = v * 16 + d
  }
  if (top === 0xfff) return v
  if (top === 0 && v === 0) return -1
  return -2
}

/** Index of a size unit letter (a char code or a byte) in UNITS, or -1 (no string allocation on the hot path). */
export function unitIndex(c: number): number {
  switch (c) {
    case 75: return 0 // K
    case 77: return 1 // M
    case 71: return 2 // G
    case 84: return 3 // T
    case 80: return 4 // P
    case 69: return 5 // E
    default: return -1
  }
}

/** LEVEL_CODE of the three letters at t[i..i+3), or -1. */
function levelCodeAt(t: string, i: number): number {
  const a = t.charCodeAt(i)
  const b = t.charCodeAt(i + 1)
  const c = t.charCodeAt(i + 2)
  if (a === 80 && b === 84 && c === 69) return 0 // PTE
  if (a === 80 && b === 77 && c === 68) return 1 // PMD
  if (a === 80 && b === 85 && c === 68) return 2 // PUD
  if (a === 80 && b === 52 && c === 68) return 3 // P4D
  if (a === 80 && b === 71 && c === 68) return 4 // PGD
  return -1
}

export type RangeParseError = 'format' | 'not-kernel-address'

/**
 * Parse a range line (already stripped of mail quoting). Returns null on success (fields in
 * `out`), else why it is not a range line.
 */
export function parseRangeLine(t: string, out: RangeFields): RangeParseError | null {
  const n = t.length
  if (n < 44 || t.charCodeAt(0) !== 48 || (t.charCodeAt(1) | 32) !== 120 || t.charCodeAt(18) !== 45) return 'format'
  if (t.charCodeAt(19) !== 48 || (t.charCodeAt(20) | 32) !== 120) return 'format'
  const start = parseHex16(t, 2)
  const endRaw = parseHex16(t, 21)
  if (start === -3 || endRaw === -3) return 'format'
  let i = 37
  // Separator: the kernel prints three spaces then %9lu; accept any run of blanks (condensed docs).
  const sepStart = i
  while (i < n && (t.charCodeAt(i) === 32 || t.charCodeAt(i) === 9)) i++
  if (i === sepStart) return 'format'
  let num = 0
  const numStart = i
  for (; i < n; i++) {
    const c = t.charCodeAt(i)
    if (c < 48 || c > 57) break
    num = num * 10 + (c - 48)
  }
  if (i === numStart || i >= n) return 'format'
  const unit = unitIndex(t.charCodeAt(i))
  if (unit < 0) return 'format'
  i++
  if (t.charCodeAt(i) !== 32) return 'format'
  i++
  const level = levelCodeAt(t, i)
  if (level < 0) return 'format'
  i += 3
  if (i < n) {
    const c = t.charCodeAt(i)
    if (c !== 32 && c !== 9) return 'format'
  }
  if (start === -2 || endRaw === -2) return 'not-kernel-address'
  out.start = start
  out.end = endRaw === -1 ? KVA_END : endRaw
  out.sizeNum = num
  out.unit = unit
  out.level = level
  out.attrs = i < n ? parseAttrs(t, i) : null
  return null
}

// ---------------------------------------------------------------------------------------------
// Attributes.

/** Slot of each PTE_BITS row: rows that describe the same descriptor field share one. */
const SLOT_OF: readonly number[] = (() => {
  const names = new Map<string, number>()
  return PTE_BITS.map((d) => {
    const key = d.kind === 'memtype' ? 'ATTRINDX' : d.kind === 'table-bit' || d.kind === 'sect' ? 'BLK' : d.kernel
    if (!names.has(key)) names.set(key, names.size)
    return names.get(key)!
  })
})()
const SLOT_RDONLY = SLOT_OF[PTE_BITS.findIndex((d) => d.kernel === 'PTE_RDONLY')]!
const SLOT_PXN = SLOT_OF[PTE_BITS.findIndex((d) => d.kernel === 'PTE_PXN')]!

/**
 * Offset (from the character after the level name) from which an unknown token is taken as
 * trailing vendor text rather than a bad attribute: the UXN column, where v5.4 (no UXN) already
 * prints the memory type. Before it, every column holds a pte_bits[] token in every version.
 */
const TRAILING_FROM = 31
/** Where the memory type starts, from the character after the level name: v5.8+ / v5.4. */
const MT_OFFSET_GP = 38
const MT_OFFSETS_54 = [31, 35]

const attrCache = new Map<string, AttrInfo>()
const MRU_SIZE = 4
const mru: ({text: string; info: AttrInfo} | undefined)[] = new Array(MRU_SIZE)
let mruNext = 0
const ATTR_CACHE_MAX = 4096

/** Parse the attribute tokens of t from index `from` (just after the level name). */
export function parseAttrs(t: string, from: number): AttrInfo | null {
  // Consecutive lines mostly alternate between a few attribute strings: compare in place first.
  const len = t.length - from
  for (let k = 0; k < MRU_SIZE; k++) {
    const m = mru[k]
    if (m !== undefined && m.text.length === len && t.startsWith(m.text, from)) return m.info
  }
  const text = from === 0 ? t : t.slice(from)
  let info = attrCache.get(text)
  if (info === undefined) {
    const parsed = parseAttrText(text)
    if (parsed === null) return null
    info = parsed
    if (attrCache.size < ATTR_CACHE_MAX) attrCache.set(text, info)
  }
  mru[mruNext] = {text, info}
  mruNext = (mruNext + 1) % MRU_SIZE
  return info
}

/** Tokens of an attribute text with their offsets; stops nowhere (the caller decides). */
function tokensOf(text: string): {tok: string; off: number; afterTab: boolean}[] {
  const out: {tok: string; off: number; afterTab: boolean}[] = []
  const n = text.length
  let i = 0
  let tab = false
  while (i < n) {
    const c = text.charCodeAt(i)
    if (c === 32 || c === 9) {
      if (c === 9) tab = true
      i++
      continue
    }
    const s = i
    while (i < n) {
      const d = text.charCodeAt(i)
      if (d === 32 || d === 9) break
      i++
    }
    out.push({tok: text.slice(s, i), off: s, afterTab: tab})
  }
  return out
}

/** True when every whitespace-separated token of `text` is an attribute token (a wrapped tail). */
export function isAttrContinuation(text: string): boolean {
  const toks = tokensOf(text)
  if (toks.length === 0) return false
  for (const {tok} of toks) if (!TOKENS.has(tok)) return false
  return true
}

function parseAttrText(text: string): AttrInfo | null {
  const toks = tokensOf(text)
  if (toks.length === 0) return null
  let prot: Prot = P_VALID // PTE_VALID prints " " when set: valid unless "F"
  let cont = false
  let blk = false
  let layout: 0 | 1 | 2 = 0
  let seen = 0
  let mtSeen = false
  let problems: AttrProblem[] | null = null
  const problem = (p: AttrProblem) => (problems ??= []).push(p)
  for (const {tok, off, afterTab} of toks) {
    const m = mtSeen ? undefined : TOKENS.get(tok)
    if (!m) {
      if (mtSeen && TOKENS.has(tok)) {
        // An attribute after the memory type (a line pasted twice, a garbled dump): no kernel prints it there.
        problem({code: 'trailing-token', message: `attribute token "${tok.slice(0, 40)}" after the memory type (ignored)`})
        break
      }
      // Vendor trees append text after the attributes (e.g. "\tcaller: %pF" in
      // MarekBykowski/linux-socfpga-ase-5-4): ignore everything from there on.
      if (mtSeen || afterTab || off >= TRAILING_FROM) break
      problem({code: 'unknown-token', message: `unknown attribute token ${JSON.stringify(tok.slice(0, 40))} (not in any version's pte_bits[])`})
      continue
    }
    const d = PTE_BITS[m.desc]!
    const slot = SLOT_OF[m.desc]!
    const bit = 2 ** slot
    if (Math.floor(seen / bit) % 2 === 1) {
      problem({code: 'conflicting-token', message: `attribute "${tok}" repeats or contradicts an earlier token for ${d.kernel}`})
      continue
    }
    seen += bit
    switch (d.kind) {
      case 'bit':
        if (m.isSet) prot |= d.val
        else prot &= ~d.mask
        break
      case 'cont':
        cont = m.isSet
        break
      case 'table-bit':
      case 'sect':
        blk = true
        break
      case 'memtype':
        prot = withMemType(prot, d.memType!)
        mtSeen = true
        layout = off === MT_OFFSET_GP ? 2 : MT_OFFSETS_54.includes(off) ? 1 : 0
        break
    }
  }
  // ro/RW and NX/x have a visible string either way: a line without them is cut or garbled.
  for (const [slot, what] of [
    [SLOT_RDONLY, 'ro/RW'],
    [SLOT_PXN, 'NX/x'],
  ] as const) {
    if (Math.floor(seen / 2 ** slot) % 2 === 0) problem({code: 'missing-token', message: `attributes lack the ${what} token`})
  }
  return {prot, cont, blk, layout, problems}
}

// ---------------------------------------------------------------------------------------------
// Other line kinds.

/** Strip mail quoting (`> `, `> > `, `>>`) and leading blanks. */
export function stripQuote(s: string): string {
  const c0 = s.charCodeAt(0)
  if (c0 === 48 /* 0 */ || c0 === 45 /* - */) return s
  let i = 0
  const n = s.length
  while (i < n) {
    const c = s.charCodeAt(i)
    if (c === 62 || c === 32 || c === 9) i++
    else break
  }
  return i === 0 ? s : s.slice(i)
}

/** The name inside `---[ name ]---`, or undefined. */
export function markerName(t: string): string | undefined {
  if (!t.startsWith('---[')) return undefined
  const e = t.lastIndexOf(']---')
  if (e < 4) return undefined
  return t.slice(4, e).trim()
}

/** A line standing for omitted lines in a pasted excerpt: "…", "...", "[...]". */
export function isElision(t: string): boolean {
  const s = t.trim()
  return s === '…' || s === '...' || s === '[...]' || s === '[…]' || s === '<snip>' || s === '[snip]'
}
