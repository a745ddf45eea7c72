/**
 * Argument decoding: which arguments of a probed kernel function carry what, and the decoders that
 * turn them into TraceEvent fields (arch/arm64/mm/pageattr.c, mmu.c, mm/vmalloc.c, mm/execmem.c;
 * 6.1–6.19). A decoder reports a value it cannot use through its DecodeContext (the Normalizer).
 */
import type {RawRecord, TraceEvent} from '../events.js'
import type {Kva} from '../../model/address.js'
import {int32, parseAddr, u64, uint, uint32} from './values.js'

/** What a decoder needs of the Normalizer that runs it. */
export interface DecodeContext {
  readonly pageSize: number
  readonly stats: {directMapPagesWithoutVmemmap: number}
  bad(rec: RawRecord, what: string, text: string | undefined): void
  decodeAddr(rec: RawRecord, ev: TraceEvent, text: string | undefined): void
  decodePages(rec: RawRecord, ev: TraceEvent, text: string | undefined): void
  decodeMasks(rec: RawRecord, ev: TraceEvent): void
  pageToVirt(page: Kva): Kva | undefined
}

export type Decoder = (n: DecodeContext, rec: RawRecord, ev: TraceEvent) => void

export const ARG_ADDR = ['addr', 'start', 'arg1', 'va_start', 'ptr']
export const ARG_NUMPAGES = ['numpages', 'arg2']
export const ARG_SIZE = ['size', 'arg2']
export const ARG_SPLIT_START = ['start', 'addr', 'arg1']
export const ARG_SPLIT_END = ['end', 'arg2']
export const ARG_SPLIT_ADDR = ['addr', 'start', 'arg1']
export const ARG_PAGE = ['page', 'arg1']
export const ARG_SET_MASK = ['set_mask', 'set', 'arg3']
export const ARG_CLEAR_MASK = ['clear_mask', 'clear', 'arg4']
export const RET_ARGS = ['ret', '$retval', 'retval', 'arg1']

export function pick(args: Record<string, string>, names: readonly string[]): string | undefined {
  for (let i = 0; i < names.length; i++) {
    const v = args[names[i]!]
    if (v !== undefined) return v
  }
  return undefined
}

/** set_memory_ro/rw/x/nx(unsigned long addr, int numpages): pageattr.c. */
export const decodeSetMemory: Decoder = (n, rec, ev) => {
  n.decodeAddr(rec, ev, pick(rec.args, ARG_ADDR))
  n.decodePages(rec, ev, pick(rec.args, ARG_NUMPAGES))
}

/** set_memory_valid(unsigned long addr, int numpages, int enable). */
export const decodeSetMemoryValid: Decoder = (n, rec, ev) => {
  decodeSetMemory(n, rec, ev)
  const en = pick(rec.args, ['enable', 'arg3'])
  if (en !== undefined) {
    const v = int32(en)
    if (v === undefined) n.bad(rec, 'enable', en)
    else ev.enable = v !== 0
  }
}

/** change_memory_common(unsigned long addr, int numpages, pgprot_t set_mask, pgprot_t clear_mask). */
export const decodeChangeMemoryCommon: Decoder = (n, rec, ev) => {
  decodeSetMemory(n, rec, ev)
  n.decodeMasks(rec, ev)
}

/** __change_memory_common / update_range_prot(unsigned long start, unsigned long size, set, clear). */
export const decodeChangeRangeBytes: Decoder = (n, rec, ev) => {
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
export const decodeSplitRange: Decoder = (n, rec, ev) => {
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
export const decodeSplitAddr: Decoder = (n, rec, ev) => {
  n.decodeAddr(rec, ev, pick(rec.args, ARG_SPLIT_ADDR))
}

/** vmalloc:alloc_vmap_area: `va_start: %lu size=%lu …` (decimal va_start); execmem_alloc(type, size). */
export const decodeVmAlloc: Decoder = (n, rec, ev) => {
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
export const decodeVmFree: Decoder = (n, rec, ev) => {
  const v = pick(rec.args, ['addr', 'ptr', 'va_start', 'arg1'])
  // vfree(NULL) and vfree_atomic(NULL) return at once (mm/vmalloc.c vfree(), v7.3: `if (!addr) return;`):
  // a call with nothing to free, not a bad value.
  if (v !== undefined && /^(?:0x0+|0|\(null\))$/i.test(v.trim()) && (ev.fn === 'vfree' || ev.fn === 'vfree_atomic')) return
  n.decodeAddr(rec, ev, v)
}

/** module:module_load `"%s %s", name, taints` / module:module_free `"%s"`: the name. */
export const decodeModule: Decoder = (_n, rec, ev) => {
  const t = (rec.text ?? '').trim()
  const sp = t.indexOf(' ')
  ev.text = sp < 0 ? t : t.slice(0, sp)
}

/**
 * __vmap_pages_range_noflush(addr, end, prot, page_shift) (mm/vmalloc.c, v7.3) and
 * ioremap_page_range(addr, end, phys_addr, prot) (mm/vmalloc.c, v7.3; page_shift: the largest leaf
 * vmap_range_noflush() may use, left undefined).
 */
export const decodeVmap: Decoder = (n, rec, ev) => {
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
export const decodeVmPurge: Decoder = (n, rec, ev) => {
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
