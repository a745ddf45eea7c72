/**
 * The arithmetic of progress, apart from the terminal: how much work a command expects (the text
 * its inputs decode to, times the passes it makes over them: `compare` replays the trace once per
 * policy), how far along it is, when it will end, and the bar. Pure functions, unit-tested.
 */

/** Expected work (decoded bytes × passes) from which a run is long enough for a bar: about a second of reading and replaying. */
export const PROGRESS_MIN_WORK = 8 << 20

/** Expected work: the decoded size of the inputs times the passes over them (undefined: unknown, e.g. stdin). */
export function expectedWork(expectedBytes: number | undefined, passes: number): number | undefined {
  return expectedBytes === undefined ? undefined : expectedBytes * Math.max(1, passes)
}

/**
 * Fraction of one pass done, 0..1: the decoded text so far of the text expected when both are
 * known (fine-grained: a compressed file is read in chunks of hundreds of KiB, a few per small
 * .gz), else the bytes read of the bytes on disk.
 */
export function passFraction(done: number, total: number, decoded?: number, expected?: number): number {
  const f = expected !== undefined && expected > 0 && decoded !== undefined ? decoded / expected : total > 0 ? done / total : 0
  return Math.min(1, Math.max(0, f))
}

/**
 * Fraction of the whole run done, 0..1: `pass` passes (0-based) complete and the current one
 * `within` done. Every pass reads the same inputs: equal weights.
 */
export function fractionDone(pass: number, passes: number, within: number): number {
  const n = Math.max(1, passes)
  return Math.min(1, (Math.min(pass, n - 1) + Math.min(1, Math.max(0, within))) / n)
}

/**
 * Remaining time in ms at a constant rate: elapsed × (1 − f) / f. undefined until there is
 * something to extrapolate from (f ≥ 1 % and ≥ 1 s elapsed): an early ETA is noise.
 */
export function etaMs(elapsedMs: number, fraction: number): number | undefined {
  if (!(fraction >= 0.01) || elapsedMs < 1000) return undefined
  if (fraction >= 1) return 0
  return (elapsedMs * (1 - fraction)) / fraction
}

/** "0:07", "1:05", "1:02:03" (rounded up to the second: an ETA of 0:00 is "done"). */
export function formatDuration(ms: number): string {
  const s = Math.ceil(ms / 1000)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const sec = String(s % 60).padStart(2, '0')
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`
}

/** A bar of `width` cells: "[#####.....]" in ASCII, "[█████░░░░░]" otherwise. */
export function renderBar(fraction: number, width: number, ascii: boolean): string {
  const w = Math.max(1, Math.floor(width))
  const f = Math.min(1, Math.max(0, fraction))
  const full = Math.floor(f * w)
  const [on, off] = ascii ? ['#', '.'] : ['█', '░']
  return `[${on.repeat(full)}${off.repeat(w - full)}]`
}

/**
 * One progress line that fits `columns`: label, bar, percentage, pass, ETA. The bar shrinks
 * (down to 10 cells, then goes) before anything else is cut.
 */
export function progressLine(p: {label?: string; fraction: number; pass: number; passes: number; elapsedMs: number; rate?: string; ascii: boolean; columns: number}): string {
  const pct = `${Math.floor(p.fraction * 100)}%`
  const eta = etaMs(p.elapsedMs, p.fraction)
  const parts = [pct]
  if (p.passes > 1) parts.push(`pass ${Math.min(p.pass + 1, p.passes)}/${p.passes}`)
  if (p.rate) parts.push(p.rate)
  parts.push(eta === undefined ? (p.ascii ? 'ETA ...' : 'ETA …') : `ETA ${formatDuration(eta)}`)
  const tail = parts.join(p.ascii ? ', ' : ' · ')
  const head = p.label ? `${p.label} ` : ''
  // ora draws a spinner and a space before the text.
  const room = p.columns - 2 - head.length - tail.length - 3
  const bar = room >= 10 ? `${renderBar(p.fraction, Math.min(30, room - 2), p.ascii)} ` : ''
  const line = `${head}${bar}${tail}`
  return line.length > p.columns - 2 ? line.slice(0, Math.max(0, p.columns - 2)) : line
}
