/**
 * The fleet's summary, accumulated host by host as results stream in: hosts and errors, the
 * distribution of table bytes and TLB entries (p50/p90/max), hosts by eligibility, the worst
 * hosts. Per host it keeps two numbers (16 bytes) for the percentiles and nothing else; the worst
 * list is bounded.
 */
import type {HostRecord} from './host.js'

export interface Distribution {
  sum: number
  p50: number
  p90: number
  max: number
}

export interface WorstHost {
  host: string
  dump: string
  kernel?: string
  cpu?: string
  tableBytes: number
  tlbEntries: number
  linearTableBytes: number
  eligibility?: string
}

export interface FleetSummary {
  hosts: number
  errors: number
  tableBytes: Distribution
  tlbEntries: Distribution
  /** Linear-map table bytes, summed over the hosts. */
  linearTableBytes: number
  /** Hosts per eligibility status (see src/fleet/eligibility.ts); "unknown" without facts. */
  byEligibility: Record<string, number>
  /** The hosts with the most table bytes, worst first. */
  worst: WorstHost[]
  /** What a BBML3 kernel on listed CPUs would save at boot, summed over the hosts (forecast). */
  forecastSavedTableBytes: number
  forecastSavedTlbEntries: number
}

/** Nearest-rank percentile of sorted values (p in 0..100). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length))
  return sorted[rank - 1]!
}

class Column {
  private a = new Float64Array(1024)
  n = 0
  sum = 0
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Float64Array(this.a.length * 2)
      b.set(this.a)
      this.a = b
    }
    this.a[this.n++] = v
    this.sum += v
  }
  distribution(): Distribution {
    const s = this.a.slice(0, this.n).sort()
    return {sum: this.sum, p50: percentile(s, 50), p90: percentile(s, 90), max: this.n ? s[this.n - 1]! : 0}
  }
}

export class FleetAccumulator {
  private readonly table = new Column()
  private readonly tlb = new Column()
  private linear = 0
  private errors = 0
  private readonly byElig: Record<string, number> = {}
  private worst: WorstHost[] = []

  constructor(private readonly keepWorst = 10) {}

  private savedBytes = 0
  private savedTlb = 0

  add(r: HostRecord): void {
    this.savedBytes += r.eligibility?.forecast?.savedTableBytes ?? 0
    this.savedTlb += r.eligibility?.forecast?.savedTlbEntries ?? 0
    this.table.push(r.tableBytes)
    this.tlb.push(r.tlbEntries)
    const lin = r.regions.linear?.tableBytes ?? 0
    this.linear += lin
    const e = r.eligibility?.status ?? 'unknown'
    this.byElig[e] = (this.byElig[e] ?? 0) + 1
    if (this.worst.length < this.keepWorst || r.tableBytes > this.worst[this.worst.length - 1]!.tableBytes) {
      this.worst.push({host: r.host, dump: r.dump, kernel: r.identity.kernel, cpu: r.identity.cpu, tableBytes: r.tableBytes, tlbEntries: r.tlbEntries, linearTableBytes: lin, eligibility: r.eligibility?.status})
      this.worst.sort((a, b) => b.tableBytes - a.tableBytes || a.host.localeCompare(b.host))
      if (this.worst.length > this.keepWorst) this.worst.length = this.keepWorst
    }
  }

  addError(): void {
    this.errors++
  }

  get hosts(): number {
    return this.table.n
  }

  get errorCount(): number {
    return this.errors
  }

  summary(): FleetSummary {
    return {
      hosts: this.table.n,
      errors: this.errors,
      tableBytes: this.table.distribution(),
      tlbEntries: this.tlb.distribution(),
      linearTableBytes: this.linear,
      byEligibility: {...this.byElig},
      worst: [...this.worst],
      forecastSavedTableBytes: this.savedBytes,
      forecastSavedTlbEntries: this.savedTlb,
    }
  }
}
