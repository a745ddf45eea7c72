/**
 * RawRecord → TraceEvent: give a tokenized record its kernel meaning.
 *
 * Which kernel function a record is: the probed symbol in the IP field first
 * (`(set_memory_ro+0x0/0x30)` → set_memory_ro; for a return probe the function after `<-`), the
 * event name second (users name probes freely: `p_set_memory_ro_0`, `set_memory_ro_ret`,
 * `vfs_read__entry`, or short names `dm_invalid`, `cmc`, `urp`: docs/trace-text-quirks.md#event-names), and a user
 * map `--map NAME=KIND` (NAME an event or symbol; KIND a kernel function from FUNCTIONS or an
 * EventKind) overrides both. The table FUNCTIONS is data: one row per kernel function, its
 * kind/op and which arguments carry what (arch/arm64/mm/pageattr.c, mmu.c, mm/vmalloc.c,
 * mm/execmem.c; 6.1–6.19).
 *
 * Argument decoding (docs/trace-text-quirks.md#radix): look at the `0x` prefix, never assume a radix
 * from the name; `int` arguments fetched from a 64-bit register (`%x1` without `:s32`) carry
 * garbage in bits 63:32 (AAPCS64), so they are cut to 32 bits and sign-extended.
 */
import {STRUCT_PAGE_SIZE, pageToVirt} from '../model/memory.js'
import {type Kva, kvaFromBigInt, parseKva} from '../model/address.js'
import {hwMaskNames} from '../model/prot.js'
import {type DirectMapOp, type EventKind, REPEATED_ARG, type RawRecord, type SetMemoryOp, type TraceEvent} from './events.js'
import {InputError} from './source.js'

export interface NormalizeOptions {
  /** `--map NAME=KIND`: NAME is an event name or probed symbol; KIND a function of FUNCTIONS or an EventKind. */
  map?: Record<string, string>
  /** PAGE_SIZE of the traced kernel (numpages → bytes). Default 4096. */
  pageSize?: number
  /** VMEMMAP_START of the traced kernel, for set_direct_map_*(struct page *) → linear-map VA. */
  vmemmapStart?: Kva
  /** PAGE_OFFSET (start of the linear map), with vmemmapStart. */
  pageOffset?: Kva
  /** sizeof(struct page). 64 on arm64 unless a debug option grows it. */
  structPageSize?: number
}

export interface NormalizeStats {
  /** set_direct_map_* events whose struct page could not be turned into a VA (no vmemmap base given, or out of range). */
  directMapPagesWithoutVmemmap: number
  /** Events whose address/size arguments did not decode (kept, fields left undefined). */
  badArgs: number
}

type Decoder = (n: Normalizer, rec: RawRecord, ev: TraceEvent) => void

interface FnSpec {
  kind: EventKind
  op?: SetMemoryOp | DirectMapOp
  decode?: Decoder
  /** The function returns int (sign-extend 32 bits of a return value). */
  retInt?: boolean
  /** The function returns a pointer (a return probe's value is an address). */
  retPtr?: boolean
}

const ARG_ADDR = ['addr', 'start', 'arg1', 'va_start', 'ptr']
const ARG_NUMPAGES = ['numpages', 'arg2']
const ARG_SIZE = ['size', 'arg2']
const ARG_SPLIT_START = ['start', 'addr', 'arg1']
const ARG_SPLIT_END = ['end', 'arg2']
const ARG_SPLIT_ADDR = ['addr', 'start', 'arg1']
const ARG_PAGE = ['page', 'arg1']
const ARG_SET_MASK = ['set_mask', 'set', 'arg3']
const ARG_CLEAR_MASK = ['clear_mask', 'clear', 'arg4']
const RET_ARGS = ['ret', '$retval', 'retval', 'arg1']

/** Fused decoders (Normalizer.fusedPlan): which decoder a plan mirrors. */
const F_NONE = 0
const F_RET = 1
const F_SET_MEMORY = 2
const F_CHANGE_COMMON = 3
const F_CHANGE_BYTES = 4
const F_SPLIT_RANGE = 5
const F_SPLIT_ADDR = 6
const F_DIRECT_MAP = 7

/** How the lines of one probe become events on the fused fast path (Normalizer.fusedPlan). */
export interface FusedPlan {
  /** The normalizer the plan was made by (options and --map differ between readTrace calls). */
  owner: Normalizer
  kind: EventKind
  fn: string
  probe: string
  op: SetMemoryOp | DirectMapOp | undefined
  decode: number
  /** Argument positions (in the probe's argument names) of the decoder's values; -1 absent. */
  a: number
  b: number
  set: number
  clear: number
  retInt: boolean
  /** The last mask / return texts seen and what they decoded to (they rarely change). */
  setText: string
  setMask: {mask: bigint; names: string[]} | undefined
  clearText: string
  clearMask: {mask: bigint; names: string[]} | undefined
  retText: string
  ret: bigint | undefined
}

function pick(args: Record<string, string>, names: readonly string[]): string | undefined {
  for (let i = 0; i < names.length; i++) {
    const v = args[names[i]!]
    if (v !== undefined) return v
  }
  return undefined
}

/** set_memory_ro/rw/x/nx(unsigned long addr, int numpages): pageattr.c. */
const decodeSetMemory: Decoder = (n, rec, ev) => {
  n.decodeAddr(rec, ev, pick(rec.args, ARG_ADDR))
  n.decodePages(rec, ev, pick(rec.args, ARG_NUMPAGES))
}

/** set_memory_valid(unsigned long addr, int numpages, int enable). */
const decodeSetMemoryValid: Decoder = (n, rec, ev) => {
  decodeSetMemory(n, rec, ev)
  const en = pick(rec.args, ['enable', 'arg3'])
  if (en !== undefined) {
    const v = int32(en)
    if (v === undefined) n.bad(rec, 'enable', en)
    else ev.enable = v !== 0
  }
}

/**
 * set_direct_map_{invalid,default}_noflush(struct page *page) and
 * set_direct_map_valid_noflush(struct page *page, unsigned nr, bool valid) (pageattr.c, 6.1–6.19).
 */
const decodeDirectMap: Decoder = (n, rec, ev) => {
  const text = pick(rec.args, ARG_PAGE)
  ev.addrText = text
  const page = text === undefined ? undefined : parseAddr(text)
  if (page === undefined) {
    n.bad(rec, 'page', text)
  } else ev.page = page
  let pages = 1
  if (ev.op === 'valid') {
    const nr = pick(rec.args, ['nr', 'arg2'])
    const v = nr === undefined ? undefined : uint32(nr)
    if (v === undefined) n.bad(rec, 'nr', nr)
    else pages = v
    const valid = pick(rec.args, ['valid', 'arg3'])
    if (valid !== undefined) {
      const b = uint32(valid)
      if (b !== undefined) ev.enable = b % 256 !== 0
    }
  }
  ev.pages = pages
  ev.size = pages * n.pageSize
  if (page !== undefined) ev.addr = n.pageToVirt(page)
  if (ev.addr === undefined) n.stats.directMapPagesWithoutVmemmap++
}

/** change_memory_common(unsigned long addr, int numpages, pgprot_t set_mask, pgprot_t clear_mask). */
const decodeChangeMemoryCommon: Decoder = (n, rec, ev) => {
  decodeSetMemory(n, rec, ev)
  n.decodeMasks(rec, ev)
}

/** __change_memory_common / update_range_prot(unsigned long start, unsigned long size, set, clear). */
const decodeChangeRangeBytes: Decoder = (n, rec, ev) => {
  n.decodeAddr(rec, ev, pick(rec.args, ARG_ADDR))
  const sz = pick(rec.args, ARG_SIZE)
  const v = sz === undefined ? undefined : uint(sz)
  if (v === undefined) n.bad(rec, 'size', sz)
  else {
    ev.size = v
    if (v % n.pageSize === 0) ev.pages = v / n.pageSize
  }
  n.decodeMasks(rec, ev)
}

/** split_kernel_leaf_mapping(unsigned long start, unsigned long end) (mmu.c, 6.18+). */
const decodeSplitRange: Decoder = (n, rec, ev) => {
  n.decodeAddr(rec, ev, pick(rec.args, ARG_SPLIT_START))
  const e = pick(rec.args, ARG_SPLIT_END)
  if (e !== undefined) {
    const end = parseAddr(e)
    if (end === undefined) n.bad(rec, 'end', e)
    else {
      ev.end = end
      if (ev.addr !== undefined && end >= ev.addr) ev.size = end - ev.addr
    }
  }
}

/** split_kernel_leaf_mapping_locked(unsigned long addr) (mmu.c, 6.19). */
const decodeSplitAddr: Decoder = (n, rec, ev) => {
  n.decodeAddr(rec, ev, pick(rec.args, ARG_SPLIT_ADDR))
}

/** vmalloc:alloc_vmap_area: `va_start: %lu size=%lu …` (decimal va_start); execmem_alloc(type, size). */
const decodeVmAlloc: Decoder = (n, rec, ev) => {
  const a = pick(rec.args, ['va_start', 'addr', 'ptr'])
  if (a !== undefined) n.decodeAddr(rec, ev, a)
  const sz = pick(rec.args, ['size'])
  if (sz !== undefined) {
    const v = uint(sz)
    if (v === undefined) n.bad(rec, 'size', sz)
    else {
      ev.size = v
      if (v % n.pageSize === 0) ev.pages = v / n.pageSize
    }
  }
}

/** vfree(const void *addr), execmem_free(void *ptr), vmalloc:free_vmap_area_noflush va_start=0x…. */
const decodeVmFree: Decoder = (n, rec, ev) => {
  n.decodeAddr(rec, ev, pick(rec.args, ['addr', 'ptr', 'va_start', 'arg1']))
}

/** module:module_load `"%s %s", name, taints` / module:module_free `"%s"`: the name. */
const decodeModule: Decoder = (_n, rec, ev) => {
  const t = (rec.text ?? '').trim()
  const sp = t.indexOf(' ')
  ev.text = sp < 0 ? t : t.slice(0, sp)
}

/**
 * __vmap_pages_range_noflush(addr, end, prot, page_shift) (mm/vmalloc.c, v7.3) and
 * ioremap_page_range(addr, end, phys_addr, prot) (mm/vmalloc.c, v7.3; page_shift: the largest leaf
 * vmap_range_noflush() may use, left undefined).
 */
const decodeVmap: Decoder = (n, rec, ev) => {
  n.decodeAddr(rec, ev, pick(rec.args, ['addr', 'start', 'arg1']))
  const e = pick(rec.args, ['end', 'arg2'])
  const end = e === undefined ? undefined : parseAddr(e)
  if (end === undefined) n.bad(rec, 'an end address', e)
  else {
    ev.end = end
    if (ev.addr !== undefined && end >= ev.addr) ev.size = end - ev.addr
  }
  const prot = pick(rec.args, ['prot'])
  if (prot !== undefined) ev.prot = u64(prot)
  const phys = pick(rec.args, ['phys_addr', 'phys'])
  if (phys !== undefined) ev.phys = u64(phys)
  const ps = pick(rec.args, ['page_shift'])
  if (ps !== undefined) {
    const v = uint32(ps)
    if (v === undefined || v > 63) n.bad(rec, 'page_shift', ps)
    else ev.pageShift = v
  }
}

/** vmalloc:purge_vmap_area_lazy `start=0x… end=0x… num_purged=%u` (include/trace/events/vmalloc.h, v7.3). */
const decodeVmPurge: Decoder = (n, rec, ev) => {
  const s = pick(rec.args, ['start'])
  const e = pick(rec.args, ['end'])
  const start = s === undefined ? undefined : u64(s)
  const end = e === undefined ? undefined : u64(e)
  // An empty purge prints start=ULONG_MAX end=0.
  if (start !== undefined && end !== undefined && end > start) {
    n.decodeAddr(rec, ev, s)
    ev.end = parseAddr(e!)
  }
  const np = pick(rec.args, ['num_purged', 'npurged'])
  if (np !== undefined) ev.pages = uint(np)
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

const EVENT_KINDS: ReadonlySet<string> = new Set<EventKind>([
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
interface Resolved {
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

function isReturnName(event: string): boolean {
  return /^r\d*_/.test(event) || /(__exit|_ret|_return|_retprobe)$/.test(event)
}

/** Parse a kernel address in any radix the formats use (docs/trace-text-quirks.md#radix). */
export function parseAddr(text: string): Kva | undefined {
  const c0 = text.charCodeAt(0)
  if (c0 === 48 /* 0 */ && (text.charCodeAt(1) | 32) === 120 /* x */) {
    if (text.length === 18 && (text.charCodeAt(2) | 32) === 102 && (text.charCodeAt(3) | 32) === 102 && (text.charCodeAt(4) | 32) === 102) {
      // 0xfffXXXXXXXXXXXXX: the 13 low digits are the Kva (model/address.ts), exact in a double
      let v = 0
      for (let i = 5; i < 18; i++) {
        const d = hexVal(text.charCodeAt(i))
        if (d < 0) return undefined
        v = v * 16 + d
      }
      return v
    }
    return parseKva(text)
  }
  if (/^[0-9a-f]{9,16}$/.test(text) && /[a-f]/.test(text)) return parseKva('0x' + text) // bare hex (%lx)
  if (/^-\d{1,19}$/.test(text)) {
    const v = BigInt(text)
    return v < -I64_LIMIT ? undefined : kvaFromBigInt(BigInt.asUintN(64, v))
  }
  if (/^\d{1,20}$/.test(text)) {
    if (text.length < 19) return undefined // below 0xfff0000000000000 = 18442240474082181120
    return kvaFromBigInt(BigInt(text))
  }
  return undefined
}

/** parseAddr() of `line[s, e)`, without a slice for the common `0xfff…` (18 characters) form. */
export function parseAddrAt(line: string, s: number, e: number): Kva | undefined {
  if (e - s === 18 && line.charCodeAt(s) === 48 && (line.charCodeAt(s + 1) | 32) === 120 && (line.charCodeAt(s + 2) | 32) === 102 && (line.charCodeAt(s + 3) | 32) === 102 && (line.charCodeAt(s + 4) | 32) === 102) {
    let v = 0
    for (let i = s + 5; i < e; i++) {
      const d = hexVal(line.charCodeAt(i))
      if (d < 0) return undefined
      v = v * 16 + d
    }
    return v
  }
  return parseAddr(line.slice(s, e))
}

/** int32() of `line[s, e)`: in place for `0x` + 1–8 hex digits, else via the text. */
export function int32At(line: string, s: number, e: number): number | undefined {
  const len = e - s
  if (len >= 3 && len <= 10 && line.charCodeAt(s) === 48 && line.charCodeAt(s + 1) === 120) {
    let v = 0
    for (let i = s + 2; i < e; i++) {
      const d = hexVal(line.charCodeAt(i))
      if (d < 0) return undefined
      v = v * 16 + d
    }
    return v >= 2 ** 31 ? v - 2 ** 32 : v
  }
  return int32(line.slice(s, e))
}

/** uint() of `line[s, e)`: in place for `0x` + 1–13 hex digits (exact in a double), else via the text. */
export function uintAt(line: string, s: number, e: number): number | undefined {
  const len = e - s
  if (len >= 3 && len <= 15 && line.charCodeAt(s) === 48 && line.charCodeAt(s + 1) === 120) {
    let v = 0
    for (let i = s + 2; i < e; i++) {
      const d = hexVal(line.charCodeAt(i))
      if (d < 0) return undefined
      v = v * 16 + d
    }
    return v
  }
  return uint(line.slice(s, e))
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48
  const l = c | 32
  if (l >= 97 && l <= 102) return l - 87
  return -1
}

/** Unsigned value (size, count) as an exact number; undefined when not a number or ≥ 2^53. */
export function uint(text: string): number | undefined {
  let v: number
  if (text.charCodeAt(0) === 48 && (text.charCodeAt(1) | 32) === 120) {
    if (text.length < 3 || !/^0x[0-9a-fA-F]+$/.test(text)) return undefined
    v = Number.parseInt(text.slice(2), 16)
  } else if (/^\d+$/.test(text)) v = Number(text)
  else return undefined
  return Number.isSafeInteger(v) ? v : undefined
}

/** Low 32 bits of a register value (hex, decimal or negative decimal), as an unsigned number. */
export function uint32(text: string): number | undefined {
  if (text.charCodeAt(0) === 48 && (text.charCodeAt(1) | 32) === 120) {
    if (text.length < 3 || text.length > 18 || !/^0x[0-9a-fA-F]+$/.test(text)) return undefined
    return Number.parseInt(text.length > 10 ? text.slice(-8) : text.slice(2), 16)
  }
  if (/^-?\d{1,20}$/.test(text)) return Number(BigInt.asUintN(32, BigInt(text)))
  return undefined
}

/** An `int` argument: low 32 bits, sign-extended (AAPCS64 leaves bits 63:32 unknown). */
export function int32(text: string): number | undefined {
  const u = uint32(text)
  if (u === undefined) return undefined
  return u >= 2 ** 31 ? u - 2 ** 32 : u
}

const U64_LIMIT = 1n << 64n
const I64_LIMIT = 1n << 63n

/** A full 64-bit value: hex, decimal or negative decimal; undefined when it does not fit 64 bits. */
export function u64(text: string): bigint | undefined {
  if (/^0x[0-9a-fA-F]{1,16}$/.test(text)) return BigInt(text)
  if (/^-?\d{1,20}$/.test(text)) {
    // %lu up to 2^64 - 1, or %ld down to -2^63 (two's complement): anything else does not fit
    // the register it was printed from, and must not wrap silently.
    const v = BigInt(text)
    if (v >= U64_LIMIT || v < -I64_LIMIT) return undefined
    return BigInt.asUintN(64, v)
  }
  if (/^[0-9a-f]{1,16}$/.test(text)) return BigInt('0x' + text)
  return undefined
}

export class Normalizer {
  readonly pageSize: number
  readonly stats: NormalizeStats = {directMapPagesWithoutVmemmap: 0, badArgs: 0}
  /** Called for each decoding problem (the caller counts/caps them). */
  onDiagnostic: (d: {src: RawRecord['src']; code: string; message: string}) => void = () => {}
  private readonly map: Record<string, {fn?: string; kind?: EventKind}>
  private readonly cache = new Map<string, Resolved[]>()
  private readonly maskCache = new Map<string, {mask: bigint; names: string[]}>()
  private readonly vmemmapStart?: Kva
  private readonly pageOffset?: Kva
  private readonly structPageSize: number

  constructor(opts: NormalizeOptions = {}) {
    this.pageSize = opts.pageSize ?? 4096
    if (!(this.pageSize > 0 && Number.isInteger(Math.log2(this.pageSize)))) {
      throw new InputError(`page size ${opts.pageSize}: expected a power of two (4096, 16384, 65536)`)
    }
    this.vmemmapStart = opts.vmemmapStart
    this.pageOffset = opts.pageOffset
    this.structPageSize = opts.structPageSize ?? STRUCT_PAGE_SIZE
    this.map = Object.create(null)
    for (const [name, target] of Object.entries(opts.map ?? {})) {
      if (FUNCTIONS[target]) this.map[name] = {fn: target}
      else if (EVENT_KINDS.has(target)) this.map[name] = {kind: target as EventKind}
      else {
        throw new InputError(
          `--map ${name}=${target}: expected a kernel function (${Object.keys(FUNCTIONS).slice(0, 6).join(', ')}, …) or an event kind (${[...EVENT_KINDS].join(', ')})`,
        )
      }
    }
  }

  /**
   * arm64 page_to_virt() (arch/arm64/include/asm/memory.h):
   * VA = PAGE_OFFSET + (page − VMEMMAP_START) / sizeof(struct page) × PAGE_SIZE.
   * Undefined when no vmemmap base was given or the pointer is not a struct page in vmemmap.
   */
  pageToVirt(page: Kva): Kva | undefined {
    if (this.vmemmapStart === undefined || this.pageOffset === undefined) return undefined
    return pageToVirt(page, this.vmemmapStart, this.pageOffset, this.pageSize, this.structPageSize)
  }

  bad(rec: RawRecord, what: string, text: string | undefined): void {
    this.stats.badArgs++
    this.onDiagnostic({
      src: rec.src,
      code: 'bad-arg',
      message: `${rec.src.file}:${rec.src.line}: ${rec.event}: expected ${what} ${text === undefined ? 'argument' : 'value'}, got ${text === undefined ? 'none' : `'${text}'`}`,
    })
  }

  decodeAddr(rec: RawRecord, ev: TraceEvent, text: string | undefined): void {
    ev.addrText = text
    const a = text === undefined ? undefined : parseAddr(text)
    if (a === undefined) this.bad(rec, 'a kernel address', text)
    else ev.addr = a
  }

  decodePages(rec: RawRecord, ev: TraceEvent, text: string | undefined): void {
    const p = text === undefined ? undefined : int32(text)
    if (p === undefined) {
      this.bad(rec, 'numpages', text)
      return
    }
    ev.pages = p
    if (p >= 0) ev.size = p * this.pageSize
  }

  decodeMasks(rec: RawRecord, ev: TraceEvent): void {
    const s = pick(rec.args, ARG_SET_MASK)
    const c = pick(rec.args, ARG_CLEAR_MASK)
    const sm = s === undefined ? undefined : this.mask(s)
    const cm = c === undefined ? undefined : this.mask(c)
    if (sm) {
      ev.setMask = sm.mask
      ev.setNames = sm.names
    } else this.bad(rec, 'set_mask', s)
    if (cm) {
      ev.clearMask = cm.mask
      ev.clearNames = cm.names
    } else this.bad(rec, 'clear_mask', c)
  }

  private mask(text: string): {mask: bigint; names: string[]} | undefined {
    let m = this.maskCache.get(text)
    if (!m) {
      const v = u64(text)
      if (v === undefined) return undefined
      m = {mask: v, names: hwMaskNames(v)}
      if (this.maskCache.size < 4096) this.maskCache.set(text, m)
    }
    return m
  }

  private resolve(rec: RawRecord): Resolved {
    const event = rec.event
    let list = this.cache.get(event)
    if (list) {
      for (let i = 0; i < list.length; i++) {
        const r = list[i]!
        if (r.sym === rec.probeSymbol && r.ret === rec.returnFrom) return r
      }
    } else {
      // bounded: a file of garbage event names must not grow the cache without limit
      if (this.cache.size >= 4096) this.cache.clear()
      list = []
      this.cache.set(event, list)
    }
    const r = this.resolveSlow(rec)
    if (list.length < 16) list.push(r)
    return r
  }

  private resolveSlow(rec: RawRecord): Resolved {
    const event = rec.event
    const sym = rec.probeSymbol === undefined ? undefined : baseSymbol(rec.probeSymbol)
    const retSym = rec.returnFrom !== undefined && !rec.returnFrom.startsWith('0x') ? baseSymbol(rec.returnFrom) : undefined
    const byName = functionFromEventName(event)
    let isReturn = rec.returnFrom !== undefined || (byName?.ret ?? false) || (sym === undefined && isReturnName(event))
    const base = {sym, ret: rec.returnFrom}
    const isMarker =
      event === 'tracing_mark_write' ||
      ((event === 'print' || rec.group === 'ftrace') && (rec.text ?? '').startsWith('tracing_mark_write: '))
    // 1. the user's map, by event name then by symbol
    const m = this.map[event] ?? (retSym ? this.map[retSym] : undefined) ?? (sym ? this.map[sym] : undefined)
    if (m) {
      if (m.fn) {
        const spec = FUNCTIONS[m.fn]!
        return {...base, fn: m.fn, kind: isReturn ? 'return' : spec.kind, spec, isReturn, isMarker: spec.kind === 'marker'}
      }
      const kind = m.kind!
      if (kind === 'return') isReturn = true
      const fn = retSym ?? sym ?? byName?.fn ?? event
      return {...base, fn, kind, spec: FUNCTIONS[fn], isReturn, isMarker: kind === 'marker'}
    }
    if (isMarker) return {...base, fn: 'tracing_mark_write', kind: 'marker', spec: FUNCTIONS.tracing_mark_write, isReturn: false, isMarker}
    // 2. the probed symbol
    const s = isReturn ? retSym : sym
    if (s !== undefined && FUNCTIONS[s]) {
      const spec = FUNCTIONS[s]
      return {...base, fn: s, kind: isReturn ? 'return' : spec.kind, spec, isReturn, isMarker: false}
    }
    // 3. the event name
    if (byName && (s === undefined || rec.probeIp !== undefined)) {
      const spec = FUNCTIONS[byName.fn]!
      return {...base, fn: byName.fn, kind: isReturn ? 'return' : spec.kind, spec, isReturn, isMarker: false}
    }
    if (byName && s !== undefined) {
      // the IP names an unrelated function but the name is a known one: trust the IP (users name freely)
      return {...base, fn: s, kind: isReturn ? 'return' : 'other', spec: undefined, isReturn, isMarker: false}
    }
    return {...base, fn: s ?? retSym ?? event, kind: isReturn ? 'return' : 'other', spec: undefined, isReturn, isMarker: false}
  }

  /**
   * What a fused reader fast path (tracefs fastProbeEvent) does with the lines of one probe:
   * event name, probed symbol, return-from and the argument names in order, as the line shows
   * them. Undefined when normalize() would do more than the fused decoders do (markers, free
   * text, vm_alloc/vfree/module/set_memory_valid/set_direct_map_valid decoders, user maps to a
   * kind without a function, a required argument missing): those lines take the RawRecord path.
   * The plan reads the arguments normalize() would pick (the same pick lists, resolved once to
   * positions in `argNames`).
   */
  fusedPlan(event: string, probeSymbol: string | undefined, returnFrom: string | undefined, argNames: readonly string[]): FusedPlan | undefined {
    // resolveSlow, not resolve: the memo keyed by (event, symbol, return-from) is left to
    // normalize(), filled in the same order as without the fused path. `print` is excluded: only
    // it resolves differently with a text (ftrace print of a marker), and fused lines have none.
    if (event === 'print') return undefined
    const r = this.resolveSlow({event, probeSymbol, returnFrom, args: {}} as unknown as RawRecord)
    if (r.isMarker) return undefined
    const at = (names: readonly string[]): number => {
      for (let i = 0; i < names.length; i++) {
        const k = argNames.indexOf(names[i]!)
        if (k >= 0) return k
      }
      return -1
    }
    const plan: FusedPlan = {owner: this, kind: r.kind, fn: r.fn, probe: event, op: r.spec?.op, decode: F_NONE, a: -1, b: -1, set: -1, clear: -1, retInt: false, setText: '', setMask: undefined, clearText: '', clearMask: undefined, retText: '', ret: undefined}
    if (r.isReturn) {
      if (r.spec?.retPtr) return undefined
      let k = at(RET_ARGS)
      if (k < 0 && argNames.length === 1) k = 0 // singleArg()
      if (k >= 0) {
        plan.decode = F_RET
        plan.a = k
        plan.retInt = r.spec?.retInt === true
      }
      return plan
    }
    const decode = r.spec?.decode
    if (decode === undefined) return plan
    if (decode === decodeSetMemory || decode === decodeChangeMemoryCommon) {
      plan.decode = decode === decodeSetMemory ? F_SET_MEMORY : F_CHANGE_COMMON
      plan.a = at(ARG_ADDR)
      plan.b = at(ARG_NUMPAGES)
    } else if (decode === decodeChangeRangeBytes) {
      plan.decode = F_CHANGE_BYTES
      plan.a = at(ARG_ADDR)
      plan.b = at(ARG_SIZE)
    } else if (decode === decodeSplitRange) {
      plan.decode = F_SPLIT_RANGE
      plan.a = at(ARG_SPLIT_START)
      plan.b = at(ARG_SPLIT_END)
      return plan.a < 0 ? undefined : plan
    } else if (decode === decodeSplitAddr) {
      plan.decode = F_SPLIT_ADDR
      plan.a = at(ARG_SPLIT_ADDR)
      return plan.a < 0 ? undefined : plan
    } else if (decode === decodeDirectMap && plan.op !== 'valid') {
      plan.decode = F_DIRECT_MAP
      plan.a = at(ARG_PAGE)
      return plan.a < 0 ? undefined : plan
    } else return undefined
    if (plan.a < 0 || plan.b < 0) return undefined
    if (plan.decode === F_CHANGE_COMMON || plan.decode === F_CHANGE_BYTES) {
      plan.set = at(ARG_SET_MASK)
      plan.clear = at(ARG_CLEAR_MASK)
      if (plan.set < 0 || plan.clear < 0) return undefined
    }
    return plan
  }

  /**
   * Decode the arguments of a fused event: value k of the line is `line[vs[k], ve[k])`. Sets the
   * fields normalize() sets for the plan's decoder and returns true; returns false, changing no
   * state but `ev`, when a value is not one the decoder accepts (the caller then discards `ev`
   * and the RawRecord path reports it).
   */
  decodeFused(plan: FusedPlan, line: string, vs: Int32Array, ve: Int32Array, ev: TraceEvent): boolean {
    switch (plan.decode) {
      case F_NONE:
        return true
      case F_RET: {
        const s = vs[plan.a]!
        const e = ve[plan.a]!
        if (plan.ret !== undefined && e - s === plan.retText.length && line.startsWith(plan.retText, s)) {
          ev.ret = plan.ret
          return true
        }
        const text = line.slice(s, e)
        const x = u64(text)
        if (x === undefined) return false
        ev.ret = plan.retInt ? BigInt.asIntN(32, x) : x
        plan.retText = text
        plan.ret = ev.ret
        return true
      }
      case F_SPLIT_ADDR:
        return this.fusedAddr(line, vs[plan.a]!, ve[plan.a]!, ev)
      case F_SPLIT_RANGE: {
        if (!this.fusedAddr(line, vs[plan.a]!, ve[plan.a]!, ev)) return false
        if (plan.b < 0) return true
        const end = parseAddrAt(line, vs[plan.b]!, ve[plan.b]!)
        if (end === undefined) return false
        ev.end = end
        if (ev.addr !== undefined && end >= ev.addr) ev.size = end - ev.addr
        return true
      }
      case F_DIRECT_MAP: {
        const text = line.slice(vs[plan.a]!, ve[plan.a]!)
        const page = parseAddr(text)
        if (page === undefined) return false
        ev.addrText = text
        ev.page = page
        ev.pages = 1
        ev.size = this.pageSize
        ev.addr = this.pageToVirt(page)
        if (ev.addr === undefined) this.stats.directMapPagesWithoutVmemmap++
        return true
      }
      case F_SET_MEMORY:
      case F_CHANGE_COMMON: {
        if (!this.fusedAddr(line, vs[plan.a]!, ve[plan.a]!, ev)) return false
        const p = int32At(line, vs[plan.b]!, ve[plan.b]!)
        if (p === undefined) return false
        ev.pages = p
        if (p >= 0) ev.size = p * this.pageSize
        return plan.decode === F_SET_MEMORY || this.fusedMasks(plan, line, vs, ve, ev)
      }
      case F_CHANGE_BYTES: {
        if (!this.fusedAddr(line, vs[plan.a]!, ve[plan.a]!, ev)) return false
        const v = uintAt(line, vs[plan.b]!, ve[plan.b]!)
        if (v === undefined) return false
        ev.size = v
        if (v % this.pageSize === 0) ev.pages = v / this.pageSize
        return this.fusedMasks(plan, line, vs, ve, ev)
      }
    }
    return false
  }

  private fusedAddr(line: string, s: number, e: number, ev: TraceEvent): boolean {
    const a = parseAddrAt(line, s, e)
    if (a === undefined) return false
    ev.addrText = line.slice(s, e)
    ev.addr = a
    return true
  }

  private fusedMasks(plan: FusedPlan, line: string, vs: Int32Array, ve: Int32Array, ev: TraceEvent): boolean {
    let s = vs[plan.set]!
    let e = ve[plan.set]!
    if (plan.setMask === undefined || e - s !== plan.setText.length || !line.startsWith(plan.setText, s)) {
      const text = line.slice(s, e)
      const m = this.mask(text)
      if (m === undefined) return false
      plan.setText = text
      plan.setMask = m
    }
    s = vs[plan.clear]!
    e = ve[plan.clear]!
    if (plan.clearMask === undefined || e - s !== plan.clearText.length || !line.startsWith(plan.clearText, s)) {
      const text = line.slice(s, e)
      const m = this.mask(text)
      if (m === undefined) return false
      plan.clearText = text
      plan.clearMask = m
    }
    ev.setMask = plan.setMask.mask
    ev.setNames = plan.setMask.names
    ev.clearMask = plan.clearMask.mask
    ev.clearNames = plan.clearMask.names
    return true
  }

  normalize(rec: RawRecord): TraceEvent {
    const repeated = (rec.args as Record<string | symbol, string>)[REPEATED_ARG]
    if (repeated !== undefined) {
      this.onDiagnostic({src: rec.src, code: 'repeated-arg', message: `${rec.src.file}:${rec.src.line}: ${rec.event}: argument ${repeated} given twice; the first value is kept`})
    }
    const r = this.resolve(rec)
    const ev: TraceEvent = {
      kind: r.kind,
      fn: r.fn,
      probe: rec.event,
      tsNs: rec.tsNs,
      cpu: rec.cpu,
      pid: rec.pid,
      comm: rec.comm,
      addr: undefined,
      addrText: undefined,
      end: undefined,
      size: undefined,
      pages: undefined,
      op: r.spec?.op,
      enable: undefined,
      setMask: undefined,
      clearMask: undefined,
      setNames: undefined,
      clearNames: undefined,
      page: undefined,
      ret: undefined,
      text: undefined,
      stack: rec.stack,
      args: rec.args,
      src: rec.src,
    }
    if (r.isMarker) {
      const arg = rec.args.text
      if (arg !== undefined) {
        // a kprobe on tracing_mark_write with `text=+0(%x1):ustring` (capture-script --tool perf/bpftrace)
        ev.text = arg.length >= 2 && arg.startsWith('"') && arg.endsWith('"') ? arg.slice(1, -1) : arg
      } else {
        const t = rec.text ?? ''
        ev.text = rec.event === 'tracing_mark_write' ? t : t.slice('tracing_mark_write: '.length)
      }
      return ev
    }
    if (r.isReturn) {
      const v = pick(rec.args, RET_ARGS) ?? singleArg(rec.args)
      if (v !== undefined) {
        const x = u64(v)
        if (x === undefined) this.bad(rec, 'return value', v)
        else if (r.spec?.retInt) ev.ret = BigInt.asIntN(32, x)
        else {
          ev.ret = x
          if (r.spec?.retPtr) {
            ev.addrText = v
            ev.addr = kvaFromBigInt(x)
          }
        }
      }
      return ev
    }
    if (r.spec?.decode) r.spec.decode(this, rec, ev)
    else if (ev.kind === 'other' && rec.text !== undefined) ev.text = rec.text
    return ev
  }
}

function singleArg(args: Record<string, string>): string | undefined {
  let v: string | undefined
  let n = 0
  for (const k in args) {
    v = args[k]
    if (++n > 1) return undefined
  }
  return v
}
