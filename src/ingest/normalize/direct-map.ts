/**
 * set_direct_map_*(struct page *page): the argument is a pointer into vmemmap, and the replay needs
 * the linear-map VA of that page, as arm64 page_to_virt() computes it (model/memory.ts).
 */
import {pageToVirt} from '../../model/memory.js'
import type {Kva} from '../../model/address.js'
import {ARG_PAGE, type Decoder, pick} from './args.js'
import {parseAddr, uint32} from './values.js'

/** Where the traced kernel keeps struct pages and the linear map (NormalizeOptions). */
export interface VmemmapLayout {
  /** VMEMMAP_START; undefined when not given. */
  vmemmapStart: Kva | undefined
  /** PAGE_OFFSET (start of the linear map); undefined when not given. */
  pageOffset: Kva | undefined
  pageSize: number
  /** sizeof(struct page). */
  structPageSize: number
}

/**
 * arm64 page_to_virt() (arch/arm64/include/asm/memory.h):
 * VA = PAGE_OFFSET + (page − VMEMMAP_START) / sizeof(struct page) × PAGE_SIZE.
 * Undefined when no vmemmap base was given or the pointer is not a struct page in vmemmap.
 */
export function structPageToVirt(l: VmemmapLayout, page: Kva): Kva | undefined {
  if (l.vmemmapStart === undefined || l.pageOffset === undefined) return undefined
  return pageToVirt(page, l.vmemmapStart, l.pageOffset, l.pageSize, l.structPageSize)
}

/**
 * set_direct_map_{invalid,default}_noflush(struct page *page) and
 * set_direct_map_valid_noflush(struct page *page, unsigned nr, bool valid) (pageattr.c, 6.1–6.19).
 */
export const decodeDirectMap: Decoder = (n, rec, ev) => {
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
