/**
 * The kernel mechanisms the replay engine calls (map_mem(), splitting, permission changes, the
 * proposed collapse). Each function mirrors the
 * kernel function of the same camelCased name; see the file it comes from for the citation.
 */
export * from './context.js'
export {
  entryAtLevel,
  linearMapMaybeSplitToPtes,
  linearMapSplitToPtes,
  lmAliasStext,
  SEGMENT_ALIGN,
  rangeSplitToPtes,
  splitContpmd,
  splitContpte,
  splitKernelLeafMapping,
  splitKernelLeafMappingLocked,
  splitPmd,
  splitPud,
} from './split.js'
export {
  __changeMemoryCommon,
  PTE_MAYBE_GP,
  applyToPageRange,
  changeMemoryCommon,
  pageAddress,
  pageattrWalk,
  rangePresent,
  setDirectMapDefaultNoflush,
  setDirectMapInvalidNoflush,
  setDirectMapValidNoflush,
  setMemoryNx,
  setMemoryRo,
  setMemoryRox,
  setMemoryRw,
  setMemoryValid,
  setMemoryX,
  updateRangeProt,
  vmResetPerms,
} from './pageattr.js'
export {type CollapseOpts, collapseAfterChange, tryCollapseAliasesOf, tryCollapseKernelPmd, tryCollapseKernelPud, tryCollapseVmallocRange} from './collapse.js'
export {collapseLargePages, cpaChangeRange, cpaCollapseLargePages} from './x86-cpa.js'
export {makeContext} from './dispatch.js'
export {type MapMemOptions, type MapMemResult, type MemBank, mapMem, pageKernelProt} from './map-mem.js'
export * from './policy.js'
export * from './infer-policy.js'
export * from './cpufeature.js'
export * from './version.js'
export {VM_ALLOC, VM_ALLOW_HUGE_VMAP, VM_IOREMAP, VM_MAP, VmAreas, type VmStruct, ioremapPageRange, protOfPgprot, vmapPagesRange, vmapRangeNoflush, vunmapRange} from './vmalloc.js'
