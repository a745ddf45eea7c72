/**
 * The kernel functions (and tracepoints) a trace may probe, with a meaning for the replay: the
 * table FUNCTIONS is data, one row per kernel function, its kind/op and the decoder of its
 * arguments (arch/arm64/mm/pageattr.c, mmu.c, mm/vmalloc.c, mm/execmem.c; 6.1–6.19); and how an
 * event name or a probed symbol names one of them (docs/trace-text-quirks.md#event-names).
 */
import type {DirectMapOp, EventKind, SetMemoryOp} from '../events.js'
import {
  type Decoder,
  decodeChangeMemoryCommon,
  decodeChangeRangeBytes,
  decodeModule,
  decodeSetMemory,
  decodeSetMemoryValid,
  decodeSplitAddr,
  decodeSplitRange,
  decodeVmAlloc,
  decodeVmFree,
  decodeVmap,
  decodeVmPurge,
} from './args.js'
import {decodeDirectMap} from './direct-map.js'

export interface FnSpec {
  kind: EventKind
  op?: SetMemoryOp | DirectMapOp
  decode?: Decoder
  /** The function returns int (sign-extend 32 bits of a return value). */
  retInt?: boolean
  /** The function returns a pointer (a return probe's value is an address). */
  retPtr?: boolean
}

const SM = (op: SetMemoryOp): FnSpec => ({kind: 'set_memory', op, decode: decodeSetMemory, retInt: true})
const DM = (op: DirectMapOp): FnSpec => ({kind: 'set_direct_map', op, decode: decodeDirectMap, retInt: true})

/** Kernel functions (and tracepoints) with a meaning for the replay. */
export const FUNCTIONS: Readonly<Record<string, FnSpec>> = {
  set_memory_ro: SM('ro'),
  set_memory_rw: SM('rw'),
  set_memory_x: SM('x'),
  set_memory_nx: SM('nx'),
  // x86 only; on arm64 the generic set_memory_rox() is ro + x (include/linux/set_memory.h)
  set_memory_rox: SM('rox'),
  set_memory_valid: {kind: 'set_memory_valid', decode: decodeSetMemoryValid, retInt: true},
  set_direct_map_invalid_noflush: DM('invalid'),
  set_direct_map_default_noflush: DM('default'),
  set_direct_map_valid_noflush: DM('valid'),
  change_memory_common: {kind: 'change_range', decode: decodeChangeMemoryCommon, retInt: true},
  __change_memory_common: {kind: 'change_range', decode: decodeChangeRangeBytes, retInt: true},
  update_range_prot: {kind: 'change_range', decode: decodeChangeRangeBytes, retInt: true},
  split_kernel_leaf_mapping: {kind: 'split_call', decode: decodeSplitRange, retInt: true},
  split_kernel_leaf_mapping_locked: {kind: 'split_call', decode: decodeSplitAddr, retInt: true},
  split_pud: {kind: 'split_primitive', retInt: true},
  split_pmd: {kind: 'split_primitive', retInt: true},
  split_contpmd: {kind: 'split_primitive'},
  split_contpte: {kind: 'split_primitive'},
  // __vmalloc_node_range became __vmalloc_node_range_noprof in 6.10 (memory allocation profiling)
  __vmalloc_node_range: {kind: 'vm_alloc', decode: decodeVmAlloc, retPtr: true},
  __vmalloc_node_range_noprof: {kind: 'vm_alloc', decode: decodeVmAlloc, retPtr: true},
  execmem_alloc: {kind: 'vm_alloc', decode: decodeVmAlloc, retPtr: true},
  execmem_alloc_rw: {kind: 'vm_alloc', decode: decodeVmAlloc, retPtr: true},
  alloc_vmap_area: {kind: 'vm_alloc', decode: decodeVmAlloc},
  vfree: {kind: 'vm_free', decode: decodeVmFree},
  vfree_atomic: {kind: 'vm_free', decode: decodeVmFree},
  execmem_free: {kind: 'vm_free', decode: decodeVmFree},
  free_vmap_area_noflush: {kind: 'vm_free', decode: decodeVmFree},
  __vmap_pages_range_noflush: {kind: 'vmap', decode: decodeVmap},
  vmap_pages_range_noflush: {kind: 'vmap', decode: decodeVmap},
  ioremap_page_range: {kind: 'vmap', decode: decodeVmap},
  __vunmap_range_noflush: {kind: 'vunmap', decode: decodeVmap},
  vunmap_range_noflush: {kind: 'vunmap', decode: decodeVmap},
  purge_vmap_area_lazy: {kind: 'vm_purge', decode: decodeVmPurge},
  module_load: {kind: 'module_load', decode: decodeModule},
  module_free: {kind: 'module_free', decode: decodeModule},
  tracing_mark_write: {kind: 'marker'},
}

/** Short probe names that do not contain the function name (docs/trace-text-quirks.md#event-names). */
const EVENT_ALIASES: Readonly<Record<string, {fn: string; ret?: boolean}>> = {
  dm_invalid: {fn: 'set_direct_map_invalid_noflush'},
  dm_default: {fn: 'set_direct_map_default_noflush'},
  dm_valid: {fn: 'set_direct_map_valid_noflush'},
  cmc: {fn: '__change_memory_common'},
  urp: {fn: 'update_range_prot'},
  split: {fn: 'split_kernel_leaf_mapping'},
  smv: {fn: 'set_memory_valid'},
  vmalloc_ret: {fn: '__vmalloc_node_range_noprof', ret: true},
  vmap_pages_range: {fn: '__vmap_pages_range_noflush'},
  vunmap_range: {fn: '__vunmap_range_noflush'},
  execmem_exit: {fn: 'execmem_alloc', ret: true},
}

export const EVENT_KINDS: ReadonlySet<string> = new Set<EventKind>([
  'set_memory',
  'set_memory_valid',
  'set_direct_map',
  'change_range',
  'split_call',
  'split_primitive',
  'return',
  'vm_alloc',
  'vm_free',
  'vmap',
  'vunmap',
  'vm_purge',
  'module_load',
  'module_free',
  'marker',
  'other',
])

/** What a (event, symbol) pair resolved to. */
export interface Resolved {
  sym: string | undefined
  ret: string | undefined
  fn: string
  kind: EventKind
  spec: FnSpec | undefined
  isReturn: boolean
  isMarker: boolean
}

/** Guess the function from an event name: `p_set_memory_ro_0`, `r_x_0`, `x__entry`, `x__exit`, `x_ret`. */
export function functionFromEventName(event: string): {fn: string; ret: boolean} | undefined {
  const alias = EVENT_ALIASES[event]
  if (alias) return {fn: alias.fn, ret: alias.ret ?? false}
  if (FUNCTIONS[event]) return {fn: event, ret: false}
  let m = /^([pr])_(.+)_\d+$/.exec(event)
  if (m && FUNCTIONS[m[2]!]) return {fn: m[2]!, ret: m[1] === 'r'}
  m = /^(.+)__(entry|exit)$/.exec(event)
  if (m && FUNCTIONS[m[1]!]) return {fn: m[1]!, ret: m[2] === 'exit'}
  m = /^(.+?)_(ret|return|exit|retprobe)$/.exec(event)
  if (m && FUNCTIONS[m[1]!]) return {fn: m[1]!, ret: true}
  return undefined
}

/**
 * The function a compiler-cloned symbol belongs to: `__change_memory_common.constprop.0`,
 * `foo.isra.0`, `foo.part.1`, `foo.cold`, `foo.lto_priv.0` (GCC/LLVM clone suffixes; docs/trace-text-quirks.md#clone-suffixes).
 */
export function baseSymbol(sym: string): string {
  const dot = sym.indexOf('.')
  return dot > 0 && /^(\.(isra|constprop|part|cold|lto_priv|llvm)(\.\d+)?)+$/.test(sym.slice(dot)) ? sym.slice(0, dot) : sym
}

export function isReturnName(event: string): boolean {
  return /^r\d*_/.test(event) || /(__exit|_ret|_return|_retprobe)$/.test(event)
}
