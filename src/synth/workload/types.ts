/** The workload kinds, their options and the trace event they produce. */
import type {KernelVersion} from '../../kernel/version.js'
import type {Kva} from '../../model/address.js'

export const WORKLOAD_KINDS = ['module-churn', 'bpf-jit', 'execmem-rox', 'kfence'] as const
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number]

/** Where a workload may put its addresses. */
export interface WorkloadTarget {
  pageSize: number
  /** PAGE_OFFSET and VMEMMAP_START: page_to_virt() of the traced kernel. */
  pageOffset: Kva
  vmemmapStart: Kva
  /** Linear-map ranges of ordinary RAM (buddy pages), ascending. */
  ram: {start: Kva; end: Kva}[]
  /** The module region (execmem on arm64: modules, BPF, the ROX cache). */
  modules: {start: Kva; end: Kva}
  kfencePool: {start: Kva; end: Kva}
  /**
   * The execmem ROX cache's PMD-size huge pages (`synth machine --rox-cache`): vmalloc address and
   * linear alias of each. Absent: execmem-rox carves its own areas from holes of the module region.
   */
  roxCache?: {va: Kva; alias?: Kva}[]
}

export interface WorkloadOptions {
  kind: WorkloadKind
  /** Trace events (probe hits and markers) to emit. */
  events: number
  seed?: number
  /** [major, minor]: ≥ 6.18 emits update_range_prot under __change_memory_common and set_direct_map_*. */
  kernel?: KernelVersion
  /** rodata_full: set_memory_ro/rw also walk the linear alias (default true, the kernels' default). */
  rodataFull?: boolean
  cpus?: number
  /**
   * execmem-rox on a ROX cache: make a range writable as execmem_force_rw() does, set_memory_nx()
   * then set_memory_rw() (default true); false emits set_memory_rw() alone, the "flip it RW" of the
   * RFC's description.
   */
  execmemForceNx?: boolean
}

/** One trace event: a kprobe hit (fn + args) or a trace_marker write (text). */
export interface Hit {
  /** Microseconds since boot. */
  tsUs: number
  cpu: number
  pid: number
  comm: string
  fn: string
  /** name=value arguments as printed (hex). */
  args?: [string, string][]
  /** tracing_mark_write payload. */
  text?: string
}
