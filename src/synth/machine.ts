/**
 * A plausible arm64 machine at boot, as its kernel page tables: the linear map from map_mem()
 * (src/kernel/map-mem.ts, per policy), plus everything else a 6.9+ ptdump shows (regions from
 * arch/arm64/include/asm/memory.h): the kernel image in the vmalloc area (map_kernel()), a few
 * loaded modules, vmap stacks and
 * ioremaps with their guard pages, vmemmap populated for the memory (vmemmap_populate(): PMD
 * blocks on 4K, base pages on 16K/64K), a PCI I/O window and the fixmap with the FDT mapped.
 *
 * Pure: options in, PageTables + regions out. `renderMachine()` prints it as the kernel would
 * (src/report/ptdump-text.ts), and what is printed reads back to the same tables (tested).
 *
 * What is synthesized rather than derived (documented choices, deterministic from the seed):
 * image segment sizes of a distro kernel (text 26M, rodata 12M, init 2M, data+bss 5M), module
 * section sizes, the number of stacks and ioremaps, the FDT size (1M), no KASLR, no KASAN.
 */
import {type KernelVersion, versionAtLeast} from '../kernel/version.js'
import {kfencePoolSize, kfenceProtectedPages} from '../kernel/kfence.js'
import {makeContext} from '../kernel/dispatch.js'
import {type MemBank, mapMem, pageKernelProt} from '../kernel/map-mem.js'
import {type Policy, type PolicyKnobs, type PolicyName, makePolicy} from '../kernel/policy.js'
import {linearMapMaybeSplitToPtes, lmAliasStext} from '../kernel/split.js'
import {threadSize} from '../kernel/vmalloc.js'
import {InputError} from '../ingest/source.js'
import {type Kva, KVA_END, alignDown, alignUp, formatSize} from '../model/address.js'
import {type Geometry, type PageSize, makeGeometry} from '../model/geometry.js'
import type {Region} from '../model/layout.js'
import {virtToPage} from '../model/memory.js'
import {PageTables} from '../model/pagetable.js'
import {HOLE} from '../model/run.js'
import {P_PXN, P_RDONLY, P_VALID, type Prot, withMemType} from '../model/prot.js'
import {renderPtdump} from '../report/ptdump-text.js'
import {type KernelLayout, kernelLayout} from './layout.js'
import {defaultBanks, memstartAlign, subtractRanges} from './memory-map.js'
import {Rng} from './rng.js'
import {type RoxCache, populateRoxCache} from './rox-cache.js'
import {type MapOpts, VmapCursor, mapRange} from './vm-space.js'

const K = 1024
const M = 2 ** 20

export interface SynthMachineOptions {
  /** Installed RAM when `banks` is not given (one bank at a realistic base with a firmware hole). */
  memoryBytes?: number
  pageSize?: PageSize
  /** VA_BITS (default 48). */
  vaBits?: number
  /** memblock.memory ranges (physical [start, end)); default: see defaultBanks(). */
  banks?: readonly MemBank[]
  /** NOMAP ranges (UEFI runtime / firmware): in memblock.memory but not in the linear map. */
  nomap?: readonly MemBank[]
  policy?: PolicyName
  knobs?: PolicyKnobs
  /** Kernel version whose ptdump is written (markers, pte_bits[]); 6.9 or later. Default 6.19. */
  kernel?: KernelVersion
  /** KPTI: kernel mappings carry nG. Default false (as on AmpereOne, no Meltdown). */
  kpti?: boolean
  seed?: number
  /** Loaded modules (default 16). */
  modules?: number
  /** CPUs: two vmap stacks each (default 8). */
  cpus?: number
  /**
   * execmem ROX cache: PMD-size huge vmalloc pages pre-mapped in the module region as they are
   * after execmem_cache_populate_alloc() (default 0). See RoxCache.
   */
  roxCache?: number
}

export interface KernelImage {
  /** The image in the vmalloc area (KIMAGE_VADDR, no KASLR). */
  start: Kva
  end: Kva
  /** Physical [_text, _end). */
  physStart: number
  physEnd: number
  /** Offsets from _text (bytes). */
  stext: number
  etext: number
  initBegin: number
  initEnd: number
}

export interface SynthModuleArea {
  name: 'text' | 'rodata' | 'ro_after_init' | 'data'
  start: Kva
  pages: number
}

export interface SynthMachine {
  geo: Geometry
  pt: PageTables
  regions: Region[]
  layout: KernelLayout
  policy: Policy
  /** [major, minor] whose ptdump format is written. */
  kernel: KernelVersion
  banks: MemBank[]
  nomap: MemBank[]
  memstartAddr: number
  image: KernelImage
  kernelAlias?: {start: Kva; end: Kva}
  kfencePool?: {start: Kva; end: Kva}
  modules: {name: string; areas: SynthModuleArea[]}[]
  /** Linear-map VA ranges backed by RAM (banks minus NOMAP), ascending. */
  ram: {start: Kva; end: Kva}[]
  roxCache?: RoxCache
}


function checkKernel(kernel: KernelVersion): void {
  if (!versionAtLeast(kernel, [6, 9])) {
    throw new InputError(`--kernel ${kernel.join('.')}: synth machine writes the 6.9+ layout (fixmap above vmemmap, 2G modules); expected 6.9 or later`)
  }
}

/** Synthesize the boot-time page tables of a machine. */
export function synthMachine(opts: SynthMachineOptions): SynthMachine {
  const pageSize = opts.pageSize ?? 4096
  const vaBits = opts.vaBits ?? 48
  let geo: Geometry
  try {
    geo = makeGeometry(pageSize, vaBits)
  } catch (e) {
    throw new InputError((e as Error).message)
  }
  const kernel = opts.kernel ?? [6, 19]
  checkKernel(kernel)
  const P = geo.pageSize
  const rng = new Rng(opts.seed ?? 1)
  const layout = kernelLayout(geo, {kpti: opts.kpti})
  const lpa2 = vaBits === 52 && pageSize !== 65536

  let banks: MemBank[]
  let nomap: MemBank[]
  if (opts.banks && opts.banks.length) {
    banks = [...opts.banks].sort((a, b) => a.start - b.start)
    nomap = [...(opts.nomap ?? [])]
  } else {
    if (!opts.memoryBytes) throw new InputError('synth machine: give --memory or --banks')
    ;({banks, nomap} = defaultBanks(opts.memoryBytes))
    if (opts.nomap) nomap = [...opts.nomap]
  }
  for (const b of banks) {
    if (b.start % P || b.end % P) throw new InputError(`bank 0x${b.start.toString(16)}-0x${b.end.toString(16)} is not ${formatSize(P)}-aligned`)
  }
  const memstartAddr = alignDown(banks[0]!.start, memstartAlign(P))
  const linearSpan = layout.pageEnd - layout.pageOffset
  const top = banks[banks.length - 1]!.end
  if (top - memstartAddr > linearSpan) {
    throw new InputError(`memory up to 0x${top.toString(16)} does not fit the ${formatSize(linearSpan)} linear map of ${geo.label}`)
  }
  const mapped = subtractRanges(banks, nomap)

  const policy = makePolicy(opts.policy ?? 'pte-only', opts.knobs)
  const cfg = policy.cfg

  // Kernel image: loaded 2M into the first bank (as UEFI/QEMU place it); [_text, _end).
  const image0 = alignUp(banks[0]!.start + 2 * M, 2 * M)
  const stext = Math.max(64 * K, P)
  const etext = 26 * M
  const initBegin = 38 * M
  const initEnd = 40 * M
  const imageEnd = 45 * M
  if (!mapped.some((r) => r.start <= image0 && image0 + imageEnd <= r.end)) {
    throw new InputError(`the kernel image (${formatSize(imageEnd)} at 0x${image0.toString(16)}) does not fit in the first bank`)
  }
  const kfenceEarly = cfg.kfence === 'early'
  const lastRam = mapped[mapped.length - 1]!
  const poolBytes = kfencePoolSize(P)
  const kfencePhys = kfenceEarly ? {start: lastRam.end - poolBytes, size: poolBytes} : undefined

  const lin = mapMem({
    geo,
    cfg,
    banks: mapped,
    memstartAddr,
    linearStart: layout.pageOffset,
    linearEnd: layout.pageEnd,
    // [_text, __init_begin): 6.12's iomem "Kernel code" and its dump's alias both start at _text.
    kernel: {start: image0, end: image0 + initBegin},
    kfencePool: kfencePhys,
    kpti: opts.kpti,
    lpa2,
  })
  // kfence_init_pool() (mm/kfence/core.c): the first two pages and every object's right redzone
  // page are protected at boot (set_memory_valid(…, 0) via kfence_protect_page(), arm64).
  if (lin.kfencePool) {
    const p = lin.kfencePool.start
    for (const g of kfenceProtectedPages()) lin.pt.setProt(p + g * P, p + (g + 1) * P, 0, P_VALID)
  }
  // bbml2-repaint: a secondary CPU without BBML2 → linear_map_split_to_ptes() at boot.
  const ctx = makeContext(lin.pt, cfg, {linear: lin.linear})
  // linear_map_split_to_ptes() keeps [lm_alias(_stext), lm_alias(__init_begin)); map_mem() mapped the alias from _text.
  if (lin.kernelAlias) linearMapMaybeSplitToPtes(ctx, lin.linear.start, lin.linear.end, lmAliasStext(lin.kernelAlias.start), lin.kernelAlias.end)

  // Everything above PAGE_END starts as empty top-level entries.
  const rest = PageTables.fromRuns(geo, [{start: layout.pageEnd, end: KVA_END, lvl: geo.levels - 1, cont: false, prot: HOLE, flags: 0}])
  const kernelProt = pageKernelProt({kpti: opts.kpti, lpa2, tagged: false})
  const RO = kernelProt | P_RDONLY
  const ROX = (kernelProt | P_RDONLY) & ~P_PXN
  const DEVICE = withMemType(kernelProt, 'DEVICE/nGnRE')
  const NC = withMemType(kernelProt, 'MEM/NORMAL-NC')
  const vmap: MapOpts = {blocks: false, cont: false}

  // map_kernel(): segments with blocks and contiguous hints; init freed (unmapped) after boot.
  const k = layout.kimageVaddr
  mapRange(rest, k, k + stext, RO, {blocks: true, cont: true})
  mapRange(rest, k + stext, k + etext, ROX, {blocks: true, cont: true})
  mapRange(rest, k + etext, k + initBegin, RO, {blocks: true, cont: true})
  mapRange(rest, k + initEnd, k + imageEnd, kernelProt, {blocks: true, cont: true})
  const image: KernelImage = {start: k, end: k + imageEnd, physStart: image0, physEnd: image0 + imageEnd, stext, etext, initBegin, initEnd}

  // Modules in the 128M window below the image (module_direct_base, KASLR'd), 4 execmem areas each.
  const modules: SynthMachine['modules'] = []
  const nModules = opts.modules ?? 16
  const modCursor = new VmapCursor(layout.modules.end - 128 * M + rng.int((8 * M) / P) * P, layout.modules.end, P)
  const pagesOf = (bytes: number) => Math.max(1, Math.ceil(bytes / P))
  for (let i = 0; i < nModules; i++) {
    const areas: SynthModuleArea[] = []
    const spec: [SynthModuleArea['name'], number, Prot][] = [
      ['text', pagesOf(rng.skewed(48) * 4 * K), ROX],
      ['rodata', pagesOf(rng.skewed(16) * 4 * K), RO],
      ['ro_after_init', 1, RO],
      ['data', pagesOf(rng.skewed(12) * 4 * K), kernelProt],
    ]
    for (const [name, pages, prot] of spec) {
      const start = modCursor.alloc(pages * P, P)
      mapRange(rest, start, start + pages * P, prot, vmap)
      areas.push({name, start, pages})
    }
    modules.push({name: `synth_mod${i}`, areas})
  }

  // The execmem ROX cache (proposed, docs/collapse-proposals.md): PMD-order pages in the module region.
  const roxCache = opts.roxCache
    ? populateRoxCache({
        n: opts.roxCache,
        seed: opts.seed ?? 1,
        pt: rest,
        ctx,
        rodataFull: cfg.rodataFull,
        moduleText: modCursor,
        moduleFallback: new VmapCursor(layout.modules.start, layout.modules.end - 128 * M, P),
        ram: mapped,
        avoidFor: (pmdBytes) => [
          {start: image0 - pmdBytes, end: image0 + imageEnd + pmdBytes},
          ...(kfencePhys ? [{start: kfencePhys.start - pmdBytes, end: kfencePhys.start + kfencePhys.size + pmdBytes}] : []),
        ],
        linearOf: (pa) => pa - memstartAddr + layout.pageOffset,
        prot: ROX,
      })
    : undefined

  // vmalloc: vmap stacks (THREAD_ALIGN = 2 × THREAD_SIZE), then ioremaps and a DMA buffer.
  const vm = new VmapCursor(alignUp(image.end, 64 * K) + P, layout.vmalloc.end, P)
  const stack = threadSize(P)
  for (let i = 0; i < 2 * (opts.cpus ?? 8); i++) {
    const s = vm.alloc(stack, 2 * stack)
    mapRange(rest, s, s + stack, kernelProt, vmap)
  }
  for (const [bytes, prot] of [
    [4 * K, DEVICE],
    [64 * K, DEVICE],
    [64 * K, DEVICE],
    [256 * K, NC],
    [16 * K, kernelProt],
  ] as const) {
    const sz = alignUp(bytes, P)
    const s = vm.alloc(sz, P)
    mapRange(rest, s, s + sz, prot, vmap)
  }

  // vmemmap_populate() for every present section (SECTION_SIZE_BITS 27, 29 with 64K pages).
  const section = P === 65536 ? 512 * M : 128 * M
  const vmemmapOf = (pa: number): Kva => virtToPage(layout.pageOffset + (pa - memstartAddr), layout.vmemmap.start, layout.pageOffset, P)
  for (const b of banks) {
    const s = vmemmapOf(alignDown(b.start, section))
    const e = vmemmapOf(alignUp(b.end, section))
    mapRange(rest, s, e, kernelProt, {blocks: P === 4096, cont: false, maxLeafLvl: 1})
  }

  // PCI I/O: pci_remap_iospace() of one host bridge's 64K window.
  mapRange(rest, layout.pci.start, layout.pci.start + 64 * K, DEVICE, vmap)

  // fixmap: bm_pte covers [FIXADDR_TOT_START, FIXADDR_TOP) at PTE level; the FDT is mapped read-only.
  const pmd = geo.entrySize[1]!
  rest.ensureTables(alignDown(layout.fixmap.totStart, pmd), alignUp(layout.fixmap.top, pmd), 0)
  mapRange(rest, layout.fixmap.fdt, layout.fixmap.fdt + alignUp(M, P), RO, vmap)

  const pt = PageTables.fromRuns(geo, [...lin.pt.runs(), ...rest.runs()])
  const ram = mapped.map((r) => ({start: r.start - memstartAddr + layout.pageOffset, end: r.end - memstartAddr + layout.pageOffset}))
  return {
    geo,
    pt,
    regions: layout.regions,
    layout,
    policy,
    kernel,
    banks,
    nomap,
    memstartAddr,
    image,
    kernelAlias: lin.kernelAlias,
    kfencePool: lin.kfencePool,
    modules,
    ram,
    roxCache,
  }
}

/** The machine as /sys/kernel/debug/kernel_page_tables text (lines without newlines). */
export function renderMachine(m: SynthMachine): Generator<string> {
  return renderPtdump(m.pt, m.regions, {era: '6.9+', version: m.kernel})
}

