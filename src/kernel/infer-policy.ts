/**
 * `--policy auto`: the kernel version and configuration of a captured machine, inferred from the
 * facts its bundle holds (version, cmdline, config, cpuinfo, dmesg, the ID register when saved, the
 * snapshot's linear-map shape), each decision explained in one reason line that names its evidence.
 */
import {bbmAllowList, bbmCapName, cpuSupportsBbm, idAa64mmfr2Bbm, parseCpuinfoMidrs} from './cpufeature.js'
import type {KernelConfig} from './context.js'
import {canSetDirectMap, forcePteMapping, hasLeafSplit, linearMapPteForced} from './context.js'
import {POLICIES, type Policy, type PolicyKnobs, type PolicyName, rodataFullFor} from './policy.js'
import {type KernelVersion, LATEST_KERNEL, formatVersion, parseKernelVersion, versionHas} from './version.js'

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
  /** dmesg text (for "CPU features: detected: BBM Level 3" / "… BBM Level 2 without TLB conflict abort"). */
  dmesg?: string
  /** ID_AA64MMFR2_EL1 of the boot CPU, hex text, where a bundle saved it (file id_aa64mmfr2_el1). */
  idAa64mmfr2?: string
  /** From the snapshot: is the linear map PTE-only outside the kernel alias? */
  linearMapPteOnly?: boolean
}

export interface InferredPolicy {
  policy: Policy
  reasons: string[]
}

function hex(n: number, w = 2): string {
  return '0x' + n.toString(16).padStart(w, '0')
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
 * kstrtobool() (lib/kstrtox.c): y/Y/t/T/1 → true, n/N/f/F/0 → false, on/ON → true, of(f)/OF(F) →
 * false, anything else (or no value) → undefined (-EINVAL). early_debug_pagealloc() (mm/mm_init.c)
 * parses debug_pagealloc= with it.
 */
export function kstrtobool(s: string | undefined): boolean | undefined {
  if (!s) return undefined
  const c = s[0]!.toLowerCase()
  if (c === 'y' || c === 't' || c === '1') return true
  if (c === 'n' || c === 'f' || c === '0') return false
  if (c === 'o') {
    const d = (s[1] ?? '').toLowerCase()
    if (d === 'n') return true
    if (d === 'f') return false
  }
  return undefined
}

/** The capability that lets live blocks split, as the boot CPU and the whole system have it. */
function inferBbm(facts: PolicyFacts, v: KernelVersion, reasons: string[]): {system: boolean; bootCpu: boolean} {
  const names = bbmCapName(v)
  if (!hasLeafSplit({version: v} as KernelConfig)) {
    reasons.push(`kernel ${formatVersion(v)}: no BBML2_NOABORT/BBML3 use before 6.18 (no split_kernel_leaf_mapping())`)
    return {system: false, bootCpu: false}
  }
  let system = false
  let bootCpu = false
  const id = facts.idAa64mmfr2 !== undefined && /^\s*(0x)?[0-9a-f]+\s*$/i.test(facts.idAa64mmfr2) ? BigInt('0x' + facts.idAa64mmfr2.trim().replace(/^0x/i, '')) : undefined
  if (id !== undefined && versionHas(v, 'bbml3')) {
    reasons.push(`ID_AA64MMFR2_EL1 = ${hex(Number(id & 0xffffffffffffn))}…: BBM = ${idAa64mmfr2Bbm(id)} (cpu_supports_bbml3(): >= 3 suffices)`)
  }
  if (facts.cpuinfo) {
    const midrs = parseCpuinfoMidrs(facts.cpuinfo)
    const why = midrs.map((m, i) => cpuSupportsBbm(v, m, i === 0 ? id : undefined))
    bootCpu = why[0] !== undefined
    system = midrs.length > 0 && why.every((n) => n !== undefined)
    const first = midrs[0]
    if (first) {
      const on = `${names.list}, ${bbmAllowList(v).length} entries`
      reasons.push(
        `CPU MIDR implementer ${hex(first.implementer)} part ${hex(first.part, 3)} r${first.variant}p${first.revision} (${midrs.length} CPUs): ${system ? `every CPU on ${on} (${why[0]})` : bootCpu ? `boot CPU on ${on}, not every CPU` : `not on ${on}`}`,
      )
    }
  }
  if (facts.dmesg) {
    const line = facts.dmesg.split('\n').find((l) => l.includes(names.dmesg))
    if (line !== undefined) {
      reasons.push(`dmesg: "${names.dmesg}" → ${names.cap} is a system capability${system ? '' : ' (the MIDR list alone did not say so)'}`)
      system = true
      bootCpu = true
    } else if (/CPU features: detected:/.test(facts.dmesg)) {
      reasons.push(`dmesg lists CPU features but not "${names.dmesg}" → no ${names.cap}${system ? ' (overrides the MIDR list)' : ''}`)
      system = false
    }
  }
  return {system, bootCpu}
}

/**
 * Infer the policy of a captured machine. Order of evidence: version → rodata= and the config
 * default → KFENCE (config + kfence.sample_interval=) → debug_pagealloc → BTI → BBML2/BBML3 from
 * the ID register, the MIDRs and dmesg → the snapshot's linear-map shape, which overrides what
 * cannot be seen otherwise (a patched allow-list, an unknown config).
 */
export function inferPolicy(facts: PolicyFacts): InferredPolicy {
  const reasons: string[] = []
  const version = facts.version ? parseKernelVersion(facts.version) : undefined
  const v: KernelVersion = version ?? LATEST_KERNEL
  reasons.push(version ? `kernel ${formatVersion(v)} (from the version string)` : `kernel version unknown: assuming ${formatVersion(v)} behaviour`)
  const modern = hasLeafSplit({version: v} as KernelConfig)
  const noaliasParse = versionHas(v, 'rodataNoalias')
  const config = facts.config ? parseConfig(facts.config) : undefined
  const cmdline = facts.cmdline ?? ''

  // rodata_full. Before 6.18: IS_ENABLED(CONFIG_RODATA_FULL_DEFAULT_ENABLED) (Kconfig default y); 6.18+ pageattr.c: true.
  const rodata = cmdlineParam(cmdline, 'rodata')
  const defaultFull = noaliasParse || config?.get('CONFIG_RODATA_FULL_DEFAULT_ENABLED') !== 'n'
  const rf = rodataFullFor(v, rodata as PolicyKnobs['rodata'])
  let rodataFull = defaultFull
  if (rodata !== undefined && rf !== undefined) {
    rodataFull = rf
    reasons.push(`cmdline rodata=${rodata} → rodata_full=${rf ? 1 : 0} (arch_parse_debug_rodata() ${noaliasParse ? '6.18+: on/noalias/off' : 'before 6.18: full/on/off'})`)
  } else {
    const src = noaliasParse
      ? 'pageattr.c 6.18+: true'
      : config?.has('CONFIG_RODATA_FULL_DEFAULT_ENABLED')
        ? 'CONFIG_RODATA_FULL_DEFAULT_ENABLED=' + config.get('CONFIG_RODATA_FULL_DEFAULT_ENABLED')
        : 'CONFIG_RODATA_FULL_DEFAULT_ENABLED default y'
    reasons.push(
      rodata !== undefined
        ? `cmdline rodata=${rodata} not understood by ${formatVersion(v)}: default rodata_full=${defaultFull ? 1 : 0}`
        : `no rodata= on the cmdline: rodata_full defaults to ${defaultFull ? 1 : 0} (${src})`,
    )
  }

  // KFENCE: arm64 kfence_early_init = !!CONFIG_KFENCE_SAMPLE_INTERVAL, overridden by kfence.sample_interval= (mmu.c parse_kfence_early_init).
  let kfence: KernelConfig['kfence'] = 'off'
  const kfenceBuilt = config?.get('CONFIG_KFENCE')
  const si = cmdlineParam(cmdline, 'kfence.sample_interval')
  const numObjects = config?.has('CONFIG_KFENCE_NUM_OBJECTS') ? Number(config.get('CONFIG_KFENCE_NUM_OBJECTS')) : undefined
  if (kfenceBuilt === 'y') {
    const dflt = Number(config?.get('CONFIG_KFENCE_SAMPLE_INTERVAL') ?? '100')
    const interval = si !== undefined ? Number(si) : dflt
    kfence = interval !== 0 ? 'early' : 'late'
    reasons.push(
      `config: CONFIG_KFENCE=y, sample_interval=${interval} (${si !== undefined ? 'cmdline kfence.sample_interval=' : 'CONFIG_KFENCE_SAMPLE_INTERVAL'}) → ${kfence === 'early' ? `early pool of ${numObjects ?? 255} objects, mapped page-level by arm64_kfence_map_pool()` : 'no early pool; arm64_kfence_can_set_direct_map() is true'}`,
    )
  } else if (kfenceBuilt === 'n') {
    reasons.push('config: CONFIG_KFENCE is not set')
  } else if (si !== undefined) {
    kfence = Number(si) !== 0 ? 'early' : 'late'
    reasons.push(`no config; kfence.sample_interval=${si} on the cmdline → assuming KFENCE built, ${kfence}`)
  } else {
    reasons.push(`KFENCE unknown (${config ? 'config excerpt does not say' : 'no config'}): assuming not built`)
  }

  // debug_pagealloc= is kstrtobool() (early_debug_pagealloc(), mm/mm_init.c); default CONFIG_DEBUG_PAGEALLOC_ENABLE_DEFAULT.
  const dp = kstrtobool(cmdlineParam(cmdline, 'debug_pagealloc'))
  const debugPagealloc = dp ?? config?.get('CONFIG_DEBUG_PAGEALLOC_ENABLE_DEFAULT') === 'y'
  if (debugPagealloc) reasons.push('debug_pagealloc enabled → force_pte_mapping()/can_set_direct_map() true')

  // PTE_MAYBE_GP (asm/pgtable-prot.h): system_supports_bti_kernel() = CONFIG_ARM64_BTI_KERNEL && a BTI CPU.
  const btiConfig = config?.get('CONFIG_ARM64_BTI_KERNEL') === 'y'
  const btiCpu =
    (facts.dmesg !== undefined && /CPU features: detected: Branch Target Identification/.test(facts.dmesg)) ||
    (facts.cpuinfo !== undefined && /^Features\s*:.*\bbti\b/m.test(facts.cpuinfo))
  const bti = btiConfig && btiCpu
  if (btiConfig) reasons.push(`CONFIG_ARM64_BTI_KERNEL=y, ${btiCpu ? 'BTI CPU' : 'no BTI seen in cpuinfo/dmesg'} → PTE_MAYBE_GP = ${bti ? 'PTE_GP' : '0'}`)

  // ≤6.1: crashkernel= sets crash_mem_map (early_param); with ZONE_DMA/DMA32 (Kconfig default y on arm64) the reservation is deferred.
  const crashkernel = cmdlineParam(cmdline, 'crashkernel') !== undefined
  const zoneDma = config === undefined || config.get('CONFIG_ZONE_DMA') === 'y' || config.get('CONFIG_ZONE_DMA32') === 'y'
  const crashMemMapDeferred = crashkernel && zoneDma && !versionHas(v, 'crashMemMapRemoved')
  if (crashMemMapDeferred) reasons.push(`cmdline crashkernel= with ZONE_DMA/DMA32 on ${formatVersion(v)}: crash_mem_map and defer_reserve_crashkernel() → map_mem() maps the whole linear map page-level`)

  const bbm = inferBbm(facts, v, reasons)
  const cfg: KernelConfig = {
    version: v,
    bbml2: bbm.system,
    bootCpuBbml2: bbm.bootCpu,
    rodataFull,
    debugPagealloc,
    kfence,
    realm: false,
    bti,
    collapse: 'none',
    cpa: 'arm64',
    ...(numObjects !== undefined ? {kfenceNumObjects: numObjects} : {}),
    ...(crashMemMapDeferred ? {crashMemMapDeferred} : {}),
  }

  // The snapshot's shape is the strongest evidence of what map_mem() decided.
  const cap = bbmCapName(v).cap
  if (facts.linearMapPteOnly !== undefined) {
    const predicted = linearMapPteForced(cfg)
    if (predicted !== facts.linearMapPteOnly) {
      if (modern && !facts.linearMapPteOnly && cfg.rodataFull && !debugPagealloc) {
        cfg.bbml2 = true
        cfg.bootCpuBbml2 = true
        reasons.push(`snapshot: linear map block-mapped although rodata_full → force_pte_mapping() was false → ${cap} was active (allow-list patched or CPU unknown to it)`)
      } else if (modern && facts.linearMapPteOnly && cfg.bbml2) {
        cfg.bbml2 = false
        reasons.push(`snapshot: linear map PTE-only although ${cap} expected → repainted or ${cap} absent: runtime as without it`)
      } else if (!facts.linearMapPteOnly && cfg.rodataFull) {
        cfg.rodataFull = false
        reasons.push(`snapshot: linear map block-mapped → rodata_full must be off (rodata=${noaliasParse ? 'noalias' : 'on'})`)
      } else if (facts.linearMapPteOnly && !canSetDirectMap(cfg)) {
        reasons.push('snapshot: linear map PTE-only but no known cause (rodata_full, KFENCE late, debug_pagealloc): keeping the inferred config; set_direct_map_* stay no-ops')
      } else {
        reasons.push(`snapshot disagrees with the inferred config (PTE-only: ${facts.linearMapPteOnly}); kept the config`)
      }
    } else {
      reasons.push(`snapshot: linear map ${facts.linearMapPteOnly ? 'PTE-only' : 'block-mapped'}, as predicted`)
    }
  }

  const splitting: PolicyName = versionHas(v, 'bbml3') ? 'bbml3' : 'bbml2'
  const name: PolicyName =
    modern && cfg.bbml2 ? splitting : modern && cfg.bootCpuBbml2 && cfg.rodataFull ? 'bbml2-repaint' : cfg.rodataFull ? 'pte-only' : 'noalias'
  const pteForced = modern ? forcePteMapping(cfg) : linearMapPteForced(cfg)
  reasons.push(
    `→ ${name}: linear map ${pteForced ? 'PTE-only' : 'block-mapped'}; set_direct_map_* ${canSetDirectMap(cfg) ? 'live' : 'no-ops'}; set_memory_ro/rw ${cfg.rodataFull ? 'also update the linear alias page by page' : 'leave the linear alias alone'}`,
  )
  return {policy: {name, description: POLICIES[name].description, cfg}, reasons}
}
