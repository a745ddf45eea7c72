/**
 * The probe set ptreplay captures, as data: one row per kprobe, with the kernel versions that have
 * the function, its argument registers and C types. Every capture tool (tracefs, trace-cmd, perf,
 * bpftrace) is generated from this one table, so the event names and argument names are the same
 * in every format and the readers/normalizer see identical RawRecords.
 *
 * The names, registers and order are exactly those of the real captures in samples/*
 * (kprobe_events.requested); the generated tracefs definitions add fetch types
 * (`:x64` on addresses and masks, `:s32`/`:u32`/`:u8` on int/unsigned/bool arguments) because
 * AAPCS64 leaves bits 63:32 of a 32-bit argument register UNKNOWN (Arm's "Procedure Call Standard
 * for the Arm 64-bit Architecture", parameter passing).
 */

import {type GateName, type KernelVersion, LATEST_KERNEL, VERSION_GATES, versionAtLeast} from '../kernel/version.js'

export {type KernelVersion, parseKernelVersion} from '../kernel/version.js'

export type FetchType = 'x64' | 's32' | 'u32' | 'u8'

export interface ProbeArg {
  /** Argument name as printed (`addr=`), also the CSV column and bpftrace printf name. */
  name: string
  /** Argument index (0 = first = x0 / $arg1 / arg0), or 'retval' for a return probe. */
  index: number | 'retval'
  type: FetchType
}

export interface ProbeDef {
  /** Event name (tracefs group `kprobes`, the default). */
  event: string
  /** Kernel function probed. */
  symbol: string
  /** A return probe (kretprobe). */
  ret?: boolean
  args: ProbeArg[]
  /** The version gate that brings the function (VERSION_GATES in src/kernel/version.ts). */
  since?: GateName
  /**
   * First kernel version whose capture set probes it although the function is older: the 7.x
   * captures added the vmalloc mapping functions (see samples/linux-7.3-debian-qemu/README.md).
   */
  captureSince?: KernelVersion
  /** Not probe-able from this version on (static and inlined: not in kallsyms); skipped with `note`. */
  inlinedSince?: KernelVersion
  /** Why it is probed / version note. */
  note: string
}

/** Debian's 7.3.4 build (GCC 14) inlines these static functions: kprobe_events.skipped of the 7.3 captures says "not in kallsyms". */
const INLINED_IN_DEBIAN_73: KernelVersion = [7, 3]
/** The vmalloc mapping probes of the 7.x captures. */
const VMALLOC_CAPTURE: KernelVersion = [7, 0]

const a = (name: string, index: number | 'retval', type: FetchType = 'x64'): ProbeArg => ({name, index, type})

/**
 * arch/arm64/mm/pageattr.c and mmu.c. Signatures from the 6.1, 6.12 and 6.19 sources
 * (`int set_memory_ro(unsigned long addr, int numpages)`, …).
 */
export const PROBES: readonly ProbeDef[] = [
  ...(['ro', 'rw', 'x', 'nx'] as const).map(
    (op): ProbeDef => ({
      event: `set_memory_${op}`,
      symbol: `set_memory_${op}`,
      args: [a('addr', 0), a('numpages', 1, 's32')],
      note: `int set_memory_${op}(unsigned long addr, int numpages)`,
    }),
  ),
  {
    event: 'set_memory_valid',
    symbol: 'set_memory_valid',
    args: [a('addr', 0), a('numpages', 1, 's32'), a('enable', 2, 's32')],
    note: 'int set_memory_valid(unsigned long addr, int numpages, int enable): KFENCE, debug_pagealloc',
  },
  {
    event: 'set_direct_map_invalid_noflush',
    symbol: 'set_direct_map_invalid_noflush',
    args: [a('page', 0)],
    note: 'int set_direct_map_invalid_noflush(struct page *page): x0 is a vmemmap struct page *, not a VA',
  },
  {
    event: 'set_direct_map_default_noflush',
    symbol: 'set_direct_map_default_noflush',
    args: [a('page', 0)],
    note: 'int set_direct_map_default_noflush(struct page *page)',
  },
  {
    event: 'set_direct_map_valid_noflush',
    symbol: 'set_direct_map_valid_noflush',
    args: [a('page', 0), a('nr', 1, 'u32'), a('valid', 2, 'u8')],
    since: 'setDirectMapValidNoflush',
    note: 'int set_direct_map_valid_noflush(struct page *page, unsigned nr, bool valid)',
  },
  {
    event: 'change_memory_common',
    symbol: 'change_memory_common',
    args: [a('addr', 0), a('numpages', 1, 's32'), a('set_mask', 2), a('clear_mask', 3)],
    note: 'static int change_memory_common(unsigned long addr, int numpages, pgprot_t set_mask, pgprot_t clear_mask)',
  },
  {
    event: '__change_memory_common',
    symbol: '__change_memory_common',
    inlinedSince: INLINED_IN_DEBIAN_73,
    args: [a('start', 0), a('size', 1), a('set_mask', 2), a('clear_mask', 3)],
    note: 'static int __change_memory_common(unsigned long start, unsigned long size, pgprot_t set_mask, pgprot_t clear_mask): size in bytes',
  },
  // v6.18: the BBML2_NOABORT linear-map series made pageattr split block mappings on demand
  // (update_range_prot → split_kernel_leaf_mapping → split_pud/pmd/contpmd/contpte in mmu.c).
  {
    event: 'update_range_prot',
    symbol: 'update_range_prot',
    args: [a('start', 0), a('size', 1), a('set_mask', 2), a('clear_mask', 3)],
    since: 'leafSplit',
    note: 'static int update_range_prot(unsigned long start, unsigned long size, pgprot_t set_mask, pgprot_t clear_mask)',
  },
  {
    event: 'split_kernel_leaf_mapping',
    symbol: 'split_kernel_leaf_mapping',
    args: [a('start', 0), a('end', 1)],
    since: 'leafSplit',
    note: 'int split_kernel_leaf_mapping(unsigned long start, unsigned long end)',
  },
  {
    event: 'split_kernel_leaf_mapping_ret',
    symbol: 'split_kernel_leaf_mapping',
    ret: true,
    args: [a('ret', 'retval', 's32')],
    since: 'leafSplit',
    note: 'return value of split_kernel_leaf_mapping (0 or -ENOMEM)',
  },
  {
    event: 'split_kernel_leaf_mapping_locked',
    symbol: 'split_kernel_leaf_mapping_locked',
    args: [a('addr', 0)],
    since: 'leafSplit',
    note: 'static int split_kernel_leaf_mapping_locked(unsigned long addr): one boundary',
  },
  {
    event: 'split_pud',
    symbol: 'split_pud',
    args: [a('pudp', 0), a('pud', 1)],
    since: 'leafSplit',
    note: 'static int split_pud(pud_t *pudp, pud_t pud, gfp_t gfp, bool to_cont): ground truth',
  },
  {
    event: 'split_pmd',
    symbol: 'split_pmd',
    args: [a('pmdp', 0), a('pmd', 1)],
    since: 'leafSplit',
    note: 'static int split_pmd(pmd_t *pmdp, pmd_t pmd, gfp_t gfp, bool to_cont): ground truth',
  },
  {
    event: 'split_contpmd',
    symbol: 'split_contpmd',
    inlinedSince: INLINED_IN_DEBIAN_73,
    args: [a('pmdp', 0)],
    since: 'leafSplit',
    note: 'static void split_contpmd(pmd_t *pmdp): ground truth',
  },
  {
    event: 'split_contpte',
    symbol: 'split_contpte',
    inlinedSince: INLINED_IN_DEBIAN_73,
    args: [a('ptep', 0)],
    since: 'leafSplit',
    note: 'static void split_contpte(pte_t *ptep): ground truth',
  },
  // mm/vmalloc.c (read in v7.3.4): the mapping and unmapping of vm areas, so vmalloc/modules can be replayed.
  {
    event: 'vmap_pages_range',
    symbol: '__vmap_pages_range_noflush',
    args: [a('addr', 0), a('end', 1), a('prot', 2), a('page_shift', 4, 'u32')],
    captureSince: VMALLOC_CAPTURE,
    note: 'int __vmap_pages_range_noflush(unsigned long addr, unsigned long end, pgprot_t prot, struct page **pages, unsigned int page_shift): page_shift > PAGE_SHIFT means huge mappings',
  },
  {
    event: 'vunmap_range',
    symbol: '__vunmap_range_noflush',
    args: [a('start', 0), a('end', 1)],
    captureSince: VMALLOC_CAPTURE,
    note: 'void __vunmap_range_noflush(unsigned long start, unsigned long end)',
  },
  {
    event: 'ioremap_page_range',
    symbol: 'ioremap_page_range',
    args: [a('addr', 0), a('end', 1), a('phys_addr', 2), a('prot', 3)],
    captureSince: VMALLOC_CAPTURE,
    note: 'int ioremap_page_range(unsigned long addr, unsigned long end, phys_addr_t phys_addr, pgprot_t prot)',
  },
  {
    event: 'vmalloc_ret',
    symbol: '__vmalloc_node_range_noprof',
    ret: true,
    args: [a('ret', 'retval')],
    captureSince: VMALLOC_CAPTURE,
    note: 'return value of __vmalloc_node_range_noprof(): the new area\'s address',
  },
  {
    event: 'vfree',
    symbol: 'vfree',
    args: [a('addr', 0)],
    captureSince: VMALLOC_CAPTURE,
    note: 'void vfree(const void *addr)',
  },
]

/** Tracepoints the 7.x capture set enables in the main buffer (tracepoints.enabled), `group/event`. */
export const TRACEPOINTS: readonly {event: string; captureSince: KernelVersion}[] = [
  {event: 'vmalloc/alloc_vmap_area', captureSince: VMALLOC_CAPTURE},
  {event: 'vmalloc/free_vmap_area_noflush', captureSince: VMALLOC_CAPTURE},
  {event: 'vmalloc/purge_vmap_area_lazy', captureSince: VMALLOC_CAPTURE},
  {event: 'module/module_load', captureSince: VMALLOC_CAPTURE},
  {event: 'module/module_free', captureSince: VMALLOC_CAPTURE},
]

export function tracepointsFor(k: KernelVersion): string[] {
  return TRACEPOINTS.filter((t) => versionAtLeast(k, t.captureSince)).map((t) => t.event)
}

/**
 * The marker probe for tools that cannot see trace_marker writes (perf, bpftrace): a kprobe on
 * tracing_mark_write (kernel/trace/trace.c, a file_operations .write, so never inlined) reading
 * the user buffer (x1). Event name `tracing_mark_write`, argument `text`, so it normalizes like
 * the tracefs `tracing_mark_write: …` line.
 */
export const MARKER_PROBE = {event: 'tracing_mark_write', symbol: 'tracing_mark_write'} as const

/** The newest version the table knows; the default `--kernel`. */
export const LATEST: KernelVersion = LATEST_KERNEL

/** The probes a kernel of this version has (the script still skips symbols missing from kallsyms). */
export function probesFor(k: KernelVersion): ProbeDef[] {
  return PROBES.filter(
    (p) =>
      (!p.since || versionAtLeast(k, VERSION_GATES[p.since].since)) &&
      (!p.captureSince || versionAtLeast(k, p.captureSince)) &&
      !(p.inlinedSince && versionAtLeast(k, p.inlinedSince)),
  )
}

/** Probes of the table this version cannot take (inlined), with why. */
export function skippedProbesFor(k: KernelVersion): {event: string; note: string}[] {
  return PROBES.filter((p) => p.inlinedSince && versionAtLeast(k, p.inlinedSince)).map((p) => ({
    event: p.event,
    note: `${p.symbol} is static and inlined in Debian's ${p.inlinedSince![0]}.${p.inlinedSince![1]} build (not in kallsyms): not probe-able`,
  }))
}

export type FetchStyle = 'register' | 'arg'

/**
 * One kprobe_events line: `p:EVENT SYMBOL name=%xN:type…` / `r:EVENT SYMBOL ret=$retval:type`.
 * `style: 'arg'` uses `$argN` (1-based) instead of `%xN`; `typed: false` drops the fetch types
 * (the samples' exact text).
 */
export function kprobeDefinition(p: ProbeDef, opts: {style?: FetchStyle; typed?: boolean} = {}): string {
  const style = opts.style ?? 'register'
  const typed = opts.typed ?? true
  const args = p.args.map((arg) => {
    const src = arg.index === 'retval' ? '$retval' : style === 'arg' ? `$arg${arg.index + 1}` : `%x${arg.index}`
    return `${arg.name}=${src}${typed ? ':' + arg.type : ''}`
  })
  return [`${p.ret ? 'r' : 'p'}:${p.event}`, p.symbol, ...args].join(' ')
}
