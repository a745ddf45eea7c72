/**
 * Calls → kernel mechanisms: the ReplayPolicy that drives src/kernel for one policy.
 *
 * Each assembled call (intents.ts) is replayed at the outermost level the trace recorded, with
 * what its inner hits revealed:
 *   set_memory_{ro,rw,x,nx}  → changeMemoryCommon() with a VmArea whose backing pages are the
 *                              linear-alias pages the inner __change_memory_common/update_range_prot
 *                              hits show (unknown → the kernel model counts alias_updates_unknown);
 *   change_memory_common     → the same, operation from the masks;
 *   __change_memory_common   → __changeMemoryCommon(); update_range_prot → updateRangeProt();
 *   set_memory_valid         → setMemoryValid();
 *   set_direct_map_*         → setDirectMap*Noflush() on page_address(page) (from the struct page
 *                              pointer, or the inner update_range_prot's start).
 * Everything else (markers, module and vmalloc events, the kernel's own split probes) is
 * bookkeeping, not a page-table change.
 */
import {
  EINVAL,
  type KernelContext,
  type VmArea,
  __changeMemoryCommon,
  changeMemoryCommon,
  diffCounters,
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
} from '../kernel/index.js'
import type {Policy} from '../kernel/policy.js'
import {HOLE} from '../model/pagetable.js'
import type {ApplyOutcome, ReplayPolicy} from './engine.js'
import {type Intent, aliasPagesOf, opFromMasks} from './intents.js'

export class KernelReplayPolicy implements ReplayPolicy {
  readonly name: string

  constructor(
    readonly policy: Policy,
    readonly ctx: KernelContext,
  ) {
    this.name = policy.name
  }

  apply(intent: Intent): ApplyOutcome {
    const ctx = this.ctx
    const before = {...ctx.counters}
    const errorsBefore = ctx.errors.length
    ctx.event = intent.ev
    const out: ApplyOutcome = {}
    this.dispatch(intent, out)
    out.counters = diffCounters(ctx.counters, before) as Record<string, number>
    if (ctx.errors.length > errorsBefore) {
      out.errors = ctx.errors.slice(errorsBefore).map((e) => ({code: -e.errno === EINVAL ? 'EINVAL' : 'ENOMEM', message: e.message}))
    }
    // The context keeps every warning and error; the engine keeps its own bounded copy.
    if (ctx.errors.length > 1000) ctx.errors.length = 0
    if (ctx.warnings.length > 1000) ctx.warnings.length = 0
    out.unknownAliasPages = out.counters['alias_updates_unknown'] ?? 0
    return out
  }

  private area(intent: Intent, addr: number, pages: number): VmArea | undefined {
    const lin = this.ctx.linear
    if (!lin) return undefined
    const alias = aliasPagesOf(intent, lin.start, lin.end)
    if (!alias) return undefined
    // One backing page per inner call; the area's own start is not in the trace, so the range is
    // taken to start it (exact for 6.19, where only the pages in range are walked, and for ≤6.12,
    // where every page of the area is).
    const size = this.ctx.geo.pageSize
    return {addr, size: Math.max(pages, alias.length) * size, alloc: true, allowHugeVmap: false, pages: alias.map((p) => p.addr), nrPages: alias.length}
  }

  /** Flag a call on memory the snapshot does not describe (none entries or no table at all). */
  private present(addr: number, size: number, out: ApplyOutcome): void {
    let covered = 0
    for (const r of this.ctx.pt.runs(addr, addr + size)) {
      if (r.prot === HOLE) {
        out.unknownMemory = true
        return
      }
      covered += r.end - r.start
    }
    if (covered !== size) out.unknownMemory = true
  }

  private dispatch(intent: Intent, out: ApplyOutcome): void {
    const ctx = this.ctx
    const ev = intent.ev
    const page = ctx.geo.pageSize
    switch (intent.type) {
      case 'set_memory': {
        if (ev.addr === undefined) return void (out.unknownMemory = true)
        const pages = ev.pages ?? (ev.size ? ev.size / page : 1)
        const area = this.area(intent, ev.addr, pages)
        this.present(ev.addr, pages * page, out)
        switch (ev.op) {
          case 'ro':
            return void setMemoryRo(ctx, ev.addr, pages, area)
          case 'rw':
            return void setMemoryRw(ctx, ev.addr, pages, area)
          case 'x':
            return void setMemoryX(ctx, ev.addr, pages, area)
          case 'nx':
            return void setMemoryNx(ctx, ev.addr, pages, area)
          case 'rox':
            return void setMemoryRox(ctx, ev.addr, pages, area)
          default:
            return
        }
      }
      case 'change_range': {
        if (ev.addr === undefined || ev.setMask === undefined || ev.clearMask === undefined) return void (out.unknownMemory = true)
        if (ev.fn === 'change_memory_common') {
          const pages = ev.pages ?? (ev.size ? ev.size / page : 1)
          this.present(ev.addr, pages * page, out)
          if (!opFromMasks(ev.setMask, ev.clearMask) && ev.setMask === 0n && ev.clearMask === 0n) return
          return void changeMemoryCommon(ctx, ev.addr, pages, ev.setMask, ev.clearMask, this.area(intent, ev.addr, pages))
        }
        const size = ev.size ?? (ev.pages ?? 1) * page
        this.present(ev.addr, size, out)
        if (ev.fn === 'update_range_prot') return void updateRangeProt(ctx, ev.addr, size, ev.setMask, ev.clearMask)
        return void __changeMemoryCommon(ctx, ev.addr, size, ev.setMask, ev.clearMask)
      }
      case 'set_memory_valid': {
        if (ev.addr === undefined) return void (out.unknownMemory = true)
        const pages = ev.pages ?? 1
        this.present(ev.addr, pages * page, out)
        return void setMemoryValid(ctx, ev.addr, pages, ev.enable ?? true)
      }
      case 'set_direct_map': {
        const addr = ev.addr ?? intent.nested.find((n) => n.kind === 'change_range' && n.addr !== undefined)?.addr
        if (addr === undefined) return void (out.unknownMemory = true)
        this.present(addr, page, out)
        if (ev.op === 'invalid') return void setDirectMapInvalidNoflush(ctx, addr)
        if (ev.op === 'default') return void setDirectMapDefaultNoflush(ctx, addr)
        return void setDirectMapValidNoflush(ctx, addr, ev.pages ?? 1, ev.enable ?? true)
      }
      default:
        return
    }
  }
}
