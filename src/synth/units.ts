/**
 * Command-line quantities for the synthesizers: sizes ("256G", "2G", "4T", "64k", "0x80000000")
 * and physical bank lists ("0x80000000:2G,0x8080000000:254G"). Errors are InputErrors with the
 * offending text, so commands print one line.
 */
import {type KernelVersion, parseKernelVersion as parseVersion} from '../kernel/version.js'
import {InputError} from '../ingest/source.js'

const UNIT: Readonly<Record<string, number>> = {'': 1, b: 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50}

/** "256G" → 256 × 2^30 (binary units; K/M/G/T/P, optional "iB"/"B"), "0x…" hex, or plain bytes. */
export function parseSize(text: string, what = 'size'): number {
  const t = text.trim()
  let v: number | undefined
  if (/^0x[0-9a-f]+$/i.test(t)) v = Number.parseInt(t.slice(2), 16)
  else {
    const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?$/i.exec(t)
    if (m) v = Number(m[1]) * UNIT[m[2]!.toLowerCase()]!
  }
  if (v === undefined || !Number.isSafeInteger(v) || v <= 0) {
    throw new InputError(`${what}: expected a size like 256G, 2G, 4T, 512M or 0x80000000, got '${text}'`)
  }
  return v
}

/** A physical address (hex "0x…" or decimal). */
export function parsePhys(text: string, what = 'address'): number {
  const t = text.trim()
  const v = /^0x[0-9a-f]+$/i.test(t) ? Number.parseInt(t.slice(2), 16) : /^\d+$/.test(t) ? Number(t) : undefined
  if (v === undefined || !Number.isSafeInteger(v)) throw new InputError(`${what}: expected a physical address like 0x80000000, got '${text}'`)
  return v
}

/** "START:SIZE,START:SIZE" → [{start, end}] (physical, any order; overlaps rejected). */
export function parseBanks(text: string, what = '--banks'): {start: number; end: number}[] {
  const out: {start: number; end: number}[] = []
  for (const part of text.split(',')) {
    const p = part.trim()
    if (!p) continue
    const colon = p.indexOf(':')
    if (colon < 0) throw new InputError(`${what}: expected START:SIZE (e.g. 0x80000000:2G), got '${p}'`)
    const start = parsePhys(p.slice(0, colon), `${what} ${p}`)
    const size = parseSize(p.slice(colon + 1), `${what} ${p}`)
    out.push({start, end: start + size})
  }
  if (out.length === 0) throw new InputError(`${what}: expected at least one START:SIZE, got '${text}'`)
  const sorted = [...out].sort((a, b) => a.start - b.start)
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.start < sorted[i - 1]!.end) {
      throw new InputError(`${what}: bank at 0x${sorted[i]!.start.toString(16)} overlaps the one ending at 0x${sorted[i - 1]!.end.toString(16)}`)
    }
  }
  return sorted
}

/** A --kernel flag: parseKernelVersion() of src/kernel/version.ts, or a one-line InputError. */
export function parseKernelVersion(text: string, what = '--kernel'): KernelVersion {
  const v = parseVersion(text)
  if (!v) throw new InputError(`${what}: expected a version like 6.19, got '${text}'`)
  return v
}
