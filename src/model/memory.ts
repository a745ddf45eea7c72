/**
 * The arm64 vmemmap arithmetic of arch/arm64/include/asm/memory.h: a `struct page *` in the
 * vmemmap and the linear-map address of its page. memstart_addr cancels out of both directions.
 */
import {type Kva, KVA_END} from './address.js'

/** sizeof(struct page) on arm64 without debug options (struct page, include/linux/mm_types.h: 8 words). */
export const STRUCT_PAGE_SIZE = 64

/**
 * page_to_virt(page): __page_to_voff(page) | PAGE_OFFSET, __page_to_voff = (page − VMEMMAP_START)
 * * PAGE_SIZE / sizeof(struct page). undefined if `page` is not a struct page of the vmemmap (or
 * would map past 2^64).
 */
export function pageToVirt(page: Kva, vmemmapStart: Kva, pageOffset: Kva, pageSize: number, structPageSize = STRUCT_PAGE_SIZE): Kva | undefined {
  const off = page - vmemmapStart
  if (off < 0 || off % structPageSize !== 0) return undefined
  const va = pageOffset + (off / structPageSize) * pageSize
  return va < KVA_END ? va : undefined
}

/** virt_to_page(va) for a linear-map address: VMEMMAP_START + (va − PAGE_OFFSET) / PAGE_SIZE * sizeof(struct page). */
export function virtToPage(va: Kva, vmemmapStart: Kva, pageOffset: Kva, pageSize: number, structPageSize = STRUCT_PAGE_SIZE): Kva {
  return vmemmapStart + Math.floor((va - pageOffset) / pageSize) * structPageSize
}
