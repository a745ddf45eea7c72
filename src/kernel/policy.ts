/**
 * Named policies: a kernel version and configuration bundled under a name, each citing what it
 * follows, plus `inferPolicy()` for `--policy auto`.
 */
import type {CollapseMode, KernelConfig} from './context.js'
import {canSetDirectMap, forcePteMapping, hasLeafSplit, linearMapPteForced} from './context.js'

export type PolicyName =
  | 'pte-only'
  | 'noalias'
  | 'bbml2'
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
      '6.18+ mainline with BBML2_NOABORT (a660194dd101 Dev Jain, a166563e7ec3 Yang Shi; read in v6.19.9): block-mapped linear map split on demand by split_kernel_leaf_mapping(), never merged back',
    cfg: BASE_618,
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
      'COMPARISON: x86 CPA on the arm64 geometry (arch/x86/mm/pat/set_memory.c, 41d88484c71c): split one level at a time only where a change covers part of a large page, CPA_COLLAPSE collapse_pmd_page()/collapse_pud_page() after ro/x',
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
  version?: readonly [number, number]
  debugPagealloc?: boolean
  bti?: boolean
  tableBudget?: number
}

/**
 * rodata_full for a rodata= value: ≤5.15 parse_rodata() (arch/arm64/mm/mmu.c), 6.1+ arch_parse_debug_rodata() (arch/arm64/include/asm/setup.h):
 * full → 1, on → 0, off → 0; 6.19: on → 1, noalias → 0, off → 0 ("full" is rejected with a warning
 * and leaves the default, rodata_full = true).
 */
export function rodataFullFor(version: readonly [number, number], rodata: PolicyKnobs['rodata']): boolean | undefined {
  if (rodata === undefined) return undefined
  const modern = version[0] > 6 || (version[0] === 6 && version[1] >= 13)
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

// -----------------------------------------------------------------------------------------------
// --policy auto

/** What a capture tells us about the machine (every field optional). */
export interface PolicyFacts {
  /** /proc/version or uname -r text. */
  version?: string
  /** /proc/cmdline */
  cmdline?: string
  /** Kernel config text (full or an excerpt): CONFIG_KFENCE, CONFIG_RODATA_FULL_DEFAULT_ENABLED, … */
  config?: string
  /** /proc/cpuinfo */
  cpuinfo?: string
  /** dmesg text (for "detected: BBM Level 2 without TLB conflict abort"). */
  dmesg?: string
  /** From the snapshot: is the linear map PTE-only outside the kernel alias? */
  linearMapPteOnly?: boolean
}

export interface InferredPolicy {
  policy: Policy
  reasons: string[]
}

export interface Midr {
  implementer: number
  part: number
  variant: number
  revision: number
}

/** Every CPU's MIDR fields from /proc/cpuinfo. */
export function parseCpuinfoMidrs(text: string): Midr[] {
  const out: Midr[] = []
  let cur: Partial<Midr> = {}
  const flush = () => {
    if (cur.implementer !== undefined && cur.part !== undefined) {
      out.push({implementer: cur.implementer, part: cur.part, variant: cur.variant ?? 0, revision: cur.revision ?? 0})
    }
    cur = {}
  }
  for (const line of text.split('\n')) {
    const m = /^\s*(CPU implementer|CPU variant|CPU part|CPU revision|processor)\s*:\s*(\S+)/.exec(line)
    if (!m) continue
    const v = Number(m[2])
    if (m[1] === 'processor') flush()
    else if (m[1] === 'CPU implementer') cur.implementer = v
    else if (m[1] === 'CPU part') cur.part = v
    else if (m[1] === 'CPU variant') cur.variant = v
    else cur.revision = v
  }
  flush()
  return out
}

/**
 * supports_bbml2_noabort_list[] in cpu_supports_bbml2_noabort() (arch/arm64/kernel/cpufeature.c,
 * v6.19.9). MIDR_REV_RANGE(m, v, r_min, r_max) is variant v, revisions r_min..r_max, so Cortex-X4
 * is r0p3..r0p15 and Neoverse-V3/V3AE r0p2..r0p15 (MIDR_REV_RANGE() and the part numbers:
 * arch/arm64/include/asm/cputype.h).
 */
export const BBML2_NOABORT_ALLOW_LIST: readonly {name: string; implementer: number; part: number; variant?: number; revMin?: number; revMax?: number}[] = [
  {name: 'Cortex-X4', implementer: 0x41, part: 0xd82, variant: 0, revMin: 3, revMax: 0xf},
  {name: 'Neoverse-V3', implementer: 0x41, part: 0xd84, variant: 0, revMin: 2, revMax: 0xf},
  {name: 'Neoverse-V3AE', implementer: 0x41, part: 0xd83, variant: 0, revMin: 2, revMax: 0xf},
  {name: 'NVIDIA Olympus', implementer: 0x4e, part: 0x010},
  {name: 'AmpereOne (AMPERE1)', implementer: 0xc0, part: 0xac3},
  {name: 'AmpereOne (AMPERE1A)', implementer: 0xc0, part: 0xac4},
]

export function midrSupportsBbml2Noabort(m: Midr): string | undefined {
  for (const e of BBML2_NOABORT_ALLOW_LIST) {
    if (e.implementer !== m.implementer || e.part !== m.part) continue
    if (e.variant !== undefined && m.variant !== e.variant) continue
    if (e.revMin !== undefined && (m.revision < e.revMin || m.revision > (e.revMax ?? 0xf))) continue
    return e.name
  }
  return undefined
}

function hex(n: number, w = 2): string {
  return '0x' + n.toString(16).padStart(w, '0')
}

/** [major, minor] from "Linux version 6.12.117+deb12-arm64 …" or "6.19.0". */
export function parseKernelVersion(text: string): [number, number] | undefined {
  const m = /(?:Linux version\s+)?(\d+)\.(\d+)(?:[.\-+]|\s|$)/.exec(text)
  if (!m) return undefined
  return [Number(m[1]), Number(m[2])]
}

/** name=value settings from a config text (`CONFIG_X=y`, `# CONFIG_X is not set` → 'n'). */
export function parseConfig(text: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const line of text.split('\n')) {
    let m = /^(CONFIG_\w+)=(.*)$/.exec(line.trim())
    if (m) {
      out.set(m[1]!, m[2]!.replace(/^"|"$/g, ''))
      continue
    }
    m = /^# (CONFIG_\w+) is not set/.exec(line.trim())
    if (m) out.set(m[1]!, 'n')
  }
  return out
}

/** The value of `key=` on a kernel command line (last one wins, as early_param parsing does). */
export function cmdlineParam(cmdline: string, key: string): string | undefined {
  let v: string | undefined
  for (const tok of cmdline.trim().split(/\s+/)) {
    if (tok === key) v = ''
    else if (tok.startsWith(key + '=')) v = tok.slice(key.length + 1)
  }
  return v
}

/**
 * Infer the policy of a captured machine. Order of evidence: version → rodata= and the config
 * default → KFENCE (config + kfence.sample_interval=) → debug_pagealloc → BBML2 from MIDRs (and
 * dmesg) → the snapshot's linear-map shape, which overrides what cannot be seen otherwise (a
 * patched allow-list, an unknown config). Every decision adds a reason line.
 */
export function inferPolicy(facts: PolicyFacts): InferredPolicy {
  const reasons: string[] = []
  const version = facts.version ? parseKernelVersion(facts.version) : undefined
  const v: [number, number] = version ?? [6, 19]
  reasons.push(version ? `kernel ${v[0]}.${v[1]} (from the version string)` : 'kernel version unknown: assuming 6.19 behaviour')
  const modern = v[0] > 6 || (v[0] === 6 && v[1] >= 18)
  const config = facts.config ? parseConfig(facts.config) : undefined
  const cmdline = facts.cmdline ?? ''

  // rodata_full
  const rodata = cmdlineParam(cmdline, 'rodata')
  let rodataFull: boolean
  // ≤6.12 rodata_full = IS_ENABLED(CONFIG_RODATA_FULL_DEFAULT_ENABLED) (Kconfig default y); 6.19 pageattr.c: true.
  const defaultFull = config?.get('CONFIG_RODATA_FULL_DEFAULT_ENABLED') !== 'n'
  const rf = rodataFullFor(v, rodata as PolicyKnobs['rodata'])
  if (rodata !== undefined && rf !== undefined) {
    rodataFull = rf
    reasons.push(`cmdline rodata=${rodata} → rodata_full=${rf ? 1 : 0} (${modern ? 'arch_parse_debug_rodata() 6.19: on=full, noalias=old on' : 'arch_parse_debug_rodata()/parse_rodata() ≤6.12'})`)
  } else {
    rodataFull = defaultFull
    reasons.push(
      rodata !== undefined
        ? `cmdline rodata=${rodata} not understood by ${v[0]}.${v[1]}: default rodata_full=${defaultFull ? 1 : 0}`
        : `no rodata= on the cmdline: rodata_full defaults to ${defaultFull ? 1 : 0} (${modern ? 'pageattr.c 6.19: true' : config?.has('CONFIG_RODATA_FULL_DEFAULT_ENABLED') ? 'CONFIG_RODATA_FULL_DEFAULT_ENABLED=' + config.get('CONFIG_RODATA_FULL_DEFAULT_ENABLED') : 'CONFIG_RODATA_FULL_DEFAULT_ENABLED default y'})`,
    )
  }

  // KFENCE: arm64 kfence_early_init = !!CONFIG_KFENCE_SAMPLE_INTERVAL, overridden by kfence.sample_interval= (mmu.c parse_kfence_early_init).
  let kfence: KernelConfig['kfence'] = 'off'
  const kfenceBuilt = config?.get('CONFIG_KFENCE')
  const si = cmdlineParam(cmdline, 'kfence.sample_interval')
  if (kfenceBuilt === 'y') {
    const dflt = Number(config?.get('CONFIG_KFENCE_SAMPLE_INTERVAL') ?? '100')
    const interval = si !== undefined ? Number(si) : dflt
    kfence = interval !== 0 ? 'early' : 'late'
    reasons.push(
      `CONFIG_KFENCE=y, sample_interval=${interval} (${si !== undefined ? 'cmdline' : 'CONFIG_KFENCE_SAMPLE_INTERVAL'}) → ${kfence === 'early' ? 'early pool, mapped page-level by arm64_kfence_map_pool()' : 'late init: arm64_kfence_can_set_direct_map() is true'}`,
    )
  } else if (kfenceBuilt === 'n') {
    reasons.push('CONFIG_KFENCE is not set')
  } else if (si !== undefined) {
    kfence = Number(si) !== 0 ? 'early' : 'late'
    reasons.push(`no config; kfence.sample_interval=${si} on the cmdline → assuming KFENCE built, ${kfence}`)
  } else {
    reasons.push(`KFENCE unknown (${config ? 'config excerpt does not say' : 'no config'}): assuming not built`)
  }

  const dp = cmdlineParam(cmdline, 'debug_pagealloc')
  const debugPagealloc = dp === 'on' || (dp === undefined && config?.get('CONFIG_DEBUG_PAGEALLOC_ENABLE_DEFAULT') === 'y')
  if (debugPagealloc) reasons.push('debug_pagealloc enabled → force_pte_mapping()/can_set_direct_map() true')

  // BBML2 from MIDRs.
  let bbml2 = false
  let bootCpuBbml2 = false
  if (facts.cpuinfo) {
    const midrs = parseCpuinfoMidrs(facts.cpuinfo)
    const names = midrs.map(midrSupportsBbml2Noabort)
    bootCpuBbml2 = names[0] !== undefined
    bbml2 = midrs.length > 0 && names.every((n) => n !== undefined)
    const first = midrs[0]
    if (first) {
      reasons.push(
        `CPU MIDR implementer ${hex(first.implementer)} part ${hex(first.part, 3)} r${first.variant}p${first.revision} (${midrs.length} CPUs): ${bbml2 ? `all on the BBML2_NOABORT allow-list (${names[0]})` : bootCpuBbml2 ? 'boot CPU on the allow-list, not all CPUs' : 'not on the mainline BBML2_NOABORT allow-list'}`,
      )
    }
  }
  if (facts.dmesg && /BBM Level 2 without TLB conflict abort/.test(facts.dmesg)) {
    if (!bbml2) reasons.push('dmesg: "detected: BBM Level 2 without TLB conflict abort" → BBML2_NOABORT active (patched allow-list)')
    bbml2 = true
    bootCpuBbml2 = true
  }
  if (!modern && (bbml2 || bootCpuBbml2)) {
    reasons.push(`BBML2 is not used before 6.18 (no split_kernel_leaf_mapping())`)
    bbml2 = false
    bootCpuBbml2 = false
  }

  const cfg: KernelConfig = {
    version: v,
    bbml2,
    bootCpuBbml2,
    rodataFull,
    debugPagealloc,
    kfence,
    realm: false,
    bti: config?.get('CONFIG_ARM64_BTI_KERNEL') === 'y',
    collapse: 'none',
    cpa: 'arm64',
  }

  // The snapshot's shape is the strongest evidence of what map_mem() decided.
  if (facts.linearMapPteOnly !== undefined) {
    const predicted = linearMapPteForced(cfg)
    if (predicted !== facts.linearMapPteOnly) {
      if (modern && !facts.linearMapPteOnly && cfg.rodataFull && !debugPagealloc) {
        cfg.bbml2 = true
        cfg.bootCpuBbml2 = true
        reasons.push('snapshot: linear map block-mapped although rodata_full → force_pte_mapping() was false → BBML2_NOABORT was active (allow-list patched or CPU unknown to it)')
      } else if (modern && facts.linearMapPteOnly && cfg.bbml2) {
        cfg.bbml2 = false
        reasons.push('snapshot: linear map PTE-only although BBML2 expected → repainted or BBML2 absent: runtime as without BBML2')
      } else if (!facts.linearMapPteOnly && cfg.rodataFull) {
        cfg.rodataFull = false
        reasons.push('snapshot: linear map block-mapped → rodata_full must be off (rodata=on/noalias)')
      } else if (facts.linearMapPteOnly && !canSetDirectMap(cfg)) {
        reasons.push('snapshot: linear map PTE-only but no known cause (rodata_full, KFENCE late, debug_pagealloc): keeping the inferred config; set_direct_map_* stay no-ops')
      } else {
        reasons.push(`snapshot disagrees with the inferred config (PTE-only: ${facts.linearMapPteOnly}); kept the config`)
      }
    } else {
      reasons.push(`snapshot: linear map ${facts.linearMapPteOnly ? 'PTE-only' : 'block-mapped'}, as predicted`)
    }
  }

  const name: PolicyName =
    hasLeafSplit(cfg) && cfg.bbml2 ? 'bbml2' : hasLeafSplit(cfg) && cfg.bootCpuBbml2 && cfg.rodataFull ? 'bbml2-repaint' : cfg.rodataFull ? 'pte-only' : 'noalias'
  const pteForced = hasLeafSplit(cfg) ? forcePteMapping(cfg) : linearMapPteForced(cfg)
  reasons.push(
    `→ ${name}: linear map ${pteForced ? 'PTE-only' : 'block-mapped'}; set_direct_map_* ${canSetDirectMap(cfg) ? 'live' : 'no-ops'}; set_memory_ro/rw ${cfg.rodataFull ? 'also update the linear alias page by page' : 'leave the linear alias alone'}`,
  )
  return {policy: {name, description: POLICIES[name].description, cfg}, reasons}
}
