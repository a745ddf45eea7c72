/**
 * Named policies: a kernel version and configuration bundled under a name, each citing what it
 * follows (`--policy auto` is infer-policy.ts).
 */
import type {CollapseMode, KernelConfig} from './context.js'
import {type KernelVersion, LATEST_KERNEL, versionHas} from './version.js'

export type PolicyName =
  | 'pte-only'
  | 'noalias'
  | 'bbml2'
  | 'bbml3'
  | 'bbml2-repaint'
  | 'rox-cache'
  | 'collapse-rfc'
  | 'collapse-both'
  | 'order-aware'
  | 'collapse-general'
  | 'x86-cpa'

export interface Policy {
  name: PolicyName
  /** One line: what it models and the commit / message it follows. */
  description: string
  cfg: KernelConfig
}

const BASE_618: KernelConfig = {
  version: [6, 19],
  bbml2: true,
  bootCpuBbml2: true,
  rodataFull: true,
  debugPagealloc: false,
  kfence: 'off',
  realm: false,
  bti: false,
  collapse: 'none',
  cpa: 'arm64',
}

const BASE_612: KernelConfig = {...BASE_618, version: [6, 12], bbml2: false, bootCpuBbml2: false}
const BASE_73: KernelConfig = {...BASE_618, version: LATEST_KERNEL}

export const POLICIES: Readonly<Record<PolicyName, Policy>> = {
  'pte-only': {
    name: 'pte-only',
    description:
      'rodata=full without BBML2 (≤6.17 default, e.g. 6.12): PTE-only linear map, apply_to_page_range() on PTEs, every alias change per 4K page (pageattr.c/mmu.c v6.12)',
    cfg: BASE_612,
  },
  noalias: {
    name: 'noalias',
    description:
      'rodata=on ≤6.12 / rodata=noalias 6.19 (Huang Shijie, lore 20241126085647.4993-4-shijie@os.amperecomputing.com): block-mapped linear map, set_memory_* leave the linear alias alone, set_direct_map_* are no-ops',
    cfg: {...BASE_612, rodataFull: false},
  },
  bbml2: {
    name: 'bbml2',
    description:
      '6.18+ mainline with BBML2_NOABORT (commits a660194dd101 "arm64: Enable permission change on arm64 kernel block mappings" and a166563e7ec3 "arm64: mm: support large block mapping when rodata=full", in v6.18; read in v6.19.9): block-mapped linear map split on demand by split_kernel_leaf_mapping(), never merged back',
    cfg: BASE_618,
  },
  bbml3: {
    name: 'bbml3',
    description:
      '7.2+ with BBM Level 3 (ARM64_HAS_BBML3, cpu_supports_bbml3(): ID_AA64MMFR2_EL1.BBM >= 3 or supports_bbml3_list[]; read in v7.3.4): block-mapped linear map split on demand, split_kernel_leaf_mapping() returning early unless linear_map_requires_bbml3',
    cfg: BASE_73,
  },
  'bbml2-repaint': {
    name: 'bbml2-repaint',
    description:
      '6.18+ with BBML2 on the boot CPU only: map_mem() uses blocks, linear_map_split_to_ptes() repaints to PTEs (kernel alias kept), then PTE-only behaviour (mmu.c v6.19.9)',
    cfg: {...BASE_618, bbml2: false, bootCpuBbml2: true},
  },
  'rox-cache': {
    name: 'rox-cache',
    description:
      'PROPOSED baseline: bbml2 + Adrian Barnaś RFC 2/6 (11 Jun 2026, https://lore.kernel.org/r/ajvqh8Ac0Sj5UzP_@google.com/T/): set_memory_* allowed on VM_ALLOW_HUGE_VMAP areas (the execmem ROX cache) with BBML2, splitting them, and no collapse — what the collapse variants are measured against',
    cfg: {...BASE_618, hugeVmapPerms: true},
  },
  'collapse-rfc': {
    name: 'collapse-rfc',
    description:
      'PROPOSED: bbml2 + Adrian Barnaś RFC 6/6 (11 Jun 2026, https://lore.kernel.org/r/ajvqh8Ac0Sj5UzP_@google.com/T/): try_collapse_kernel_pmd() on the linear alias of area->pages[0] after set_memory_ro on a VM_ALLOW_HUGE_VMAP area',
    cfg: {...BASE_618, collapse: 'rfc'},
  },
  'collapse-both': {
    name: 'collapse-both',
    description:
      'PROPOSED: collapse-rfc as Ryan Roberts\' review asks (https://lore.kernel.org/r/799181c3-a1a1-4de7-bc6a-576d3282efb0@arm.com): page_order-checked, linear alias and vmalloc range both collapsed',
    cfg: {...BASE_618, collapse: 'both'},
  },
  'order-aware': {
    name: 'order-aware',
    description: 'PROPOSED: collapse-both plus the review\'s page_order-aware alias loop (https://lore.kernel.org/r/799181c3-a1a1-4de7-bc6a-576d3282efb0@arm.com): the linear-alias loop walks area->page_order chunks, so a whole huge page is changed without splitting',
    cfg: {...BASE_618, collapse: 'order-aware'},
  },
  'collapse-general': {
    name: 'collapse-general',
    description:
      'PROPOSED: the review\'s general collapse (https://lore.kernel.org/r/799181c3-a1a1-4de7-bc6a-576d3282efb0@arm.com): after every permission change try every touched PMD (and PUD) of the linear map; modelled on x86 collapse_large_pages()',
    cfg: {...BASE_618, collapse: 'general'},
  },
  'x86-cpa': {
    name: 'x86-cpa',
    description:
      'COMPARISON: x86 CPA on the arm64 geometry (arch/x86/mm/pat/set_memory.c, commit 41d88484c71c "x86/mm/pat: restore large ROX pages after fragmentation", in v6.15): split one level at a time only where a change covers part of a large page, CPA_COLLAPSE collapse_pmd_page()/collapse_pud_page() after ro/x',
    cfg: {...BASE_618, cpa: 'x86'},
  },
}

export function isPolicyName(s: string): s is PolicyName {
  return Object.prototype.hasOwnProperty.call(POLICIES, s)
}

/** Knobs that override a preset (CLI flags --bbml2, --rodata, --kfence, --collapse, --kernel). */
export interface PolicyKnobs {
  bbml2?: boolean
  /** rodata= as the kernel of `version` parses it (≤6.12: full|on|off; 6.19: on|noalias|off). */
  rodata?: 'full' | 'on' | 'noalias' | 'off'
  kfence?: KernelConfig['kfence']
  collapse?: CollapseMode
  version?: KernelVersion
  debugPagealloc?: boolean
  bti?: boolean
  tableBudget?: number
}

/**
 * rodata_full for a rodata= value: ≤5.15 parse_rodata() (arch/arm64/mm/mmu.c), 6.1+
 * arch_parse_debug_rodata() (arch/arm64/include/asm/setup.h). Before 6.18: full → 1, on → 0,
 * off → 0; from 6.18 (VERSION_GATES.rodataNoalias): on → 1, noalias → 0, off → 0 ("full" is not
 * parsed and leaves the default, rodata_full = true).
 */
export function rodataFullFor(version: KernelVersion, rodata: PolicyKnobs['rodata']): boolean | undefined {
  if (rodata === undefined) return undefined
  const modern = versionHas(version, 'rodataNoalias')
  switch (rodata) {
    case 'off':
      return false
    case 'noalias':
      return modern ? false : undefined
    case 'on':
      return modern
    case 'full':
      return modern ? undefined : true
  }
}

/** A preset with knobs applied. */
export function makePolicy(name: PolicyName, knobs: PolicyKnobs = {}): Policy {
  const base = POLICIES[name]
  const cfg: KernelConfig = {...base.cfg}
  if (knobs.version) cfg.version = knobs.version
  if (knobs.bbml2 !== undefined) {
    cfg.bbml2 = knobs.bbml2
    cfg.bootCpuBbml2 = knobs.bbml2 || (name === 'bbml2-repaint' && cfg.bootCpuBbml2)
  }
  const rf = rodataFullFor(cfg.version, knobs.rodata)
  if (rf !== undefined) cfg.rodataFull = rf
  if (knobs.kfence) cfg.kfence = knobs.kfence
  if (knobs.collapse) cfg.collapse = knobs.collapse
  if (knobs.debugPagealloc !== undefined) cfg.debugPagealloc = knobs.debugPagealloc
  if (knobs.bti !== undefined) cfg.bti = knobs.bti
  if (knobs.tableBudget !== undefined) cfg.tableBudget = knobs.tableBudget
  return {name, description: base.description, cfg}
}

