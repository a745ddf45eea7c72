/**
 * Who caused the table pages and splits of a replay: the offender table, per caller (the first
 * stack frame outside the permission-change machinery), probe, module and comm, bounded in names.
 */
import {flat} from '../ingest/trace/intern.js'

export interface Offender {
  /** caller (from the stack), probe, module, comm */
  by: 'caller' | 'probe' | 'module' | 'comm'
  name: string
  calls: number
  tablePagesAllocated: number
  tablePagesFreed: number
  splits: number
}

/** Frames that are the permission-change machinery itself, skipped when naming a caller. */
const MACHINERY = /^(set_memory_|set_direct_map_|change_memory_common|__change_memory_common|update_range_prot|split_|__set_memory|set_area_direct_map|vm_reset_perms|__kernel_map_pages|kfence_protect|execmem_|module_enable|bpf_prog_pack|bpf_jit_binary)/

/** frame text → its symbol, or '' for machinery and empty frames (bounded; frames repeat). */
const frameSymbols = new Map<string, string>()

export function callerOf(stack: readonly string[] | undefined): string | undefined {
  if (!stack) return undefined
  for (const frame of stack) {
    let sym = frameSymbols.get(frame)
    if (sym === undefined) {
      sym = frame.replace(/^=>\s*/, '').replace(/\+0x[0-9a-f]+\/0x[0-9a-f]+/i, '').trim()
      if (MACHINERY.test(sym)) sym = ''
      if (frameSymbols.size >= 65536) frameSymbols.clear()
      // flat: a frame cut from the trace text would keep its whole chunk alive while cached
      frameSymbols.set(flat(frame), sym === '' ? '' : flat(sym))
    }
    if (sym) return sym
  }
  return undefined
}

/**
 * Distinct names kept per offender dimension. A trace can name without end (a module name per
 * load in a churn workload, a comm per task): past this many, the table keeps the higher-ranked
 * half and folds the rest into per-dimension totals, so its memory is bounded by this constant,
 * not by the trace. Real captures name a few dozen; the top rows of a trace with more are the
 * heavy hitters, which stay.
 */
export const MAX_OFFENDER_NAMES = 4096

/** Rows dropped from one dimension of the offender table, summed. */
export interface FoldedOffenders {
  names: number
  calls: number
  tablePagesAllocated: number
  tablePagesFreed: number
  splits: number
}

function rank(a: Offender, b: Offender): number {
  return b.tablePagesAllocated - a.tablePagesAllocated || b.splits - a.splits || a.name.localeCompare(b.name)
}

/** rank() for pruning: the same order of costs, ties by code units (localeCompare is slow, and which of equal rows is folded does not matter). */
function pruneRank(a: Offender, b: Offender): number {
  return b.tablePagesAllocated - a.tablePagesAllocated || b.splits - a.splits || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
}

export class OffenderTable {
  /** One map per dimension: no key string built per call. */
  private readonly by = {caller: new Map<string, Offender>(), probe: new Map<string, Offender>(), module: new Map<string, Offender>(), comm: new Map<string, Offender>()}
  /** What pruning dropped, per dimension (absent until a dimension overflows). */
  readonly folded = new Map<Offender['by'], FoldedOffenders>()

  constructor(private readonly maxNames = MAX_OFFENDER_NAMES) {}

  private get rows(): Offender[] {
    return [...this.by.caller.values(), ...this.by.probe.values(), ...this.by.module.values(), ...this.by.comm.values()]
  }

  /** Rows held, all dimensions (bounded by 4 × maxNames). */
  get size(): number {
    return this.by.caller.size + this.by.probe.size + this.by.module.size + this.by.comm.size
  }

  add(by: Offender['by'], name: string | undefined, alloc: number, freed: number, splits: number): void {
    if (!name) return
    const rows = this.by[by]
    let r = rows.get(name)
    if (!r) {
      if (rows.size >= this.maxNames) this.prune(by)
      // A flat copy: a name cut from the trace text would keep the whole chunk it came from alive.
      const own = flat(name)
      r = {by, name: own, calls: 0, tablePagesAllocated: 0, tablePagesFreed: 0, splits: 0}
      rows.set(own, r)
    }
    r.calls++
    r.tablePagesAllocated += alloc
    r.tablePagesFreed += freed
    r.splits += splits
  }

  /** Keep the higher-ranked half of a full dimension; sum the rest into `folded`. */
  private prune(by: Offender['by']): void {
    const rows = this.by[by]
    const sorted = [...rows.values()].sort(pruneRank)
    let f = this.folded.get(by)
    if (!f) this.folded.set(by, (f = {names: 0, calls: 0, tablePagesAllocated: 0, tablePagesFreed: 0, splits: 0}))
    for (let i = this.maxNames >> 1; i < sorted.length; i++) {
      const r = sorted[i]!
      rows.delete(r.name)
      f.names++
      f.calls += r.calls
      f.tablePagesAllocated += r.tablePagesAllocated
      f.tablePagesFreed += r.tablePagesFreed
      f.splits += r.splits
    }
  }

  top(n: number): Offender[] {
    const all = this.rows.filter((r) => r.tablePagesAllocated || r.splits || r.tablePagesFreed)
    all.sort(rank)
    // Keep the top n of each dimension so every view has its ranking.
    const out: Offender[] = []
    for (const by of ['caller', 'probe', 'module', 'comm'] as const) out.push(...all.filter((r) => r.by === by).slice(0, n))
    return out
  }
}
