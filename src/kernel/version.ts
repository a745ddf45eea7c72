/**
 * The one kernel-version type and the one table of version gates: which kernel version brings
 * which behaviour the model follows. Every version test in the model, the policy inference, the
 * capture script, the ptdump tables and the synthesizer goes through `versionHas()` /
 * `versionAtLeast()` here, so a new kernel is a new row, not a new branch in four places.
 *
 * Each gate cites the commit that brought it (`commit <12 hex> ("subject") (in vX.Y)`) or, where
 * no commit is pinned, the kernel trees read on either side of the change.
 */

/** A kernel version: [major, minor] (the stable/patch level never changes what is modelled). */
export type KernelVersion = readonly [major: number, minor: number]

/** The newest kernel the model has been checked against (the 7.3.4 captures); the default everywhere. */
export const LATEST_KERNEL: KernelVersion = [7, 3]

/** One row of the gate table. */
export interface VersionGate {
  /** First version that has the behaviour (inclusive). */
  since: KernelVersion
  /** What changes, in the kernel's terms. */
  what: string
  /** The commit, or the trees read. */
  cite: string
}

/**
 * The gates, oldest first. Names are what the model asks (`versionHas(v, 'leafSplit')`).
 */
export const VERSION_GATES = {
  /** map_mem(): NO_BLOCK/NO_CONT also when KFENCE is built in (5.12–5.15). */
  kfenceForcesPteMap: {
    since: [5, 12],
    what: 'map_mem() maps the linear map page-level when CONFIG_KFENCE is built (can_set_direct_map() || IS_ENABLED(CONFIG_KFENCE))',
    cite: 'read in v5.15 arch/arm64/mm/mmu.c map_mem() (KFENCE for arm64 arrived in v5.12)',
  },
  /** map_mem() keys page-level mapping on can_set_direct_map() (which knows late KFENCE). */
  canSetDirectMapMapMem: {
    since: [6, 1],
    what: 'map_mem(): if (can_set_direct_map()) flags |= NO_BLOCK_MAPPINGS | NO_CONT_MAPPINGS; arm64_kfence_can_set_direct_map() in can_set_direct_map()',
    cite: 'read in v6.1.119 arch/arm64/mm/mmu.c map_mem() and pageattr.c can_set_direct_map()',
  },
  /** map_mem() no longer maps the whole linear map page-level for crashkernel= with ZONE_DMA/DMA32. */
  crashMemMapRemoved: {
    since: [6, 2],
    what: 'crash_mem_map (crashkernel= on the cmdline) with defer_reserve_crashkernel() (CONFIG_ZONE_DMA || CONFIG_ZONE_DMA32) no longer forces NO_BLOCK_MAPPINGS | NO_CONT_MAPPINGS on the whole linear map',
    cite: 'read: present in v6.1.119 arch/arm64/mm/mmu.c map_mem(), absent in v6.12',
  },
  /** is_realm_world() joins can_set_direct_map(). */
  realmDirectMap: {
    since: [6, 13],
    what: 'can_set_direct_map() also true in a realm (is_realm_world())',
    cite: 'read: absent in v6.12 pageattr.c, present in v6.19.9',
  },
  /** set_direct_map_valid_noflush() exists (the execmem ROX cache series). */
  setDirectMapValidNoflush: {
    since: [6, 13],
    what: 'set_direct_map_valid_noflush(page, nr, valid) in pageattr.c',
    cite: 'read: absent in v6.12 (the 6.12 capture: not in kallsyms), present in v6.19.9',
  },
  /** fcf8dda8cc48: change_memory_common() refuses VM_ALLOW_HUGE_VMAP areas. */
  hugeVmapBailout: {
    since: [6, 16],
    what: 'change_memory_common(): -EINVAL on a VM_ALLOW_HUGE_VMAP area',
    cite: 'commit fcf8dda8cc48 ("arm64: pageattr: Explicitly bail out when changing permissions for vmalloc_huge mappings") (in v6.16)',
  },
  /** The BBML2_NOABORT series: split_kernel_leaf_mapping(), pagewalk pageattr, block-mapped linear map. */
  leafSplit: {
    since: [6, 18],
    what: 'update_range_prot() = split_kernel_leaf_mapping() + walk_kernel_page_table_range_lockless(pageattr_ops); force_pte_mapping() keeps blocks with BBML2_NOABORT',
    cite: 'commit a660194dd101 ("arm64: Enable permission change on arm64 kernel block mappings") and commit a166563e7ec3 ("arm64: mm: support large block mapping when rodata=full") (in v6.18)',
  },
  /** rodata=on now means the old "full"; noalias is the old "on". */
  rodataNoalias: {
    since: [6, 18],
    what: 'arch_parse_debug_rodata(): on → rodata_full, noalias → rodata_enabled only, off; "full" no longer parsed; rodata_full defaults to true',
    cite: 'Huang Shijie, lore 20241126085647.4993-4-shijie@os.amperecomputing.com; read: v6.14 still parses full/on/off, v6.18.2 and v6.19.9 on/noalias/off',
  },
  /** 37cb0aab9068: the rodata_full alias loop covers only [idx, idx + numpages) and stops on error. */
  aliasLoopInRange: {
    since: [6, 19],
    what: 'change_memory_common(): linear-alias loop over area->pages[idx .. idx + numpages), returning on the first error (6.18: all area->nr_pages, errors ignored)',
    cite: 'commit 37cb0aab9068 ("arm64: mm: make linear mapping permission update more robust for patial range") (in v6.19)',
  },
  /** split_kernel_leaf_mapping() returns early on !linear_map_requires_bbml2, then !system cap. */
  splitRequiresLinearMapBbml: {
    since: [7, 0],
    what: 'split_kernel_leaf_mapping(): return 0 unless linear_map_requires_bbml2 (= !force_pte_mapping() && can_set_direct_map() at map_mem()), then unless the system has the cap',
    cite: 'commit f12b435de2f2 ("arm64: mm: Fix rodata=full block mapping support for realm guests") (in v7.0, committed 30 Mar 2026); read in v7.3.4 mmu.c',
  },
  /** BBML2_NOABORT renamed BBM Level 3, with the ID register and a longer MIDR list. */
  bbml3: {
    since: [7, 2],
    what: 'ARM64_HAS_BBML3 / cpu_supports_bbml3(): ID_AA64MMFR2_EL1.BBM >= 3 or a MIDR on supports_bbml3_list[] (15 entries); dmesg "CPU features: detected: BBM Level 3"',
    cite: 'read: v6.19.9 cpufeature.c has cpu_supports_bbml2_noabort() (6 MIDRs, "BBM Level 2 without TLB conflict abort"); v7.3.4 cpufeature.c has cpu_supports_bbml3()',
  },
  /** map_mem(): the kernel's linear aliases first, then every memblock, the mapping code respecting what exists. */
  mapMemKernelFirst: {
    since: [7, 3],
    what: 'map_mem(): the KFENCE pool, then [_text, __init_begin) and [__init_end, __bss_stop) with the linear map\'s own flags, then every memblock range (no NOMAP hole); init_pmd()/alloc_init_pud() keep an existing table, alloc_init_cont_pte()/_pmd() set PTE_CONT only where the chunk has no valid non-contiguous entry; mark_rodata_ro() makes the data/bss alias invalid',
    cite: 'read: v6.19.9 map_mem() marks the kernel NOMAP and maps its alias last with NO_CONT_MAPPINGS; v7.3.4 mmu.c as described. Posted as https://lore.kernel.org/r/20260526175846.2694125-27-ardb+git@google.com ("arm64: mm: Don\'t abuse memblock NOMAP to check for overlaps"); the first release is not pinned here (7.2 or 7.3): the gate is the first tree read',
  },
  /** split_pud()/split_pmd() keep a present-invalid block's entries invalid. */
  splitKeepsInvalid: {
    since: [7, 3],
    what: 'split_pud()/split_pmd(): `if (!pud_valid(pud))` / `if (!pmd_valid(pmd))` the new entries are made invalid too (pmd_mkinvalid/pte_mkinvalid); before, `prot | PMD_TYPE_SECT` made them valid',
    cite: 'read: v6.19.9 mmu.c split_pud()/split_pmd() without the check, v7.3.4 with it; posted as https://lore.kernel.org/r/20260323130317.1737522-2-ryan.roberts@arm.com; the first release is not pinned here (7.0–7.3): the gate is the first tree read',
  },
} as const satisfies Record<string, VersionGate>

export type GateName = keyof typeof VERSION_GATES

export function versionAtLeast(v: KernelVersion, min: KernelVersion): boolean {
  return v[0] > min[0] || (v[0] === min[0] && v[1] >= min[1])
}

/** Does kernel `v` have the behaviour of `gate`? */
export function versionHas(v: KernelVersion, gate: GateName): boolean {
  return versionAtLeast(v, VERSION_GATES[gate].since)
}

/** A total order key: major * 100 + minor (504 = v5.4, 703 = v7.3). */
export function versionCode(v: KernelVersion): number {
  return v[0] * 100 + v[1]
}

export function formatVersion(v: KernelVersion): string {
  return `${v[0]}.${v[1]}`
}

/**
 * [major, minor] from any version text a capture or a user gives: `6.19`, `7.3.4+deb13-arm64`,
 * `6.1.0-56-arm64`, `Linux version 6.12.117+deb12-arm64 (…)`. undefined if none.
 */
export function parseKernelVersion(text: string): KernelVersion | undefined {
  const m = /(?:^|\s)(\d+)\.(\d+)(?=[.\-+~\s]|$)/.exec(text.trim())
  if (!m) return undefined
  return [Number(m[1]), Number(m[2])]
}
