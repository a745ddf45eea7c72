/** Shared helpers for the benchmarks: peak RSS, timing, temp files, printing. */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

export function peakRssMiB(): number {
  // maxRSS is in KiB (process.resourceUsage, Node ≥ 12.6).
  return process.resourceUsage().maxRSS / 1024
}

export function tempDir(prefix: string): {dir: string; file: (name: string) => string; cleanup: () => void} {
  const dir = mkdtempSync(join(tmpdir(), `ptreplay-${prefix}-`))
  return {dir, file: (n) => join(dir, n), cleanup: () => rmSync(dir, {recursive: true, force: true})}
}

export function fmt(n: number, digits = 1): string {
  return n.toLocaleString('en-US', {maximumFractionDigits: digits})
}

export interface BenchResult {
  name: string
  figures: Record<string, string | number>
}

export function printResult(r: BenchResult): void {
  console.log(`\n## ${r.name}`)
  for (const [k, v] of Object.entries(r.figures)) console.log(`  ${k.padEnd(22)} ${typeof v === 'number' ? fmt(v, 2) : v}`)
}
