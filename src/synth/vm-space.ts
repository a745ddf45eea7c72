/**
 * Where `synth machine` puts vm areas and how it maps them: a bump allocator with vmalloc's guard
 * pages, and __create_pgd_mapping()'s leaf choice from the kernel model.
 */
import {createPgdMappingInto} from '../kernel/map-mem.js'
import {type Kva, alignUp} from '../model/address.js'
import {ModelError} from '../model/model-error.js'
import type {PageTables} from '../model/pagetable.js'
import type {Prot} from '../model/prot.js'

export interface MapOpts {
  blocks: boolean
  cont: boolean
  /** Largest leaf level allowed (vmemmap_populate() stops at PMD; default: PUD where the granule has them). */
  maxLeafLvl?: number
}

/** __create_pgd_mapping() for a non-linear range: the kernel model's leaf choice (createPgdMappingInto(), kernel/map-mem.ts). */
export function mapRange(pt: PageTables, start: Kva, end: Kva, prot: Prot, opts: MapOpts): void {
  if (start < end) createPgdMappingInto(pt, start, end, prot, opts)
}

/** A bump allocator over a VA window, with vmalloc's guard page after every area (VM_NO_GUARD unset). */
export class VmapCursor {
  constructor(
    private next: Kva,
    private readonly end: Kva,
    private readonly page: number,
  ) {}

  alloc(bytes: number, align: number): Kva {
    const a = this.tryAlloc(bytes, align)
    if (a === undefined) throw new ModelError('synthesized vmalloc allocations overflow their window')
    return a
  }

  tryAlloc(bytes: number, align: number): Kva | undefined {
    const a = alignUp(this.next, align)
    if (a + bytes + this.page > this.end) return undefined
    this.next = a + bytes + this.page
    return a
  }
}
